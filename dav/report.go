package dav

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

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
	case root.is(nsCalDAV, "calendar-multiget") && t.kind == kindCalendar:
		return s.multiget(w, r, t, root)
	case root.is(nsDAV, "sync-collection") && t.kind == kindCalendar:
		return s.syncCollection(w, r, t, root)
	case root.is(nsCalDAV, "calendar-query") && (t.kind == kindCalendar || t.kind == kindObject):
		return s.calendarQuery(w, r, t, root)
	}
	return errCondition(http.StatusForbidden, nsDAV, "supported-report", "unsupported REPORT "+root.Name.Local+" here")
}

// reportProps reads the DAV:prop of a REPORT body.
func reportProps(root *node) []xml.Name {
	if p := root.child(nsDAV, "prop"); p != nil {
		return childNames(p)
	}
	return []xml.Name{{Space: nsDAV, Local: "getetag"}}
}

// objectProps answers the requested properties of one object; calendar-data
// is the object's text (the object must have been read with its data).
func (s *server) objectProps(res *resource, names []xml.Name) []propstat {
	stats := s.propsFor(res, names)
	for i, p := range stats[1].props {
		if (xml.Name{Space: p.space, Local: p.local}) == calendarDataName {
			stats[1].props = append(stats[1].props[:i], stats[1].props[i+1:]...)
			stats[0].props = append(stats[0].props, propEntry{nsCalDAV, "calendar-data", escapeString(res.obj.Data)})
			break
		}
	}
	return stats
}

func (s *server) multiget(w http.ResponseWriter, r *http.Request, t target, root *node) error {
	names := reportProps(root)
	v := s.cfg.Store.View()
	defer v.Close()
	calRes, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	ms := startMultistatus(w, "multistatus")
	for _, h := range root.Children {
		if !h.is(nsDAV, "href") {
			continue
		}
		href := strings.TrimSpace(h.Text)
		ot, ok := parseHref(href)
		if !ok || ot.kind != kindObject || ot.owner != t.owner || ot.cal != t.cal {
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
		ms.response(ot.href(), s.objectProps(res, names))
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
	names := reportProps(root)
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
	v := s.cfg.Store.View()
	defer v.Close()
	calRes, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	cal := calRes.cal
	after, initial := cal.Incarnation, true
	if tok := root.child(nsDAV, "sync-token"); tok != nil && strings.TrimSpace(tok.Text) != "" {
		if after, err = parseSyncToken(strings.TrimSpace(tok.Text), cal); err != nil {
			return err
		}
		initial = false
	}
	ms := startMultistatus(w, "multistatus")
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
		href := objectHref(t.owner, t.cal, c.Name)
		if c.Deleted {
			ms.statusResponse(href, http.StatusNotFound)
			reached = c.Revision
			return nil
		}
		obj, found, err := v.Object(t.owner, t.cal, c.Name)
		if err != nil || !found {
			return errors.Join(err, errors.New("change index names a missing object "+c.Name))
		}
		child.t = target{kind: kindObject, owner: t.owner, cal: t.cal, obj: c.Name}
		child.obj = obj
		ms.response(href, s.objectProps(child, names))
		reached = c.Revision
		return nil
	})
	if errors.Is(err, errStopIteration) {
		// RFC 6578 §3.6: the request-URI with 507 says "there is more";
		// the token names how far this answer got.
		ms.statusResponse(t.href(), http.StatusInsufficientStorage)
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
