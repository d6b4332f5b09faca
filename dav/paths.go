package dav

import (
	"net/url"
	"strings"
)

// The URL layout. Everything a principal owns hangs under its home, so that
// authorization is a prefix decision, and names are kept free for what comes
// later: shared calendars mounted in a sharee's home, proxy principals under
// the principal (calendar-proxy-read/-write), schedule inbox/outbox and
// notifications as reserved names in the home (domain.ReservedCalendarNames).
//
//	/.well-known/caldav                  → redirect to /
//	/                                    root (context path)
//	/principals/ /principals/users/      principal collections
//	/principals/users/<name>/            a principal
//	/calendars/                          collection of homes
//	/calendars/<name>/                   a calendar home
//	/calendars/<name>/<calendar>/        a calendar
//	/calendars/<name>/<calendar>/<obj>   a calendar object resource
const (
	principalsPath = "/principals/"
	usersPath      = "/principals/users/"
	homesPath      = "/calendars/"
)

type kind int

const (
	kindUnknown kind = iota
	kindRoot
	kindPrincipals     // /principals/
	kindPrincipalUsers // /principals/users/
	kindPrincipal
	kindHomes // /calendars/
	kindHome
	kindCalendar
	kindObject
)

// target is a parsed request path.
type target struct {
	kind  kind
	owner string // principal name for principal, home, calendar, object
	cal   string
	obj   string
	// slash reports whether the path ended in "/": collections are
	// canonically written with one, objects without.
	slash bool
	// at is the as-of view the target is read in (asof.go); nil for the
	// live tree. Its hrefs, and those of its members, carry its prefix.
	at *asOfView
}

// parseTarget maps a decoded URL path to what it names. Segments are
// percent-decoded by net/url already; empty or dot segments are unknown.
func parseTarget(p string) target {
	slash := strings.HasSuffix(p, "/")
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		return target{kind: kindRoot, slash: true}
	}
	seg := strings.Split(trimmed, "/")
	for _, s := range seg {
		if s == "" || s == "." || s == ".." {
			return target{}
		}
	}
	t := target{slash: slash}
	switch seg[0] {
	case "principals":
		switch {
		case len(seg) == 1:
			t.kind = kindPrincipals
		case seg[1] != "users":
		case len(seg) == 2:
			t.kind = kindPrincipalUsers
		case len(seg) == 3:
			t.kind, t.owner = kindPrincipal, seg[2]
		}
	case "calendars":
		switch len(seg) {
		case 1:
			t.kind = kindHomes
		case 2:
			t.kind, t.owner = kindHome, seg[1]
		case 3:
			t.kind, t.owner, t.cal = kindCalendar, seg[1], seg[2]
		case 4:
			t.kind, t.owner, t.cal, t.obj = kindObject, seg[1], seg[2], seg[3]
		}
	}
	return t
}

// escapeSegment percent-encodes one path segment for an href.
func escapeSegment(s string) string { return url.PathEscape(s) }

func principalHref(name string) string { return usersPath + escapeSegment(name) + "/" }
func homeHref(owner string) string     { return homesPath + escapeSegment(owner) + "/" }
func calendarHref(owner, cal string) string {
	return homeHref(owner) + escapeSegment(cal) + "/"
}
func objectHref(owner, cal, obj string) string { return calendarHref(owner, cal) + escapeSegment(obj) }

// href is the canonical href of the target.
func (t target) href() string {
	if t.at != nil {
		return t.at.prefix() + t.liveHref()
	}
	return t.liveHref()
}

// member is the object named obj in calendar t, in the same tree.
func (t target) member(obj string) target {
	return target{kind: kindObject, owner: t.owner, cal: t.cal, obj: obj, at: t.at}
}

func (t target) liveHref() string {
	switch t.kind {
	case kindRoot:
		return "/"
	case kindPrincipals:
		return principalsPath
	case kindPrincipalUsers:
		return usersPath
	case kindPrincipal:
		return principalHref(t.owner)
	case kindHomes:
		return homesPath
	case kindHome:
		return homeHref(t.owner)
	case kindCalendar:
		return calendarHref(t.owner, t.cal)
	case kindObject:
		return objectHref(t.owner, t.cal, t.obj)
	}
	return ""
}

func (t target) isCollection() bool { return t.kind != kindObject && t.kind != kindUnknown }
