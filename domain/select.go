package domain

import (
	"bytes"
	"slices"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
)

// DataSelection is what a CALDAV:calendar-data element of a REPORT asks
// for (RFC 4791 §9.6). The zero value asks for the object as stored.
type DataSelection struct {
	// Comp selects components and properties (§9.6.1); nil keeps all.
	Comp *CompSelection
	// Expand turns recurrences into their instances in the range (§9.6.5).
	Expand *TimeRange
	// LimitRecurrenceSet keeps the master and only the overrides that
	// matter to the range (§9.6.6).
	LimitRecurrenceSet *TimeRange
	// LimitFreeBusySet keeps only the FREEBUSY periods that overlap (§9.6.7).
	LimitFreeBusySet *TimeRange
}

// CompSelection is a CALDAV:comp of calendar-data.
type CompSelection struct {
	Name     string
	AllProps bool
	Props    []PropSelection
	AllComps bool
	Comps    []CompSelection
}

// PropSelection is a CALDAV:prop of calendar-data. NoValue asks for the
// property with an empty value (§9.6.4 novalue="yes").
type PropSelection struct {
	Name    string
	NoValue bool
}

// IsZero reports whether the selection asks for the stored text unchanged,
// which is then served without parsing.
func (s DataSelection) IsZero() bool {
	return s.Comp == nil && s.Expand == nil && s.LimitRecurrenceSet == nil && s.LimitFreeBusySet == nil
}

// SelectCalendarData renders stored calendar data as sel asks. parse
// gives the data parsed; it is called only when sel needs it, so callers
// that keep parsed objects pass their cache and others ParseObject.
func SelectCalendarData(data []byte, parse func() (*Object, error), sel DataSelection, floating *time.Location, lim ExpandLimits) ([]byte, error) {
	if sel.IsZero() {
		return data, nil
	}
	obj, err := parse()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(data) + len(data)/4)
	if sel.Expand != nil && sel.Comp == nil && sel.LimitFreeBusySet == nil {
		if err := expandInto(&b, obj, *sel.Expand, floating, lim); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	cal := obj.Calendar.Component
	switch {
	case sel.Expand != nil:
		if cal, err = expanded(obj, *sel.Expand, floating, lim); err != nil {
			return nil, err
		}
	case sel.LimitRecurrenceSet != nil:
		if cal, err = limitRecurrenceSet(obj, *sel.LimitRecurrenceSet, floating, lim); err != nil {
			return nil, err
		}
	}
	if sel.LimitFreeBusySet != nil {
		cal = limitFreeBusy(cal, *sel.LimitFreeBusySet)
	}
	if sel.Comp != nil {
		cal = selectComponent(cal, *sel.Comp)
	}
	writeComponent(&b, cal)
	return b.Bytes(), nil
}

// limitRecurrenceSet keeps everything but the overrides whose instance
// neither starts nor ends in the range: a client told "only what matters
// to this window" still gets the master, so it can compute the rest.
func limitRecurrenceSet(obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) (*ical.Component, error) {
	ins, err := obj.Instances(tr, floating, lim)
	if err != nil {
		return nil, err
	}
	keep := map[*ical.Component]bool{}
	for _, in := range ins {
		keep[in.Component] = true
	}
	out := &ical.Component{Name: obj.Calendar.Name, Props: obj.Calendar.Props}
	for _, c := range obj.Calendar.Children {
		if c.Props.Get(ical.PropRecurrenceID) != nil && slices.Contains(obj.Components, c) && !keep[c] {
			continue
		}
		out.Children = append(out.Children, c)
	}
	return out, nil
}

// limitFreeBusy drops the FREEBUSY periods of VFREEBUSY components that do
// not overlap the range.
func limitFreeBusy(cal *ical.Component, tr TimeRange) *ical.Component {
	out := &ical.Component{Name: cal.Name, Props: cal.Props}
	for _, c := range cal.Children {
		if c.Name != ical.CompFreeBusy {
			out.Children = append(out.Children, c)
			continue
		}
		fb := &ical.Component{Name: c.Name, Props: ical.Props{}, Children: c.Children}
		for name, props := range c.Props {
			if name != ical.PropFreeBusy {
				fb.Props[name] = props
				continue
			}
			for _, p := range props {
				if periodsOverlap(p.Value, tr) {
					fb.Props[name] = append(fb.Props[name], p)
				}
			}
		}
		out.Children = append(out.Children, fb)
	}
	return out
}

// periodsOverlap reports whether any UTC period of a FREEBUSY value
// ("start/end" or "start/duration", comma-separated) overlaps tr. A value
// it cannot read is kept: dropping data the client asked about is worse
// than sending a period too many.
func periodsOverlap(value string, tr TimeRange) bool {
	for _, period := range strings.Split(value, ",") {
		startText, endText, ok := strings.Cut(period, "/")
		start, err := time.Parse("20060102T150405Z", startText)
		if !ok || err != nil {
			return true
		}
		end, err := time.Parse("20060102T150405Z", endText)
		if err != nil {
			d, derr := parseDuration(endText)
			if derr != nil {
				return true
			}
			end = start.AddDate(0, 0, d.days).Add(d.exact) // UTC: a day is 24 h
		}
		if tr.startLT(end) && tr.endGT(start) {
			return true
		}
	}
	return false
}

// selectComponent applies a CALDAV:comp selection to c (whose name the
// selection already matched).
func selectComponent(c *ical.Component, sel CompSelection) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: ical.Props{}}
	if sel.AllProps {
		out.Props = c.Props
	} else {
		for _, ps := range sel.Props {
			for _, p := range c.Props[strings.ToUpper(ps.Name)] {
				if ps.NoValue {
					p.Value = ""
				}
				out.Props[p.Name] = append(out.Props[p.Name], p)
			}
		}
	}
	for _, child := range c.Children {
		if sel.AllComps {
			out.Children = append(out.Children, child)
			continue
		}
		for _, cs := range sel.Comps {
			if strings.EqualFold(cs.Name, child.Name) {
				out.Children = append(out.Children, selectComponent(child, cs))
				break
			}
		}
	}
	return out
}
