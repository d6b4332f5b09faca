package dav

import (
	"cmp"
	"context"
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// Object history (issue 4) is a read-only tree of WebDAV collections, one
// per calendar and one per object name, whose members are the versions:
//
//	/history/<owner>/<calendar>/                every object name the calendar
//	                                            ever held, one collection each
//	/history/<owner>/<calendar>/<obj>/          the versions of <obj>, one
//	                                            member per change, oldest first
//	/history/<owner>/<calendar>/<obj>/<rev>     one version; GET returns the
//	                                            iCalendar data it wrote
//
// <rev> is the revision in the calendar's stream of the event that made the
// version. A PROPFIND (Depth 0 or 1) of a version shows DAV:getetag,
// getcontenttype and getcontentlength (not for deletions), getlastmodified
// (the event's time) and, in the namespace http://kalends.org/ns/, revision,
// time (RFC 3339, exact: usable as an as-of instant), operation (put, delete,
// move, copy, restore or calendar-delete), actor, on-behalf-of, user-agent,
// request-id, remote-addr, and copied-from / moved-to (hrefs) for MOVE and
// COPY. An object's collection carries its latest version's properties. A
// GET of a deletion is 410 Gone: the version is known, its data is that
// there is none. Writes are 403 DAV:need-privileges; only the owner may
// look. Versions of earlier incarnations of the calendar (deleted and
// created again under the same name) are part of the same history.
//
// A version is what a client asked for: a MOVE within one calendar reads
// "move" at its destination; a MOVE from another calendar reads "copy"
// there (with copied-from), and "move" at its source (with moved-to).
//
// The tree is read from the calendar's stream on every request, O(stream):
// history is rare and must be exact, so nothing is projected for it.
const historyPrefix = "/history/"

const nsKalends = "http://kalends.org/ns/"

// Operations a version records.
const (
	opPut            = "put"
	opDelete         = "delete"
	opMove           = "move"
	opCopy           = "copy"
	opRestore        = "restore"
	opCalendarDelete = "calendar-delete"
)

// version is one change of one object.
type version struct {
	rev       eventlog.Revision
	meta      eventlog.Metadata
	operation string
	put       *domain.ObjectPut // nil for a deletion
	size      int
	movedTo   string // an object ref, "owner/calendar/name"
}

// historyPath is a parsed /history/ path.
type historyPath struct {
	owner, cal, obj string
	rev             eventlog.Revision
	isVersion       bool
}

func parseHistoryPath(rest string) (historyPath, bool) {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" || u == "." || u == ".." || strings.Contains(u, "/") {
			return historyPath{}, false
		}
		segs[i] = u
	}
	var p historyPath
	switch len(segs) {
	case 4:
		rev, err := strconv.ParseUint(segs[3], 10, 64)
		if err != nil {
			return p, false
		}
		p.rev, p.isVersion = eventlog.Revision(rev), true
		fallthrough
	case 3:
		p.obj = segs[2]
		fallthrough
	case 2:
		p.owner, p.cal = segs[0], segs[1]
		return p, true
	}
	return p, false
}

func historyCalendarHref(owner, cal string) string {
	return historyPrefix + escapeSegment(owner) + "/" + escapeSegment(cal) + "/"
}

func historyObjectHref(owner, cal, obj string) string {
	return historyCalendarHref(owner, cal) + escapeSegment(obj) + "/"
}

func (p historyPath) href() string {
	switch {
	case p.isVersion:
		return historyObjectHref(p.owner, p.cal, p.obj) + strconv.FormatUint(uint64(p.rev), 10)
	case p.obj != "":
		return historyObjectHref(p.owner, p.cal, p.obj)
	}
	return historyCalendarHref(p.owner, p.cal)
}

func (s *server) serveHistory(w http.ResponseWriter, r *http.Request, rest string) error {
	p, ok := parseHistoryPath(rest)
	if !ok {
		return errNotFound
	}
	if err := authorize(target{kind: kindCalendar, owner: p.owner, cal: p.cal}, info(r).principal, r.Method); err != nil {
		return err
	}
	switch {
	case isWrite(r.Method):
		return readOnly(p.href())
	case r.Method == "PROPFIND":
		return s.historyPropfind(w, r, p)
	case r.Method == "REPORT":
		return errCondition(http.StatusForbidden, nsDAV, "supported-report", "history answers no REPORT")
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && p.isVersion:
		return s.historyGet(w, r, p)
	}
	w.Header().Set("Allow", readOnlyAllow)
	return errMethodNotFound
}

// objectVersions calls fn with every version of every object of a calendar,
// in stream order. It reports whether the stream exists. Data is kept only
// when withData is set.
func (s *server) objectVersions(ctx context.Context, owner, cal string, withData bool, fn func(name string, v version)) (bool, error) {
	live := map[string]bool{}
	found := false
	// The events one restore appends follow its marker with the marker's
	// request id and time.
	var restoring *eventlog.Metadata
	// A MOVE within the calendar appends its destination's put, then its
	// source's deletion: the put is reported once the deletion is seen.
	var pending *version
	pendingName := ""
	flush := func() {
		if pending != nil {
			fn(pendingName, *pending)
			pending = nil
		}
	}
	err := s.cfg.Log.ReadStream(ctx, domain.CalendarStream(owner, cal), 0, func(rec eventlog.Record) error {
		found = true
		ev, err := domain.Decode(rec.Type, rec.SchemaVersion, rec.Data)
		if err != nil {
			return err
		}
		if restoring != nil && (rec.Meta.RequestID != restoring.RequestID || !rec.Meta.Time.Equal(restoring.Time)) {
			restoring = nil
		}
		v := version{rev: rec.Revision, meta: rec.Meta}
		switch e := ev.(type) {
		case *domain.CalendarRestored:
			restoring = &rec.Meta
		case *domain.ObjectPut:
			flush()
			live[e.Name] = true
			v.operation, v.put, v.size = opPut, e, len(e.Data)
			switch {
			case restoring != nil:
				v.operation = opRestore
			case e.CopiedFrom != "":
				v.operation = opCopy
			}
			if !withData {
				stripped := *e
				stripped.Data = ""
				v.put = &stripped
			}
			if v.operation == opCopy && strings.HasPrefix(e.CopiedFrom, owner+"/"+cal+"/") {
				pending, pendingName = &v, e.Name
				return nil
			}
			fn(e.Name, v)
		case *domain.ObjectDeleted:
			if pending != nil && e.MovedTo == owner+"/"+cal+"/"+pendingName && rec.Meta.RequestID == pending.meta.RequestID {
				pending.operation = opMove
			}
			flush()
			delete(live, e.Name)
			v.operation, v.movedTo = opDelete, e.MovedTo
			switch {
			case restoring != nil:
				v.operation = opRestore
			case e.MovedTo != "":
				v.operation = opMove
			}
			fn(e.Name, v)
		case *domain.CalendarDeleted:
			flush()
			v.operation = opCalendarDelete
			for _, name := range slices.Sorted(maps.Keys(live)) {
				fn(name, v)
			}
			clear(live)
		}
		return nil
	})
	flush()
	return found, err
}

// historyRes is one resource of the history tree as PROPFIND shows it.
type historyRes struct {
	href       string
	collection bool
	name       string   // displayname of a collection
	v          *version // the version; an object's latest; nil for a calendar
}

func (s *server) historyPropfind(w http.ResponseWriter, r *http.Request, p historyPath) error {
	d, pr, err := readPropfind(r)
	if err != nil {
		return err
	}
	var self historyRes
	var members []historyRes
	switch {
	case p.obj == "":
		self = historyRes{href: p.href(), collection: true, name: p.cal}
		latest := map[string]version{}
		found, err := s.objectVersions(r.Context(), p.owner, p.cal, false, func(name string, v version) {
			latest[name] = v
		})
		if err != nil || !found {
			return cmp.Or[error](err, errNotFound)
		}
		for _, name := range slices.Sorted(maps.Keys(latest)) {
			v := latest[name]
			members = append(members, historyRes{href: historyObjectHref(p.owner, p.cal, name), collection: true, name: name, v: &v})
		}
	default:
		var versions []version
		if _, err := s.objectVersions(r.Context(), p.owner, p.cal, false, func(name string, v version) {
			if name == p.obj {
				versions = append(versions, v)
			}
		}); err != nil {
			return err
		}
		if len(versions) == 0 {
			return errNotFound
		}
		for i := range versions {
			vp := p
			vp.rev, vp.isVersion = versions[i].rev, true
			members = append(members, historyRes{href: vp.href(), v: &versions[i]})
		}
		self = historyRes{href: p.href(), collection: true, name: p.obj, v: &versions[len(versions)-1]}
		if p.isVersion {
			i := slices.IndexFunc(versions, func(v version) bool { return v.rev == p.rev })
			if i < 0 {
				return errNotFound
			}
			self, members = members[i], nil
		}
	}
	answer := func(res historyRes) []propstat {
		switch {
		case pr.propname:
			return historyAllProps(res, true)
		case pr.allprop:
			return historyAllProps(res, false)
		}
		found := propstat{status: http.StatusOK}
		missing := propstat{status: http.StatusNotFound}
		for _, n := range pr.names {
			if hp := historyPropIndex[n]; hp != nil {
				if v, ok := hp.get(res); ok {
					found.props = append(found.props, propEntry{space: n.Space, local: n.Local, inner: v})
					continue
				}
			}
			missing.props = append(missing.props, propEntry{space: n.Space, local: n.Local})
		}
		return []propstat{found, missing}
	}
	ms := startMultistatus(w, "multistatus")
	ms.response(self.href, answer(self))
	if d == 1 {
		for _, m := range members {
			ms.response(m.href, answer(m))
		}
	}
	return ms.close("multistatus", "")
}

func historyAllProps(res historyRes, namesOnly bool) []propstat {
	ps := propstat{status: http.StatusOK}
	for _, hp := range historyProps {
		if v, ok := hp.get(res); ok {
			if namesOnly {
				v = ""
			}
			ps.props = append(ps.props, propEntry{space: hp.name.Space, local: hp.name.Local, inner: v})
		}
	}
	return []propstat{ps}
}

type historyProp struct {
	name xml.Name
	get  func(historyRes) (string, bool)
}

var (
	historyProps     []historyProp
	historyPropIndex = map[xml.Name]*historyProp{}
)

func init() {
	add := func(space, local string, get func(historyRes) (string, bool)) {
		historyProps = append(historyProps, historyProp{xml.Name{Space: space, Local: local}, get})
	}
	// of the version (an object's latest), if any
	ofVersion := func(space, local string, get func(v *version) string) {
		add(space, local, func(res historyRes) (string, bool) {
			if res.v == nil {
				return "", false
			}
			val := get(res.v)
			return val, val != ""
		})
	}
	// of a version resource that wrote data
	ofPut := func(local string, get func(v *version) string) {
		add(nsDAV, local, func(res historyRes) (string, bool) {
			if res.collection || res.v == nil || res.v.put == nil {
				return "", false
			}
			return get(res.v), true
		})
	}
	add(nsDAV, "resourcetype", func(res historyRes) (string, bool) {
		if res.collection {
			return "<D:collection/>", true
		}
		return "", true
	})
	add(nsDAV, "displayname", func(res historyRes) (string, bool) {
		return escapeString(res.name), res.collection
	})
	ofPut("getetag", func(v *version) string { return escapeString(v.put.ETag) })
	ofPut("getcontenttype", func(v *version) string { return escapeString(objectContentType(v.put.Component)) })
	ofPut("getcontentlength", func(v *version) string { return strconv.Itoa(v.size) })
	ofVersion(nsDAV, "getlastmodified", func(v *version) string { return v.meta.Time.UTC().Format(http.TimeFormat) })
	ofVersion(nsKalends, "revision", func(v *version) string { return strconv.FormatUint(uint64(v.rev), 10) })
	ofVersion(nsKalends, "time", func(v *version) string { return v.meta.Time.UTC().Format(time.RFC3339Nano) })
	ofVersion(nsKalends, "operation", func(v *version) string { return v.operation })
	ofVersion(nsKalends, "actor", func(v *version) string { return escapeString(v.meta.Principal) })
	ofVersion(nsKalends, "on-behalf-of", func(v *version) string { return escapeString(v.meta.OnBehalfOf) })
	ofVersion(nsKalends, "user-agent", func(v *version) string { return escapeString(v.meta.UserAgent) })
	ofVersion(nsKalends, "request-id", func(v *version) string { return escapeString(v.meta.RequestID) })
	ofVersion(nsKalends, "remote-addr", func(v *version) string { return escapeString(v.meta.RemoteAddr) })
	ofVersion(nsKalends, "copied-from", func(v *version) string {
		if v.put == nil {
			return ""
		}
		return refHref(v.put.CopiedFrom)
	})
	ofVersion(nsKalends, "moved-to", func(v *version) string { return refHref(v.movedTo) })
	for i := range historyProps {
		historyPropIndex[historyProps[i].name] = &historyProps[i]
	}
}

// refHref turns an event's "owner/calendar/name" reference into the live
// object's href, "" for none.
func refHref(ref string) string {
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) != 3 {
		return ""
	}
	return hrefXML(objectHref(parts[0], parts[1], parts[2]))
}

func (s *server) historyGet(w http.ResponseWriter, r *http.Request, p historyPath) error {
	var found *version
	if _, err := s.objectVersions(r.Context(), p.owner, p.cal, true, func(name string, v version) {
		if name == p.obj && v.rev == p.rev {
			found = &v
		}
	}); err != nil {
		return err
	}
	switch {
	case found == nil:
		return errNotFound
	case found.put == nil:
		return errStatus(http.StatusGone, "this version deleted the object")
	}
	h := w.Header()
	h.Set("ETag", found.put.ETag)
	h.Set("Last-Modified", found.meta.Time.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", objectContentType(found.put.Component))
	h.Set("Content-Length", strconv.Itoa(len(found.put.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, found.put.Data)
	}
	return nil
}
