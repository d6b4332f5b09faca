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
	// denied reports where reading the property needs a privilege the
	// requester lacks: a 403 propstat rather than 404 (RFC 4918 §9.1).
	denied func(res *resource) bool
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

// Privileges (RFC 3744 §3, RFC 4791 §6.1.1). Access is fixed, not set by
// clients: an owner reads and writes below its home, and every principal
// reads every principal resource. So ACLs are readable (DAV:acl) but never
// writable: no principal holds DAV:write-acl, nor therefore DAV:all, and
// the ACL method is refused for want of it.
const (
	privRead     = "<D:privilege><D:read/></D:privilege>"
	privReadACL  = "<D:privilege><D:read-acl/></D:privilege>"
	privReadCUPS = "<D:privilege><D:read-current-user-privilege-set/></D:privilege>"
	privWrite    = "<D:privilege><D:write/></D:privilege>"

	// ownerPrivileges are what an owner may do with its home and calendars.
	ownerPrivileges = privRead + privWrite + "<D:privilege><D:write-properties/></D:privilege>" +
		"<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege>" +
		"<D:privilege><D:unbind/></D:privilege>" + privReadACL + privReadCUPS +
		"<D:privilege><C:read-free-busy/></D:privilege>"
	// principalOwnerPrivileges are a principal's on its own principal
	// resource, which nobody writes over DAV.
	principalOwnerPrivileges = privRead + privReadACL + privReadCUPS
	readPrivileges           = privRead + privReadCUPS
)

// supportedPrivileges is the DAV:supported-privilege-set of every resource
// (RFC 3744 §5.3): what the ACLs here are made of, as a tree of aggregates.
// CALDAV:read-free-busy is in DAV:read (RFC 4791 §6.1.1).
const supportedPrivileges = `<D:supported-privilege>` + `<D:privilege><D:all/></D:privilege><D:abstract/>` +
	`<D:description xml:lang="en">Any operation</D:description>` +
	`<D:supported-privilege>` + privRead + `<D:description xml:lang="en">Read</D:description>` +
	`<D:supported-privilege><D:privilege><C:read-free-busy/></D:privilege><D:description xml:lang="en">Read free-busy time</D:description></D:supported-privilege>` +
	`</D:supported-privilege>` +
	`<D:supported-privilege>` + privWrite + `<D:description xml:lang="en">Write</D:description>` +
	`<D:supported-privilege><D:privilege><D:write-properties/></D:privilege><D:description xml:lang="en">Write properties</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:write-content/></D:privilege><D:description xml:lang="en">Write content</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:bind/></D:privilege><D:description xml:lang="en">Add members</D:description></D:supported-privilege>` +
	`<D:supported-privilege><D:privilege><D:unbind/></D:privilege><D:description xml:lang="en">Remove members</D:description></D:supported-privilege>` +
	`</D:supported-privilege>` +
	`<D:supported-privilege>` + privReadACL + `<D:description xml:lang="en">Read the access control list</D:description></D:supported-privilege>` +
	`<D:supported-privilege>` + privReadCUPS + `<D:description xml:lang="en">Read the current user's privileges</D:description></D:supported-privilege>` +
	`</D:supported-privilege>`

// ace is one protected access control entry: principal (inner XML of
// DAV:principal) is granted privileges.
func ace(principal, privileges string) string {
	return "<D:ace><D:principal>" + principal + "</D:principal><D:grant>" + privileges + "</D:grant><D:protected/></D:ace>"
}

// canReadACL reports whether the requester holds DAV:read-acl: only an
// owner does, and only on the live tree.
func (res *resource) canReadACL() bool { return res.owned() && res.t.at == nil }

// acl is the DAV:acl of a resource as its owner reads it (RFC 3744 §5.5);
// ok=false where the requester lacks DAV:read-acl.
func (res *resource) acl() (string, bool) {
	if !res.canReadACL() {
		return "", false
	}
	owner := hrefXML(principalHref(res.t.owner))
	if res.t.kind == kindPrincipal {
		return ace(owner, principalOwnerPrivileges) + ace("<D:authenticated/>", readPrivileges), true
	}
	return ace(owner, privRead+privWrite+privReadACL+privReadCUPS), true
}

// objectReports are the REPORTs a calendar object answers (RFC 4791 §7.8,
// §7.9: a query or multiget of that one object); calendarReports those a
// calendar answers.
const (
	objectReports = "<D:supported-report><D:report><C:calendar-multiget/></D:report></D:supported-report>" +
		"<D:supported-report><D:report><C:calendar-query/></D:report></D:supported-report>"
	calendarReports = objectReports +
		"<D:supported-report><D:report><C:free-busy-query/></D:report></D:supported-report>" +
		"<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>"
)

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
		switch {
		case !res.owned() || res.t.at != nil:
			return readPrivileges, true
		case res.t.kind == kindPrincipal:
			return principalOwnerPrivileges, true
		}
		return ownerPrivileges, true
	})
	register(nsDAV, "supported-privilege-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return supportedPrivileges, true
	})
	register(nsDAV, "acl", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		return res.acl()
	})
	register(nsDAV, "acl-restrictions", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		// Every ACE is protected and grants; none inverts or denies.
		_, ok := res.acl()
		return "<D:grant-only/><D:no-invert/>", ok
	})
	register(nsDAV, "inherited-acl-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		_, ok := res.acl()
		return "", ok
	})
	for _, local := range []string{"acl", "acl-restrictions", "inherited-acl-set"} {
		livePropIndex[xml.Name{Space: nsDAV, Local: local}].denied = func(res *resource) bool { return !res.canReadACL() }
	}
	register(nsDAV, "supported-report-set", notInAllprop, protected, func(s *server, res *resource) (string, bool) {
		switch res.t.kind {
		case kindCalendar:
			return calendarReports, true
		case kindObject:
			return objectReports, true
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
func (res *resource) storedProp(name xml.Name) (domain.Property, bool) {
	if res.t.kind != kindCalendar {
		return domain.Property{}, false
	}
	return res.cal.Prop(name.Space, name.Local)
}

// propValue resolves one property. A value a client set wins over a
// settable live property's default, and comes back with its element's
// attributes (RFC 4918 §4.3); protected properties are always computed.
func (s *server) propValue(res *resource, name xml.Name) (propEntry, bool) {
	lp := livePropIndex[name]
	if lp == nil || !lp.protected {
		if p, ok := res.storedProp(name); ok {
			return propEntry{space: p.Space, local: p.Local, inner: p.XML, attrs: p.Attrs}, true
		}
	}
	if lp != nil {
		if v, ok := lp.get(s, res); ok {
			return propEntry{space: name.Space, local: name.Local, inner: v}, true
		}
	}
	return propEntry{}, false
}

// propsFor answers a prop request for one resource, grouping found,
// missing and unreadable properties into their propstats, in that order.
func (s *server) propsFor(res *resource, names []xml.Name) []propstat {
	found := propstat{status: http.StatusOK}
	missing := propstat{status: http.StatusNotFound}
	denied := propstat{status: http.StatusForbidden, errInner: "<D:need-privileges/>"}
	for _, n := range names {
		if e, ok := s.propValue(res, n); ok {
			found.props = append(found.props, e)
		} else if lp := livePropIndex[n]; lp != nil && lp.denied != nil && lp.denied(res) {
			denied.props = append(denied.props, propEntry{space: n.Space, local: n.Local})
		} else {
			missing.props = append(missing.props, propEntry{space: n.Space, local: n.Local})
		}
	}
	return []propstat{found, missing, denied}
}

// allProps answers allprop (values) or propname (names only).
func (s *server) allProps(res *resource, namesOnly bool, include []xml.Name) []propstat {
	ps := propstat{status: http.StatusOK}
	add := func(e propEntry) {
		if namesOnly {
			e.inner, e.attrs = "", ""
		}
		ps.props = append(ps.props, e)
	}
	for _, lp := range liveProps {
		if !namesOnly && !lp.allprop && !containsName(include, lp.name) {
			continue
		}
		if e, ok := s.propValue(res, lp.name); ok {
			add(e)
		}
	}
	if res.t.kind == kindCalendar {
		for _, p := range res.cal.Props {
			if livePropIndex[xml.Name{Space: p.Space, Local: p.Local}] == nil {
				add(propEntry{space: p.Space, local: p.Local, inner: p.XML, attrs: p.Attrs})
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
