package domain

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
)

// ExpandObject renders an object as calendar-data with CALDAV:expand (RFC
// 4791 §9.6.5): every instance overlapping tr becomes its own component with
// a RECURRENCE-ID, its times in UTC (all-day instances stay DATE values),
// and no RRULE, RDATE or EXDATE; VTIMEZONEs go, since nothing refers to
// them any more. The output is deterministic (properties and parameters in
// name order), so replay reproduces it byte for byte.
func ExpandObject(obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) ([]byte, error) {
	out, err := expanded(obj, tr, floating, lim)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeComponent(&b, out)
	return b.Bytes(), nil
}

// expanded is ExpandObject's VCALENDAR before serialisation.
func expanded(obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) (*ical.Component, error) {
	ins, err := obj.Instances(tr, floating, lim)
	if err != nil {
		return nil, err
	}
	out := &ical.Component{Name: ical.CompCalendar, Props: obj.Calendar.Props}
	for _, in := range ins {
		out.Children = append(out.Children, expandInstance(in))
	}
	for _, c := range obj.Components {
		if c.Name == ical.CompFreeBusy {
			out.Children = append(out.Children, c)
		}
	}
	return out, nil
}

// expandInstance is the component of one instance, standing alone.
func expandInstance(in Instance) *ical.Component {
	c := &ical.Component{Name: in.Component.Name, Props: ical.Props{}, Children: in.Component.Children}
	for name, props := range in.Component.Props {
		switch name {
		case ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE",
			ical.PropRecurrenceID, ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue:
		default:
			c.Props[name] = props
		}
	}
	has := func(name string) bool { return in.Component.Props.Get(name) != nil }
	setTime := func(name string, t time.Time) {
		p := ical.NewProp(name)
		if in.Date {
			p.Params.Set(ical.ParamValue, string(ical.ValueDate))
			p.Value = t.Format("20060102")
		} else {
			p.Value = t.UTC().Format("20060102T150405Z")
		}
		c.Props.Set(p)
	}
	if has(ical.PropDateTimeStart) {
		setTime(ical.PropDateTimeStart, in.Start)
	}
	if has(ical.PropDateTimeEnd) {
		setTime(ical.PropDateTimeEnd, in.End)
	}
	if has(ical.PropDue) {
		setTime(ical.PropDue, in.End)
	}
	if !in.RecurrenceID.IsZero() {
		setTime(ical.PropRecurrenceID, in.RecurrenceID)
	}
	// A DURATION must still give this instance's end once DTSTART is in
	// UTC, where a day is always 24 hours. RFC 5545 §3.8.5.3 applies a
	// DURATION's days nominally, so P1D across a DST change lasts 23 or 25
	// hours; and an RDATE period sets its own length. Either way the exact
	// length is written instead.
	if p := in.Component.Props.Get(ical.PropDuration); p != nil && !in.Date && has(ical.PropDateTimeStart) {
		if d, err := parseDuration(p.Value); err != nil || !d.after(tval{wall: in.Start.UTC(), zone: UTCZone}).Equal(in.End) {
			c.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: formatDuration(in.End.Sub(in.Start))})
		}
	}
	return c
}

// formatDuration writes an exact duration (RFC 5545 §3.3.6) in hours,
// minutes and seconds, so that no reader takes it for nominal days.
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	s := int64(d / time.Second)
	out := sign + "PT"
	if h := s / 3600; h > 0 {
		out += strconv.FormatInt(h, 10) + "H"
	}
	if m := s / 60 % 60; m > 0 {
		out += strconv.FormatInt(m, 10) + "M"
	}
	if sec := s % 60; sec > 0 || s == 0 {
		out += strconv.FormatInt(sec, 10) + "S"
	}
	return out
}

// writeComponent serialises a component as RFC 5545 §3.1 content lines.
func writeComponent(b *bytes.Buffer, c *ical.Component) {
	writeLine(b, "BEGIN:"+c.Name)
	for _, name := range slices.Sorted(maps.Keys(c.Props)) {
		for _, p := range c.Props[name] {
			var line strings.Builder
			line.WriteString(p.Name)
			for _, pn := range slices.Sorted(maps.Keys(p.Params)) {
				line.WriteString(";" + pn + "=")
				for i, v := range p.Params[pn] {
					if i > 0 {
						line.WriteByte(',')
					}
					if strings.ContainsAny(v, ";:,") {
						v = `"` + v + `"`
					}
					line.WriteString(v)
				}
			}
			line.WriteString(":" + p.Value)
			writeLine(b, line.String())
		}
	}
	for _, ch := range c.Children {
		writeComponent(b, ch)
	}
	writeLine(b, "END:"+c.Name)
}

// writeLine folds at 75 octets without splitting a UTF-8 sequence (§3.1).
func writeLine(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(s[:cut] + "\r\n ")
		s = s[cut:]
		limit = 74
	}
	b.WriteString(s + "\r\n")
}
