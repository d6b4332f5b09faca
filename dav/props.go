package dav

import (
	"cmp"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/projections"
)

// resource is a loaded target: what property getters read.
type resource struct {
	t         target
	me        string // the authenticated principal
	principal projections.Principal
	cal       projections.Calendar
	obj       projections.Object
}

func (res *resource) owned() bool { return res.t.owner != "" && res.t.owner == res.me }

// liveProp is a property computed by the server. get returns ok=false where
// the property does not apply to the resource (then it is a 404 propstat).
type liveProp struct {
	name      xml.Name
	get       func(s *server, res *resource) (inner string, ok bool)
	allprop   bool // included in an allprop answer (RFC 4918 §9.1, RFC 4791 §5.2)
	protected bool // refused by PROPPATCH with cannot-modify-protected-property
}

var (
	liveProps     []*liveProp
	livePropIndex = map[xml.Name]*liveProp{}
)

func register(space, local string, allprop, protected bool, get func(*server, *resource) (string, bool)) {
	p := &liveProp{name: xml.Name{Space: space, Local: local}, get: get, allprop: allprop, protected: protected}
	liveProps = append(liveProps, p)
	livePropIndex[p.name] = p
}

func is(k kind, kinds ...kind) bool {
	for _, x := range kinds {
		if k == x {
			return true
		}
	}
	return false
}

// ownerPrivileges are what an owner may do with its home and calendars.
const ownerPrivileges = "<D:privilege><D:all/></D:privilege><D:privilege><D:read/></D:privilege>" +
	"<D:privilege><D:write/></D:privilege><D:privilege><D:write-properties/></D:privilege>" +
	"<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege>" +
	"<D:privilege><D:unbind/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>" +
	"<D:privilege><C:read-free-busy/></D:privilege>"

const readPrivileges = "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>"

// calendarReports are the REPORTs a calendar answers.
const calendarReports = "<D:supported-report><D:report><C:calendar-multiget/></D:report></D:supported-report>" +
	"<D:supported-report><D:report><C:calendar-query/></D:report></D:supported-report>" +
	"<D:supported-report><D:report><C:free-busy-query/></D:report></D:supported-report>" +
	"<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>"

func init() {
	const protected, settable, inAllprop, notInAllprop = true, false, true, false
	register(nsDAV, "resourcetype", inAllprop, protected, func(s *server, res *resource) (string, bool) {
		switch res.t.kind {
		case kindObject:
			return "", true
		case kindPrincipal:
			return "<D:collection/><D:principal/>", true
		case kindCalendar:
			return "<D:collection/><C:calendar/>", true
		}
		return "<D:collection/>", true
	})
	register(nsDAV, "displayname", inAllprop, settable, func(s *server, res *resource) (string, bool) {
		switch res.t.kind {
		case kindPrincipal:
			return escapeString(cmp.Or(res.principal.DisplayName, res.principal.Name)), true
		case kindCalendar:
			if p, ok := res.cal.Prop(nsDAV, "displayname"); ok {
				return p.XML, true
			}
			// A calendar created without a name shows its path segment
			// rather than nothing, as CalendarServer does.
			return escapeString(res.cal.Name), true
		case kindHome:
			return escapeString(res.t.owner), true
		}
		return "", false
	})
	register(nsDAV, "current-user-principal", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return hrefXML(principalHref(res.me)), true
	})
	register(nsDAV, "principal-URL", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return hrefXML(principalHref(res.t.owner)), res.t.kind == kindPrincipal
	})
	register(nsDAV, "principal-collection-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return hrefXML(usersPath), true
	})
	register(nsDAV, "alternate-URI-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return "", res.t.kind == kindPrincipal
	})
	register(nsDAV, "owner", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return hrefXML(principalHref(res.t.owner)), res.t.owner != ""
	})
	register(nsDAV, "current-user-privilege-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		if res.owned() && res.t.kind != kindPrincipal && res.t.at == nil {
			return ownerPrivileges, true
		}
		return readPrivileges, true
	})
	register(nsDAV, "supported-report-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		if res.t.kind == kindCalendar {
			return calendarReports, true
		}
		return "", true
	})
	register(nsDAV, "getetag", inAllprop, protected, func(s *server, res *resource) (string, bool) {
		return escapeString(res.obj.ETag), res.t.kind == kindObject
	})
	register(nsDAV, "getcontenttype", inAllprop, protected, func(s *server, res *resource) (string, bool) {
		return escapeString(objectContentType(res.obj.Component)), res.t.kind == kindObject
	})
	register(nsDAV, "getcontentlength", inAllprop, protected, func(s *server, res *resource) (string, bool) {
		return strconv.Itoa(res.obj.Size), res.t.kind == kindObject
	})
	register(nsDAV, "getlastmodified", inAllprop, protected, func(s *server, res *resource) (string, bool) {
		switch res.t.kind {
		case kindObject:
			return res.obj.Modified.UTC().Format(http.TimeFormat), true
		case kindCalendar:
			return res.cal.Modified.UTC().Format(http.TimeFormat), true
		}
		return "", false
	})
	register(nsDAV, "sync-token", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return escapeString(syncToken(res.cal)), res.t.kind == kindCalendar
	})
	register(nsCS, "getctag", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return escapeString(syncToken(res.cal)), res.t.kind == kindCalendar
	})
	register(nsCalDAV, "calendar-home-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return hrefXML(homeHref(res.t.owner)), res.t.kind == kindPrincipal
	})
	register(nsCalDAV, "calendar-user-address-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		if res.t.kind != kindPrincipal {
			return "", false
		}
		v := ""
		if res.principal.Email != "" {
			v = hrefXML("mailto:" + res.principal.Email)
		}
		return v + hrefXML(principalHref(res.t.owner)), true
	})
	register(nsCalDAV, "calendar-user-type", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return "INDIVIDUAL", res.t.kind == kindPrincipal
	})
	register(nsCalDAV, "supported-calendar-component-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		if res.t.kind != kindCalendar {
			return "", false
		}
		var b strings.Builder
		for _, c := range res.cal.Info().SupportedComponents() {
			b.WriteString(`<C:comp name="` + escapeString(c) + `"/>`)
		}
		return b.String(), true
	})
	register(nsCalDAV, "supported-calendar-data", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return `<C:calendar-data content-type="text/calendar" version="2.0"/>`, res.t.kind == kindCalendar
	})
	register(nsCalDAV, "max-resource-size", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return strconv.Itoa(s.cfg.Limits.MaxResourceSize), res.t.kind == kindCalendar && s.cfg.Limits.MaxResourceSize > 0
	})
	// Kalends evaluates every date iCalendar can write, so the bounds are
	// iCalendar's own; max-instances is the expansion cap queries enforce.
	register(nsCalDAV, "min-date-time", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return "00010101T000000Z", res.t.kind == kindCalendar
	})
	register(nsCalDAV, "max-date-time", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return "99991231T235959Z", res.t.kind == kindCalendar
	})
	register(nsCalDAV, "max-instances", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return strconv.Itoa(cmp.Or(s.cfg.Limits.MaxInstances, domain.DefaultMaxInstances)), res.t.kind == kindCalendar
	})
	register(nsCalDAV, "schedule-calendar-transp", notInAllprop, settable, func(s *server, res *resource) (string, bool) {
		if res.t.kind != kindCalendar {
			return "", false
		}
		if p, ok := res.cal.Prop(nsCalDAV, "schedule-calendar-transp"); ok {
			return p.XML, true
		}
		return "<C:opaque/>", true // RFC 6638 §9.1: the default
	})
}

func objectContentType(component string) string {
	if component == "" {
		return "text/calendar; charset=utf-8"
	}
	return "text/calendar; charset=utf-8; component=" + component
}

// storedProp returns a calendar's stored (client-set) property.
func (res *resource) storedProp(name xml.Name) (string, bool) {
	if res.t.kind != kindCalendar {
		return "", false
	}
	p, ok := res.cal.Prop(name.Space, name.Local)
	return p.XML, ok
}

// propValue resolves one property: live first, then stored.
func (s *server) propValue(res *resource, name xml.Name) (string, bool) {
	if lp := livePropIndex[name]; lp != nil {
		if v, ok := lp.get(s, res); ok {
			return v, true
		}
	}
	return res.storedProp(name)
}

// propsFor answers a prop request for one resource, grouping found and
// missing properties into their propstats.
func (s *server) propsFor(res *resource, names []xml.Name) []propstat {
	found := propstat{status: http.StatusOK}
	missing := propstat{status: http.StatusNotFound}
	for _, n := range names {
		if v, ok := s.propValue(res, n); ok {
			found.props = append(found.props, propEntry{space: n.Space, local: n.Local, inner: v})
		} else {
			missing.props = append(missing.props, propEntry{space: n.Space, local: n.Local})
		}
	}
	return []propstat{found, missing}
}

// allProps answers allprop (values) or propname (names only).
func (s *server) allProps(res *resource, namesOnly bool, include []xml.Name) []propstat {
	ps := propstat{status: http.StatusOK}
	add := func(n xml.Name, v string) {
		if namesOnly {
			v = ""
		}
		ps.props = append(ps.props, propEntry{space: n.Space, local: n.Local, inner: v})
	}
	for _, lp := range liveProps {
		if !namesOnly && !lp.allprop && !containsName(include, lp.name) {
			continue
		}
		if v, ok := lp.get(s, res); ok {
			add(lp.name, v)
		}
	}
	if res.t.kind == kindCalendar {
		for _, p := range res.cal.Props {
			n := xml.Name{Space: p.Space, Local: p.Local}
			if livePropIndex[n] == nil {
				add(n, p.XML)
			}
		}
	}
	return []propstat{ps}
}

func containsName(names []xml.Name, n xml.Name) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// syncToken is a calendar's position as a URI (RFC 6578 §3.2). It names the
// calendar's incarnation, so a token of another calendar, or of a deleted
// calendar that was re-created under the same name, is recognisably foreign.
func syncToken(cal projections.Calendar) string {
	return syncTokenPrefix + incarnationID(cal) + "/" + strconv.FormatUint(uint64(cal.Revision), 10)
}

const syncTokenPrefix = "http://kalends.org/ns/sync/"

func incarnationID(cal projections.Calendar) string {
	return domain.ETagOf([]byte(cal.Stream + "\x00" + strconv.FormatUint(uint64(cal.Incarnation), 10)))[1:13]
}
