package domain

import (
	"bytes"
	"slices"
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
	src := in.Component.Props
	c := &ical.Component{Name: in.Component.Name, Props: make(ical.Props, len(src)+1), Children: in.Component.Children}
	for name, props := range src {
		switch name {
		case ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE",
			ical.PropRecurrenceID, ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue:
		default:
			c.Props[name] = props
		}
	}
	times := make([]ical.Prop, 0, 4) // one allocation for all of them
	setTime := func(name string, t time.Time) {
		p := ical.Prop{Name: name}
		if in.Date {
			p.Params = ical.Params{ical.ParamValue: {string(ical.ValueDate)}}
			p.Value = t.Format("20060102")
		} else {
			p.Value = t.UTC().Format("20060102T150405Z")
		}
		times = append(times, p)
		c.Props[name] = times[len(times)-1 : len(times) : len(times)]
	}
	if src.Get(ical.PropDateTimeStart) != nil {
		setTime(ical.PropDateTimeStart, in.Start)
	}
	if src.Get(ical.PropDateTimeEnd) != nil {
		setTime(ical.PropDateTimeEnd, in.End)
	}
	if src.Get(ical.PropDue) != nil {
		setTime(ical.PropDue, in.End)
	}
	if !in.RecurrenceID.IsZero() {
		setTime(ical.PropRecurrenceID, in.RecurrenceID)
	}
	return c
}

// writeComponent serialises a component as RFC 5545 §3.1 content lines,
// properties and parameters in name order.
func writeComponent(b *bytes.Buffer, c *ical.Component) {
	w := contentWriter{out: b, line: make([]byte, 0, 256), names: make([]string, 0, 32)}
	w.component(c)
}

// contentWriter keeps the buffers that writing a component's lines needs,
// so that expanding hundreds of instances allocates for the output alone.
type contentWriter struct {
	out   *bytes.Buffer
	line  []byte
	names []string
}

func (w *contentWriter) component(c *ical.Component) {
	w.line = append(append(w.line[:0], "BEGIN:"...), c.Name...)
	w.endLine()
	w.names = w.names[:0]
	for name := range c.Props {
		w.names = append(w.names, name)
	}
	slices.Sort(w.names)
	// Children reuse names, so the properties are written first.
	for _, name := range w.names {
		for i := range c.Props[name] {
			w.prop(&c.Props[name][i])
		}
	}
	for _, ch := range c.Children {
		w.component(ch)
	}
	w.line = append(append(w.line[:0], "END:"...), c.Name...)
	w.endLine()
}

func (w *contentWriter) prop(p *ical.Prop) {
	w.line = append(w.line[:0], p.Name...)
	var buf [8]string
	params := buf[:0]
	for pn := range p.Params {
		params = append(params, pn)
	}
	slices.Sort(params)
	for _, pn := range params {
		w.line = append(append(append(w.line, ';'), pn...), '=')
		for i, v := range p.Params[pn] {
			if i > 0 {
				w.line = append(w.line, ',')
			}
			if strings.ContainsAny(v, ";:,") {
				w.line = append(append(append(w.line, '"'), v...), '"')
			} else {
				w.line = append(w.line, v...)
			}
		}
	}
	w.line = append(append(w.line, ':'), p.Value...)
	w.endLine()
}

// endLine writes the line, folded at 75 octets without splitting a UTF-8
// sequence (§3.1).
func (w *contentWriter) endLine() {
	s, limit := w.line, 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		w.out.Write(s[:cut])
		w.out.WriteString("\r\n ")
		s, limit = s[cut:], 74
	}
	w.out.Write(s)
	w.out.WriteString("\r\n")
}
