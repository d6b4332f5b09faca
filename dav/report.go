package dav

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

var calendarDataName = xml.Name{Space: nsCalDAV, Local: "calendar-data"}

func (s *server) report(w http.ResponseWriter, r *http.Request, t target) error {
	root, err := parseXML(r.Body)
	if err != nil {
		return badXML(err)
	}
	if root == nil {
		return errStatus(http.StatusBadRequest, "REPORT needs a body")
	}
	switch {
	case root.is(nsCalDAV, "calendar-multiget") && (t.kind == kindCalendar || t.kind == kindObject):
		return s.multiget(w, r, t, root)
	case root.is(nsDAV, "sync-collection") && t.kind == kindCalendar:
		return s.syncCollection(w, r, t, root)
	case root.is(nsCalDAV, "calendar-query") && (t.kind == kindCalendar || t.kind == kindObject):
		return s.calendarQuery(w, r, t, root)
	case root.is(nsCalDAV, "free-busy-query") && t.kind == kindCalendar:
		return s.freeBusyQuery(w, r, t, root)
	}
	return errCondition(http.StatusForbidden, nsDAV, "supported-report", "unsupported REPORT "+root.Name.Local+" here")
}

// reportRequest is the DAV:prop of a REPORT body, with what its
// CALDAV:calendar-data asks for.
type reportRequest struct {
	names    []xml.Name
	wantData bool
	data     domain.DataSelection
	floating *time.Location
	limits   domain.ExpandLimits
	// view is the snapshot the report reads, whose cache of parsed objects
	// calendar-data rendering shares with matching.
	view *projections.View
}

func (s *server) parseReportRequest(root *node) (reportRequest, error) {
	rr := reportRequest{names: []xml.Name{{Space: nsDAV, Local: "getetag"}}, floating: time.UTC,
		limits: domain.ExpandLimits{MaxInstances: s.cfg.Limits.MaxInstances}}
	p := root.child(nsDAV, "prop")
	if p == nil {
		return rr, nil
	}
	rr.names = childNames(p)
	cd := p.child(nsCalDAV, "calendar-data")
	if cd == nil {
		return rr, nil
	}
	rr.wantData = true
	var err error
	rr.data, err = parseDataSelection(cd)
	return rr, err
}

// parseDataSelection reads a CALDAV:calendar-data request element (RFC
// 4791 §9.6).
func parseDataSelection(cd *node) (domain.DataSelection, error) {
	var sel domain.DataSelection
	if ct := cd.attr("content-type"); ct != "" && ct != "text/calendar" {
		return sel, errCondition(http.StatusForbidden, nsCalDAV, "supported-calendar-data", "only text/calendar is served")
	}
	var err error
	for _, c := range cd.Children {
		switch {
		case c.is(nsCalDAV, "comp"):
			comp := parseCompSelection(c)
			sel.Comp = &comp
		case c.is(nsCalDAV, "expand"):
			sel.Expand, err = parseTimeRange(c)
		case c.is(nsCalDAV, "limit-recurrence-set"):
			sel.LimitRecurrenceSet, err = parseTimeRange(c)
		case c.is(nsCalDAV, "limit-freebusy-set"):
			sel.LimitFreeBusySet, err = parseTimeRange(c)
		}
		if err != nil {
			return sel, err
		}
	}
	return sel, nil
}

func parseCompSelection(n *node) domain.CompSelection {
	cs := domain.CompSelection{Name: strings.ToUpper(n.attr("name"))}
	for _, c := range n.Children {
		switch {
		case c.is(nsCalDAV, "allprop"):
			cs.AllProps = true
		case c.is(nsCalDAV, "allcomp"):
			cs.AllComps = true
		case c.is(nsCalDAV, "prop"):
			cs.Props = append(cs.Props, domain.PropSelection{Name: c.attr("name"), NoValue: strings.EqualFold(c.attr("novalue"), "yes")})
		case c.is(nsCalDAV, "comp"):
			cs.Comps = append(cs.Comps, parseCompSelection(c))
		}
	}
	return cs
}

// calendarData is the calendar-data property of an object (read with its
// data) as rr asks for it. The stored text, what most requests want, is
// escaped once per object version and kept; a rendering is escaped as it
// is written.
func (rr *reportRequest) calendarData(o projections.Object) (propEntry, error) {
	e := propEntry{space: nsCalDAV, local: "calendar-data"}
	if rr.data.IsZero() {
		e.inner = rr.view.Derived(o, "xml-text", escapeString)
		return e, nil
	}
	parse := func() (*domain.Object, error) { return rr.view.Parse(o) }
	b, err := domain.SelectCalendarData([]byte(o.Data), parse, rr.data, rr.floating, rr.limits)
	e.text = string(b)
	return e, err
}

// objectProps answers the requested properties of one object. A
// calendar-data that cannot be rendered (an expansion over the instance
// limit) fails in its own propstat rather than the whole multistatus.
func (s *server) objectProps(res *resource, rr *reportRequest) []propstat {
	stats := s.propsFor(res, rr.names)
	if !rr.wantData {
		return stats
	}
	data, err := rr.calendarData(res.obj)
	return withCalendarData(stats, data, err)
}

// withCalendarData moves calendar-data out of the 404 propstat, where
// propsFor put it, into the 200 one with its value, or into a 403 one
// naming the precondition that stopped it.
func withCalendarData(stats []propstat, data propEntry, err error) []propstat {
	for i, p := range stats[1].props {
		if (xml.Name{Space: p.space, Local: p.local}) == calendarDataName {
			stats[1].props = append(stats[1].props[:i], stats[1].props[i+1:]...)
			break
		}
	}
	if err == nil {
		stats[0].props = append(stats[0].props, data)
		return stats
	}
	failed := propstat{status: http.StatusForbidden, props: []propEntry{{space: nsCalDAV, local: "calendar-data"}}}
	if de := fromDomain(err, nil); de != nil && de.local != "" {
		failed.errInner = "<" + prefixed(de.space, de.local) + "/>"
	}
	return append(stats, failed)
}

func (s *server) multiget(w http.ResponseWriter, r *http.Request, t target, root *node) error {
	rr, err := s.parseReportRequest(root)
	if err != nil {
		return err
	}
	v := s.viewFor(t)
	defer v.Close()
	calRes, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	if rr.floating, err = floatingZone(root, calRes.cal); err != nil {
		return withHrefs(err, t)
	}
	rr.view = v
	ms := startMultistatus(w, r, "multistatus")
	for _, h := range root.Children {
		if !h.is(nsDAV, "href") {
			continue
		}
		href := strings.TrimSpace(h.Text)
		// Only what the request-URI holds is answered: its calendar's
		// objects, or on an object (RFC 4791 §7.9) the object itself.
		ot, ok := parseHref(href)
		if !ok || ot.kind != kindObject || ot.owner != t.owner || ot.cal != t.cal || !ot.at.sameInstant(t.at) ||
			t.kind == kindObject && ot.obj != t.obj {
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		obj, found, err := v.Object(ot.owner, ot.cal, ot.obj)
		if err != nil {
			return err
		}
		if !found {
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		res := &resource{t: ot, me: calRes.me, principal: calRes.principal, cal: calRes.cal, obj: obj}
		ms.response(ot.href(), s.objectProps(res, &rr))
	}
	return ms.close("multistatus", "")
}

// parseHref maps an href from a request body (a path or an absolute URL)
// to a target.
func parseHref(href string) (target, bool) {
	if i := strings.Index(href, "://"); i >= 0 {
		rest := href[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return target{}, false
		}
		href = rest[j:]
	}
	if strings.HasPrefix(href, asOfPrefix) {
		return parseAsOfTarget(href)
	}
	return parseEscapedTarget(href)
}

// parseSyncToken reads a token this calendar issued and returns its
// revision. Anything else — another calendar's token, an earlier
// incarnation's, one from the future, garbage — is DAV:valid-sync-token
// (RFC 6578 §3.2), never a silent full resync.
func parseSyncToken(token string, cal projections.Calendar) (eventlog.Revision, error) {
	rest, ok := strings.CutPrefix(token, syncTokenPrefix)
	if !ok {
		return 0, errInvalidSync
	}
	id, revText, ok := strings.Cut(rest, "/")
	if !ok || id != incarnationID(cal) {
		return 0, errInvalidSync
	}
	rev, err := strconv.ParseUint(revText, 10, 64)
	if err != nil || eventlog.Revision(rev) > cal.Revision || eventlog.Revision(rev) < cal.Incarnation {
		return 0, errInvalidSync
	}
	return eventlog.Revision(rev), nil
}

var errStopIteration = errors.New("stop")

// syncCollection answers RFC 6578's REPORT. The initial sync and the
// incremental one are the same walk over the change index — from the
// calendar's creation, or from the token — so both cost O(changes), both
// truncate to `limit` in revision order, and the 507 token resumes exactly
// where the answer stopped.
func (s *server) syncCollection(w http.ResponseWriter, r *http.Request, t target, root *node) error {
	rr, err := s.parseReportRequest(root)
	if err != nil {
		return err
	}
	limit := 0
	if l := root.child(nsDAV, "limit"); l != nil {
		if n := l.child(nsDAV, "nresults"); n != nil {
			v, err := strconv.Atoi(strings.TrimSpace(n.Text))
			if err != nil || v < 1 {
				return errCondition(http.StatusBadRequest, nsDAV, "number-of-matches-within-limits", "bad nresults")
			}
			limit = v
		}
	}
	if lvl := root.child(nsDAV, "sync-level"); lvl != nil {
		if l := strings.TrimSpace(lvl.Text); l != "1" && l != "infinite" {
			return errStatus(http.StatusBadRequest, "bad sync-level")
		}
	}
	v := s.viewFor(t)
	defer v.Close()
	calRes, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	cal := calRes.cal
	if rr.floating, err = floatingZone(root, cal); err != nil {
		return withHrefs(err, t)
	}
	rr.view = v
	after, initial := cal.Incarnation, true
	if tok := root.child(nsDAV, "sync-token"); tok != nil && strings.TrimSpace(tok.Text) != "" {
		if after, err = parseSyncToken(strings.TrimSpace(tok.Text), cal); err != nil {
			return err
		}
		initial = false
	}
	ms := startMultistatus(w, r, "multistatus")
	reached := cal.Revision
	count := 0
	child := &resource{me: calRes.me, principal: calRes.principal, cal: cal}
	err = v.Changes(t.owner, t.cal, after, func(c projections.Change) error {
		if c.Deleted && initial {
			return nil
		}
		if limit > 0 && count == limit {
			return errStopIteration
		}
		count++
		href := t.member(c.Name).href()
		if c.Deleted {
			ms.statusResponse(href, http.StatusNotFound)
			reached = c.Revision
			return nil
		}
		read := v.ObjectMeta
		if rr.wantData {
			read = v.Object
		}
		obj, found, err := read(t.owner, t.cal, c.Name)
		if err != nil || !found {
			return errors.Join(err, errors.New("change index names a missing object "+c.Name))
		}
		child.t = t.member(c.Name)
		child.obj = obj
		ms.response(href, s.objectProps(child, &rr))
		reached = c.Revision
		return nil
	})
	if errors.Is(err, errStopIteration) {
		// RFC 6578 §3.6: the request-URI with 507 and the condition says
		// "there is more" (Apple's clients look for the condition); the
		// token names how far this answer got.
		ms.statusResponseError(t.href(), http.StatusInsufficientStorage, "<D:number-of-matches-within-limits/>")
	} else if err != nil {
		s.requestLog(r).Error().Err(err).Msg("sync-collection")
		return nil
	} else {
		reached = cal.Revision
	}
	tokenCal := cal
	tokenCal.Revision = reached
	return ms.close("multistatus", "<D:sync-token>"+escapeString(syncToken(tokenCal))+"</D:sync-token>")
}
