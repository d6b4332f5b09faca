package domain

import (
	"bytes"
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
//
// It writes exactly what writeComponent writes of expanded's VCALENDAR,
// but copies each instance's unchanged properties and subcomponents from
// its component's rendering instead of building and sorting a component
// per instance: an expanded answer is mostly such copies.
func ExpandObject(obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) ([]byte, error) {
	var b bytes.Buffer
	if err := expandInto(&b, obj, tr, floating, lim); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func expandInto(b *bytes.Buffer, obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) error {
	ins, err := obj.Instances(tr, floating, lim)
	if err != nil {
		return err
	}
	w := newContentWriter(b)
	w.begin(ical.CompCalendar)
	w.props(obj.Calendar.Props)
	rendered := map[*ical.Component]*rendering{}
	for _, in := range ins {
		r := rendered[in.Component]
		if r == nil {
			r = obj.rendering(in.Component)
			rendered[in.Component] = r
		}
		w.instance(in, r)
	}
	for _, c := range obj.Components {
		if c.Name == ical.CompFreeBusy {
			w.component(c)
		}
	}
	w.end(ical.CompCalendar)
	return nil
}

// expanded is ExpandObject's VCALENDAR as a component, for selections that
// go on to filter it.
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
		if !replacedInInstance(name) {
			c.Props[name] = props
		}
	}
	var buf [4]instanceTime
	for _, t := range in.times(buf[:0]) {
		p := ical.Prop{Name: t.name, Value: string(in.appendTime(nil, t.at))}
		if in.Date {
			p.Params = ical.Params{ical.ParamValue: {string(ical.ValueDate)}}
		}
		c.Props[t.name] = []ical.Prop{p}
	}
	if d, ok := in.exactDuration(); ok {
		c.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: d})
	}
	return c
}

// exactDuration is the DURATION an expanded instance must carry instead of
// its component's, if any. Once DTSTART is in UTC a day is always 24 hours,
// while RFC 5545 §3.8.5.3 applies a DURATION's days nominally, so P1D
// across a DST change lasts 23 or 25 hours; and an RDATE period sets its
// own length. Either way the exact length is written instead.
func (in Instance) exactDuration() (string, bool) {
	p := in.Component.Props.Get(ical.PropDuration)
	if p == nil || in.Date || in.Component.Props.Get(ical.PropDateTimeStart) == nil {
		return "", false
	}
	if d, err := parseDuration(p.Value); err == nil && d.after(tval{wall: in.Start.UTC(), zone: UTCZone}).Equal(in.End) {
		return "", false
	}
	return formatDuration(in.End.Sub(in.Start)), true
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

// replacedInInstance reports the properties an expanded instance does not
// take from its component: the recurrence, and the times it sets anew.
func replacedInInstance(name string) bool {
	switch name {
	case ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE",
		ical.PropRecurrenceID, ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue:
		return true
	}
	return false
}

type instanceTime struct {
	name string
	at   time.Time
}

// times appends the times an expanded instance sets, in name order: those
// its component has, and the RECURRENCE-ID of a recurring one.
func (in Instance) times(out []instanceTime) []instanceTime {
	src := in.Component.Props
	// DTEND < DTSTART < DUE < RECURRENCE-ID
	if src.Get(ical.PropDateTimeEnd) != nil {
		out = append(out, instanceTime{ical.PropDateTimeEnd, in.End})
	}
	if src.Get(ical.PropDateTimeStart) != nil {
		out = append(out, instanceTime{ical.PropDateTimeStart, in.Start})
	}
	if src.Get(ical.PropDue) != nil {
		out = append(out, instanceTime{ical.PropDue, in.End})
	}
	if !in.RecurrenceID.IsZero() {
		out = append(out, instanceTime{ical.PropRecurrenceID, in.RecurrenceID})
	}
	return out
}

// appendTime appends t as an expanded instance writes it: a DATE for an
// all-day instance, else a UTC DATE-TIME.
func (in Instance) appendTime(b []byte, t time.Time) []byte {
	if in.Date {
		return t.AppendFormat(b, "20060102")
	}
	return t.UTC().AppendFormat(b, "20060102T150405Z")
}

// rendering is a component's properties and subcomponents as content
// lines, for copying into each of its expanded instances.
type rendering struct {
	names    []string // property names, in order
	lines    [][]byte // lines[i]: every property named names[i]
	children []byte
}

func render(c *ical.Component) *rendering {
	var b bytes.Buffer
	w := newContentWriter(&b)
	r := &rendering{names: appendSortedNames(nil, c.Props)}
	ends := make([]int, len(r.names))
	for i, name := range r.names {
		for j := range c.Props[name] {
			w.prop(&c.Props[name][j])
		}
		ends[i] = b.Len()
	}
	for _, ch := range c.Children {
		w.component(ch)
	}
	all, from := b.Bytes(), 0
	r.lines = make([][]byte, len(r.names))
	for i, end := range ends {
		r.lines[i], from = all[from:end:end], end
	}
	r.children = all[from:]
	return r
}

// instance writes one expanded instance: its component's rendering with
// the recurrence left out and the instance's times merged in, in order.
func (w *contentWriter) instance(in Instance, r *rendering) {
	w.begin(in.Component.Name)
	var buf [4]instanceTime
	times := in.times(buf[:0])
	exact, _ := in.exactDuration()
	for i, name := range r.names {
		for len(times) > 0 && times[0].name < name {
			w.time(in, times[0])
			times = times[1:]
		}
		switch {
		case replacedInInstance(name):
		case name == ical.PropDuration && exact != "":
			w.line = append(append(w.line[:0], "DURATION:"...), exact...)
			w.endLine()
		default:
			w.out.Write(r.lines[i])
		}
	}
	for _, t := range times {
		w.time(in, t)
	}
	w.out.Write(r.children)
	w.end(in.Component.Name)
}

// writeComponent serialises a component as RFC 5545 §3.1 content lines,
// properties and parameters in name order.
func writeComponent(b *bytes.Buffer, c *ical.Component) {
	newContentWriter(b).component(c)
}

// contentWriter keeps the buffer that writing a line needs, so that
// expanding hundreds of instances allocates for the output alone.
type contentWriter struct {
	out  *bytes.Buffer
	line []byte
}

func newContentWriter(b *bytes.Buffer) *contentWriter {
	return &contentWriter{out: b, line: make([]byte, 0, 256)}
}

func (w *contentWriter) component(c *ical.Component) {
	w.begin(c.Name)
	w.props(c.Props)
	for _, ch := range c.Children {
		w.component(ch)
	}
	w.end(c.Name)
}

// time writes an instance's time as expandInstance's property of it
// would be written.
func (w *contentWriter) time(in Instance, t instanceTime) {
	w.line = append(w.line[:0], t.name...)
	if in.Date {
		w.line = append(w.line, ";VALUE=DATE"...)
	}
	w.line = in.appendTime(append(w.line, ':'), t.at)
	w.endLine()
}

func (w *contentWriter) begin(name string) {
	w.line = append(append(w.line[:0], "BEGIN:"...), name...)
	w.endLine()
}

func (w *contentWriter) end(name string) {
	w.line = append(append(w.line[:0], "END:"...), name...)
	w.endLine()
}

func (w *contentWriter) props(props ical.Props) {
	var buf [32]string
	for _, name := range appendSortedNames(buf[:0], props) {
		for i := range props[name] {
			w.prop(&props[name][i])
		}
	}
}

func appendSortedNames(names []string, props ical.Props) []string {
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
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
