package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"slices"
	"strings"

	ical "github.com/emersion/go-ical"
)

// A whole calendar travels as one VCALENDAR (an export, a published .ics,
// CommuniGate-style publish/subscribe), but CalDAV stores one resource per
// UID (RFC 4791 §4.1). SplitCalendar cuts the one into the many and
// MergeCalendar joins them back; both write with writeComponent, so the
// same input always gives the same bytes, hence the same ETags, and an
// export re-imported elsewhere exports identically.

// SplitObject is one calendar object resource cut from a whole calendar:
// every component sharing a UID (a master and its overrides, or whatever
// else carries that UID) with the VTIMEZONEs they refer to.
type SplitObject struct {
	// UID is "" for a component without one: it stands alone, and
	// validation refuses it like a PUT would.
	UID  string
	Data []byte
}

// SplitCalendar cuts one VCALENDAR into one object per UID, in the order
// UIDs first appear. Nothing is validated beyond parsing: each object is
// meant to be decided like a PUT (DecidePutObject), so that an import
// refuses exactly what a client's PUT would.
//
// The objects keep the calendar's properties except METHOD, which a stored
// object must not have (a published feed says METHOD:PUBLISH), and the
// X-WR-* ones, which describe the whole calendar, not one object.
// Top-level components that make no object (X- and unknown ones) are
// dropped, as they belong to no UID.
func SplitCalendar(data []byte) ([]SplitObject, error) {
	cal, err := parseCalendar(data)
	if err != nil {
		return nil, err
	}
	props := ical.Props{}
	for name, ps := range cal.Props {
		if name != "METHOD" && !strings.HasPrefix(name, "X-WR-") {
			props[name] = ps
		}
	}
	timezones := map[string]*ical.Component{}
	type group struct {
		uid   string
		comps []*ical.Component
	}
	var groups []*group
	byUID := map[string]*group{}
	for _, c := range cal.Children {
		switch {
		case c.Name == ical.CompTimezone:
			if tzid := c.Props.Get(ical.PropTimezoneID); tzid != nil && timezones[tzid.Value] == nil {
				timezones[tzid.Value] = c
			}
		case slices.Contains(CalendarComponents, c.Name):
			uid := ""
			if p := c.Props.Get(ical.PropUID); p != nil {
				uid = p.Value
			}
			g := byUID[uid]
			if g == nil || uid == "" {
				g = &group{uid: uid}
				groups = append(groups, g)
				byUID[uid] = g
			}
			g.comps = append(g.comps, c)
		}
	}
	objects := make([]SplitObject, len(groups))
	for i, g := range groups {
		out := &ical.Component{Name: ical.CompCalendar, Props: props}
		for _, tzid := range referencedTZIDs(g.comps) {
			if tz := timezones[tzid]; tz != nil {
				out.Children = append(out.Children, tz)
			}
		}
		out.Children = append(out.Children, g.comps...)
		var b bytes.Buffer
		writeComponent(&b, out)
		objects[i] = SplitObject{UID: g.uid, Data: b.Bytes()}
	}
	return objects, nil
}

// referencedTZIDs are the TZID parameters used in comps and their
// subcomponents, sorted.
func referencedTZIDs(comps []*ical.Component) []string {
	seen := map[string]bool{}
	var walk func(cs []*ical.Component)
	walk = func(cs []*ical.Component) {
		for _, c := range cs {
			for _, ps := range c.Props {
				for _, p := range ps {
					for _, tzid := range p.Params[ical.PropTimezoneID] {
						seen[tzid] = true
					}
				}
			}
			walk(c.Children)
		}
	}
	walk(comps)
	return slices.Sorted(maps.Keys(seen))
}

// ExportProdID is the PRODID of a whole calendar written by MergeCalendar.
const ExportProdID = "-//Kalends//Kalends//EN"

// MergeCalendar joins stored objects, in the order given, into one
// VCALENDAR: each VTIMEZONE once (the first object's definition of a TZID
// wins; they are in TZID order ahead of the components), then every
// object's components. displayName, when not "", becomes X-WR-CALNAME, the
// name subscribers show.
func MergeCalendar(displayName string, objects []string) ([]byte, error) {
	out := &ical.Component{Name: ical.CompCalendar, Props: ical.Props{}}
	for _, p := range [][2]string{{ical.PropVersion, "2.0"}, {ical.PropProductID, ExportProdID}, {"X-WR-CALNAME", displayName}} {
		if p[1] != "" {
			prop := ical.NewProp(p[0])
			prop.SetText(p[1])
			// An X- property's type is TEXT anyway; VALUE=TEXT is noise.
			prop.Params.Del(ical.ParamValue)
			out.Props.Set(prop)
		}
	}
	timezones := map[string]*ical.Component{}
	var comps []*ical.Component
	for _, data := range objects {
		cal, err := parseCalendar([]byte(data))
		if err != nil {
			return nil, err
		}
		for _, c := range cal.Children {
			if c.Name != ical.CompTimezone {
				comps = append(comps, c)
				continue
			}
			if tzid := c.Props.Get(ical.PropTimezoneID); tzid != nil && timezones[tzid.Value] == nil {
				timezones[tzid.Value] = c
			}
		}
	}
	for _, tzid := range slices.Sorted(maps.Keys(timezones)) {
		out.Children = append(out.Children, timezones[tzid])
	}
	out.Children = append(out.Children, comps...)
	var b bytes.Buffer
	writeComponent(&b, out)
	return b.Bytes(), nil
}

// plainUID is a UID that can serve as a resource name as it is.
var plainUID = regexp.MustCompile(`^[A-Za-z0-9@_-][A-Za-z0-9@._-]{0,199}$`)

// ObjectNameForUID is the resource name an imported object gets when its
// UID is new to the calendar: the UID itself plus ".ics" where that is a
// plain name (as clients name their own objects), else a hash of it, since
// UIDs may hold slashes and anything else. Deterministic, so that the same
// file imported into two calendars gives the same names.
func ObjectNameForUID(uid string) string {
	if plainUID.MatchString(uid) {
		return uid + ".ics"
	}
	return HashedObjectName(uid)
}

// HashedObjectName is the name for uid that never depends on its
// spelling: the fallback when ObjectNameForUID's name is held by another
// UID.
func HashedObjectName(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:16]) + ".ics"
}
