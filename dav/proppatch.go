package dav

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/kalends/kalends/domain"
)

// propChange is one instruction of a PROPPATCH or of a creation body.
type propChange struct {
	name   xml.Name
	remove bool
	value  *node
}

// parsePropChanges reads DAV:set and DAV:remove children of root in
// document order (RFC 4918 §9.2: they apply in that order).
func parsePropChanges(root *node) []propChange {
	var out []propChange
	for _, op := range root.Children {
		remove := op.is(nsDAV, "remove")
		if !remove && !op.is(nsDAV, "set") {
			continue
		}
		for _, prop := range op.Children {
			if !prop.is(nsDAV, "prop") {
				continue
			}
			for _, p := range prop.Children {
				out = append(out, propChange{name: p.Name, remove: remove, value: p})
			}
		}
	}
	return out
}

// toProperty is the stored form of a property a client sets: its content
// and its element's attributes, both self-contained.
func toProperty(c propChange) domain.Property {
	return domain.Property{Space: c.name.Space, Local: c.name.Local, XML: c.value.Inner, Attrs: c.value.propertyAttrs()}
}

// failedProps answers a refused property update: the culprits with their
// status and condition, every other property 424 (RFC 4918 §9.2.1), since
// PROPPATCH and creation bodies are all or nothing.
func failedProps(changes []propChange, culprit map[xml.Name]*davError) []propstat {
	var stats []propstat
	dependent := propstat{status: http.StatusFailedDependency}
	for _, c := range changes {
		if de, bad := culprit[c.name]; bad {
			ps := propstat{status: de.status, props: []propEntry{{space: c.name.Space, local: c.name.Local}}}
			if de.local != "" {
				ps.errInner = "<" + prefixed(de.space, de.local) + "/>"
			}
			stats = append(stats, ps)
			continue
		}
		dependent.props = append(dependent.props, propEntry{space: c.name.Space, local: c.name.Local})
	}
	return append(stats, dependent)
}

func prefixed(space, local string) string {
	tag, decl := qname(space, local)
	return tag + decl
}

func protectedError(reason string) *davError {
	return errCondition(http.StatusForbidden, nsDAV, "cannot-modify-protected-property", reason)
}

// splitCalendarChanges separates settable properties from protected ones.
// creation says whether this is MKCALENDAR/MKCOL, where resourcetype and
// supported-calendar-component-set are settable once (RFC 4791 §5.2.3).
func splitCalendarChanges(changes []propChange, creation bool) (set []domain.Property, remove []domain.PropertyName, components []string, bad map[xml.Name]*davError) {
	bad = map[xml.Name]*davError{}
	for _, c := range changes {
		switch {
		case creation && c.name == xml.Name{Space: nsCalDAV, Local: "supported-calendar-component-set"}:
			for _, comp := range c.value.Children {
				if comp.is(nsCalDAV, "comp") {
					components = append(components, comp.attr("name"))
				}
			}
		case creation && c.name == xml.Name{Space: nsDAV, Local: "resourcetype"}:
			if c.value.child(nsCalDAV, "calendar") == nil || c.value.child(nsDAV, "collection") == nil {
				bad[c.name] = errCondition(http.StatusForbidden, nsDAV, "valid-resourcetype", "only calendar collections can be created")
			}
		case livePropIndex[c.name] != nil && livePropIndex[c.name].protected:
			bad[c.name] = protectedError(c.name.Local + " is protected")
		case c.remove:
			remove = append(remove, domain.PropertyName{Space: c.name.Space, Local: c.name.Local})
		default:
			set = append(set, toProperty(c))
		}
	}
	return set, remove, components, bad
}

func (s *server) proppatch(w http.ResponseWriter, r *http.Request, t target) error {
	root, err := parseXML(r.Body)
	if err != nil {
		return badXML(err)
	}
	if root == nil || !root.is(nsDAV, "propertyupdate") {
		return errStatus(http.StatusBadRequest, "expected DAV:propertyupdate")
	}
	changes := parsePropChanges(root)
	var answer []propstat
	if t.kind != kindCalendar {
		// Only calendars keep client-set properties so far; on anything
		// else every property is refused, which clients handle gracefully.
		v := s.cfg.Store.View()
		_, err := s.load(v, t, info(r).principal)
		v.Close()
		if err != nil {
			return err
		}
		bad := map[xml.Name]*davError{}
		for _, c := range changes {
			bad[c.name] = protectedError("properties of this resource cannot be changed")
		}
		answer = failedProps(changes, bad)
	} else {
		answer, err = s.patchCalendar(r, t, changes)
		if err != nil {
			return err
		}
	}
	ms := startMultistatus(w, r, "multistatus")
	ms.response(t.href(), answer)
	return ms.close("multistatus", "")
}

func (s *server) patchCalendar(r *http.Request, t target, changes []propChange) ([]propstat, error) {
	set, remove, _, bad := splitCalendarChanges(changes, false)
	if len(bad) > 0 {
		return failedProps(changes, bad), nil
	}
	err := s.backend.onCalendar(r.Context(), s.meta(r), t.owner, t.cal, func(st *calendarState) ([]domain.Event, error) {
		if !st.live {
			return nil, errNotFound
		}
		ev, err := domain.DecideChangeProperties(set, remove)
		if err != nil {
			return nil, err
		}
		return []domain.Event{ev}, nil
	})
	var pe *domain.PreconditionError
	if errors.As(err, &pe) && pe.Condition != domain.NotFound {
		return failedProps(changes, culpritsOf(changes, fromDomain(err, nil))), nil
	}
	if err != nil {
		return nil, err
	}
	ok := propstat{status: http.StatusOK}
	for _, c := range changes {
		ok.props = append(ok.props, propEntry{space: c.name.Space, local: c.name.Local})
	}
	return []propstat{ok}, nil
}

// culpritsOf attributes a domain refusal of a property update to the
// property it is about: calendar-timezone is the only value the domain
// checks so far, so a refusal names it when present, else every property.
func culpritsOf(changes []propChange, de *davError) map[xml.Name]*davError {
	bad := map[xml.Name]*davError{}
	tz := xml.Name{Space: nsCalDAV, Local: "calendar-timezone"}
	for _, c := range changes {
		if c.name == tz && de.local == string(domain.ValidTimezone) {
			bad[c.name] = de
		}
	}
	if len(bad) == 0 {
		for _, c := range changes {
			bad[c.name] = de
		}
	}
	return bad
}

// mkcalendar serves MKCALENDAR (RFC 4791 §5.3.1) and extended MKCOL
// (RFC 5689); both create a calendar with initial properties, atomically.
func (s *server) mkcalendar(w http.ResponseWriter, r *http.Request, t target, mkcol bool) error {
	switch t.kind {
	case kindCalendar:
	case kindObject:
		return errCondition(http.StatusForbidden, nsCalDAV, "calendar-collection-location-ok", "calendars cannot be nested")
	default:
		return errCondition(http.StatusMethodNotAllowed, nsDAV, "resource-must-be-null", "this collection exists")
	}
	root, err := parseXML(r.Body)
	if err != nil {
		return badXML(err)
	}
	respRoot := "C:mkcalendar-response"
	switch {
	case mkcol && root == nil:
		// A plain MKCOL asks for a plain collection; only calendars live in
		// a calendar home.
		return errCondition(http.StatusForbidden, nsDAV, "valid-resourcetype", "only calendar collections can be created here")
	case mkcol && !root.is(nsDAV, "mkcol"):
		return errStatus(http.StatusBadRequest, "expected DAV:mkcol")
	case !mkcol && root != nil && !root.is(nsCalDAV, "mkcalendar"):
		return errStatus(http.StatusBadRequest, "expected CALDAV:mkcalendar")
	}
	if mkcol {
		respRoot = "D:mkcol-response"
	}
	var changes []propChange
	if root != nil {
		changes = parsePropChanges(root)
	}
	set, _, components, bad := splitCalendarChanges(changes, true)
	if mkcol && !hasResourceType(changes) {
		bad[xml.Name{Space: nsDAV, Local: "resourcetype"}] = errCondition(http.StatusForbidden, nsDAV, "valid-resourcetype", "only calendar collections can be created here")
	}
	if len(bad) > 0 {
		return writeCreationFailure(w, t, respRoot, changes, bad)
	}
	err = s.backend.onCalendar(r.Context(), s.meta(r), t.owner, t.cal, func(st *calendarState) ([]domain.Event, error) {
		created, err := domain.DecideCreateCalendar(t.owner, t.cal, st.live, components, set)
		if err != nil {
			return nil, err
		}
		return []domain.Event{created}, nil
	})
	var pe *domain.PreconditionError
	if errors.As(err, &pe) && (pe.Condition == domain.ValidTimezone || pe.Condition == domain.SupportedCalendarComponent) && len(changes) > 0 {
		return writeCreationFailure(w, t, respRoot, changes, culpritsOf(changes, fromDomain(err, nil)))
	}
	if err != nil {
		return withHrefs(err, t)
	}
	w.Header().Set("Location", t.href())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusCreated)
	return nil
}

func hasResourceType(changes []propChange) bool {
	for _, c := range changes {
		if c.name == (xml.Name{Space: nsDAV, Local: "resourcetype"}) && !c.remove {
			return true
		}
	}
	return false
}

// writeCreationFailure answers a MKCALENDAR/MKCOL whose properties could not
// all be set: nothing was created (RFC 4791 §5.3.1, RFC 5689 §3).
func writeCreationFailure(w http.ResponseWriter, t target, root string, changes []propChange, bad map[xml.Name]*davError) error {
	if len(changes) == 0 {
		for name := range bad {
			changes = append(changes, propChange{name: name})
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	x := newXMLWriter(w)
	x.raw(`<?xml version="1.0" encoding="utf-8"?>` + "\n<" + root + rootNamespaces + ">")
	ms := &multistatus{x: x}
	for _, ps := range failedProps(changes, bad) {
		ms.propstatOnly(ps)
	}
	x.raw("</" + root + ">\n")
	return x.flush()
}
