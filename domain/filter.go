package domain

import (
	"fmt"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Conditions a calendar-query or free-busy-query can break (RFC 4791 §7.8).
const (
	// SupportedCollation: a text-match names a collation Kalends lacks.
	SupportedCollation Condition = "supported-collation"
	// SupportedFilter: the filter uses an element where RFC 4791 gives it
	// no meaning (e.g. a time-range on a VTIMEZONE).
	SupportedFilter Condition = "supported-filter"
)

// The collations of RFC 4791 §7.5.1 (and RFC 5051's i;unicode-casemap).
const (
	CollationASCIICasemap   = "i;ascii-casemap"
	CollationOctet          = "i;octet"
	CollationUnicodeCasemap = "i;unicode-casemap"
)

// TimeRange is a CALDAV:time-range (RFC 4791 §9.9). A zero bound is open.
type TimeRange struct {
	Start, End time.Time
}

// The four comparisons of §9.9's tables, with open bounds always true.
func (tr TimeRange) startLE(x time.Time) bool { return tr.Start.IsZero() || !tr.Start.After(x) }
func (tr TimeRange) startLT(x time.Time) bool { return tr.Start.IsZero() || tr.Start.Before(x) }
func (tr TimeRange) endGT(x time.Time) bool   { return tr.End.IsZero() || tr.End.After(x) }
func (tr TimeRange) endGE(x time.Time) bool   { return tr.End.IsZero() || !tr.End.Before(x) }

// TextMatch is a CALDAV:text-match (RFC 4791 §9.7.5). Empty Collation means
// i;ascii-casemap.
type TextMatch struct {
	Value           string
	Collation       string
	NegateCondition bool
}

// ParamFilter is a CALDAV:param-filter (RFC 4791 §9.7.3).
type ParamFilter struct {
	Name         string
	IsNotDefined bool
	TextMatch    *TextMatch
}

// PropFilter is a CALDAV:prop-filter (RFC 4791 §9.7.2).
type PropFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	TextMatch    *TextMatch
	ParamFilters []ParamFilter
}

// CompFilter is a CALDAV:comp-filter (RFC 4791 §9.7.1). The filter of a
// calendar-query is one CompFilter named VCALENDAR.
type CompFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	PropFilters  []PropFilter
	CompFilters  []CompFilter
}

// CheckFilter refuses a filter Kalends cannot evaluate before any object is
// read, so that an empty calendar answers a bad query as a full one would.
func CheckFilter(f *CompFilter) error {
	return checkComp(f, true)
}

func checkComp(f *CompFilter, top bool) error {
	if top && !strings.EqualFold(f.Name, ical.CompCalendar) {
		return &PreconditionError{Condition: ValidFilter, Reason: "the filter must be a VCALENDAR comp-filter"}
	}
	if f.TimeRange != nil {
		if err := checkRange(*f.TimeRange); err != nil {
			return err
		}
		switch strings.ToUpper(f.Name) {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy, ical.CompAlarm:
		default:
			return &PreconditionError{Condition: SupportedFilter,
				Reason: "time-range on " + f.Name + " has no meaning (RFC 4791 §9.9)"}
		}
	}
	for i := range f.PropFilters {
		p := &f.PropFilters[i]
		if p.TimeRange != nil {
			if err := checkRange(*p.TimeRange); err != nil {
				return err
			}
		}
		if err := checkText(p.TextMatch); err != nil {
			return err
		}
		for _, pf := range p.ParamFilters {
			if err := checkText(pf.TextMatch); err != nil {
				return err
			}
		}
	}
	for i := range f.CompFilters {
		if err := checkComp(&f.CompFilters[i], false); err != nil {
			return err
		}
	}
	return nil
}

// ValidFilter is CALDAV:valid-filter (RFC 4791 §7.8): the filter is
// malformed, e.g. a time-range that ends before it starts.
const ValidFilter Condition = "valid-filter"

func checkRange(tr TimeRange) error {
	if !tr.Start.IsZero() && !tr.End.IsZero() && !tr.End.After(tr.Start) {
		return &PreconditionError{Condition: ValidFilter, Reason: "time-range end is not after its start"}
	}
	return nil
}

func checkText(tm *TextMatch) error {
	if tm == nil {
		return nil
	}
	switch tm.Collation {
	case "", CollationASCIICasemap, CollationOctet, CollationUnicodeCasemap:
		return nil
	}
	return &PreconditionError{Condition: SupportedCollation, Reason: "unsupported collation " + tm.Collation}
}

// MatchObject evaluates a calendar-query filter against one calendar object
// resource, exactly as RFC 4791 §9.7 defines it. floating reads floating
// times and DATE values (the query's timezone, else the calendar's, else
// nil for UTC). A recurring component matches a time-range when any of its
// instances overlaps it.
func MatchObject(obj *Object, filter *CompFilter, floating *time.Location, lim ExpandLimits) (bool, error) {
	if err := CheckFilter(filter); err != nil {
		return false, err
	}
	m := matcher{obj: obj, c: obj.ctx(floating), lim: lim}
	return m.compSet([]*ical.Component{obj.Calendar.Component}, filter, nil)
}

type matcher struct {
	obj *Object
	c   timeCtx
	lim ExpandLimits
}

// compSet: a comp-filter matches when one of the named components in
// candidates satisfies it, or, with is-not-defined, when none exists.
// parent is the enclosing component (for VALARM's times).
func (m matcher) compSet(candidates []*ical.Component, f *CompFilter, parent *ical.Component) (bool, error) {
	found := false
	for _, comp := range candidates {
		if !strings.EqualFold(comp.Name, f.Name) {
			continue
		}
		found = true
		if f.IsNotDefined {
			return false, nil
		}
		ok, err := m.comp(comp, f, parent)
		if err != nil || ok {
			return ok, err
		}
	}
	return f.IsNotDefined && !found, nil
}

func (m matcher) comp(comp *ical.Component, f *CompFilter, parent *ical.Component) (bool, error) {
	if f.TimeRange != nil {
		ok, err := m.compInRange(comp, *f.TimeRange, parent)
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range f.PropFilters {
		ok, err := m.prop(comp, &f.PropFilters[i])
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range f.CompFilters {
		ok, err := m.compSet(comp.Children, &f.CompFilters[i], comp)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// compInRange is §9.9 for one component.
func (m matcher) compInRange(comp *ical.Component, tr TimeRange, parent *ical.Component) (bool, error) {
	switch comp.Name {
	case ical.CompEvent, ical.CompToDo, ical.CompJournal:
		return m.anyInstance(comp, tr, func(Instance) bool { return true })
	case ical.CompFreeBusy:
		return m.freeBusyInRange(comp, tr)
	case ical.CompAlarm:
		if parent == nil {
			return false, nil
		}
		return m.alarmInRange(comp, parent, tr)
	}
	return false, nil
}

// anyInstance reports whether comp describes an instance overlapping tr
// that also satisfies ok.
func (m matcher) anyInstance(comp *ical.Component, tr TimeRange, ok func(Instance) bool) (bool, error) {
	hit := false
	err := m.obj.visit(m.c, tr, m.lim, func(in Instance) bool {
		hit = in.Component == comp && ok(in)
		return hit
	})
	return hit, err
}

// freeBusyInRange: a VFREEBUSY overlaps by DTSTART/DTEND when it has them,
// else by its FREEBUSY periods (§9.9).
func (m matcher) freeBusyInRange(comp *ical.Component, tr TimeRange) (bool, error) {
	start, hasStart, err := m.c.prop(comp, ical.PropDateTimeStart)
	if err != nil {
		return false, err
	}
	end, hasEnd, err := m.c.prop(comp, ical.PropDateTimeEnd)
	if err != nil {
		return false, err
	}
	if hasStart && hasEnd {
		return tr.startLE(end.instant()) && tr.endGT(start.instant()), nil
	}
	periods, err := m.c.freeBusyPeriods(comp)
	if err != nil {
		return false, err
	}
	for _, p := range periods {
		if tr.startLT(p.End) && tr.endGT(p.Start) {
			return true, nil
		}
	}
	return false, nil
}

// alarmInRange: a VALARM overlaps when one of its trigger times, repetitions
// included, falls in [start, end) (§9.9), for any instance of its parent.
func (m matcher) alarmInRange(alarm, parent *ical.Component, tr TimeRange) (bool, error) {
	trig := alarm.Props.Get(ical.PropTrigger)
	if trig == nil {
		return false, nil
	}
	var repeats []time.Duration
	repeats = append(repeats, 0)
	if rp, dp := alarm.Props.Get(ical.PropRepeat), alarm.Props.Get(ical.PropDuration); rp != nil && dp != nil {
		n, err := rp.Int()
		d, derr := parseDuration(dp.Value)
		if err == nil && derr == nil && n > 0 && n <= 1000 && !d.negative() {
			step := time.Duration(d.days)*24*time.Hour + d.exact
			for i := 1; i <= n; i++ {
				repeats = append(repeats, time.Duration(i)*step)
			}
		}
	}
	hits := func(t time.Time) bool {
		for _, r := range repeats {
			if at := t.Add(r); tr.startLE(at) && tr.endGT(at) {
				return true
			}
		}
		return false
	}
	absolute := strings.EqualFold(trig.Params.Get(ical.ParamValue), "DATE-TIME") ||
		(trig.Value != "" && trig.Value[0] >= '0' && trig.Value[0] <= '9')
	if absolute {
		at, err := m.c.value(trig.Value, trig.Params)
		if err != nil {
			return false, fmt.Errorf("TRIGGER: %w", err)
		}
		return hits(at.instant()), nil
	}
	if parent.Name != ical.CompEvent && parent.Name != ical.CompToDo {
		return false, nil // relative triggers need an event's or a to-do's times
	}
	d, err := parseDuration(trig.Value)
	if err != nil {
		return false, fmt.Errorf("TRIGGER: %w", err)
	}
	offset := time.Duration(d.days)*24*time.Hour + d.exact
	relEnd := strings.EqualFold(trig.Params.Get(ical.ParamRelated), "END")
	// An alarm at base+offset+repeat lies in tr exactly when base lies in
	// tr moved back by offset (and by the repetitions); an instance whose
	// start or end is such a base overlaps that window, give or take the
	// boundary second.
	window := tr
	if !window.Start.IsZero() {
		window.Start = window.Start.Add(-offset - repeats[len(repeats)-1] - time.Second)
	}
	if !window.End.IsZero() {
		window.End = window.End.Add(-offset + time.Second)
	}
	return m.anyInstance(parent, window, func(in Instance) bool {
		// RELATED=START on a VTODO without DTSTART falls back to DUE, as
		// RFC 4791 Appendix B's Task #2 example expects.
		base := in.Start
		if relEnd {
			base = in.End
		}
		return hits(base.Add(offset))
	})
}

// prop: a prop-filter matches when one of the named properties satisfies
// its time-range, text-match and param-filters, or, with is-not-defined,
// when none exists (§9.7.2).
func (m matcher) prop(comp *ical.Component, f *PropFilter) (bool, error) {
	props := comp.Props.Values(strings.ToUpper(f.Name))
	if f.IsNotDefined {
		return len(props) == 0, nil
	}
	for i := range props {
		p := &props[i]
		if f.TimeRange != nil {
			ok, err := m.propInRange(p, *f.TimeRange)
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
		}
		if f.TextMatch != nil && !f.TextMatch.matches(unescapeText(p.Value)) {
			continue
		}
		if paramsMatch(p, f.ParamFilters) {
			return true, nil
		}
	}
	return false, nil
}

// propInRange: a date property lies in a time-range when one of its values
// does — a DATE-TIME at an instant in [start, end), a DATE as its whole day,
// a PERIOD as its span.
func (m matcher) propInRange(p *ical.Prop, tr TimeRange) (bool, error) {
	for _, v := range strings.Split(p.Value, ",") {
		startText, endText, isPeriod := strings.Cut(v, "/")
		st, err := m.c.value(startText, p.Params)
		if err != nil {
			return false, nil // not a date property: nothing to place in time
		}
		start := st.instant()
		end := start
		switch {
		case isPeriod:
			if end, err = m.c.periodEnd(st, endText, p.Params); err != nil {
				return false, err
			}
		case st.date:
			end = duration{days: 1}.after(st)
		}
		if end.After(start) {
			if tr.startLT(end) && tr.endGT(start) {
				return true, nil
			}
		} else if tr.startLE(start) && tr.endGT(start) {
			return true, nil
		}
	}
	return false, nil
}

func paramsMatch(p *ical.Prop, filters []ParamFilter) bool {
	for _, f := range filters {
		values := p.Params.Values(f.Name)
		if f.IsNotDefined {
			if len(values) > 0 {
				return false
			}
			continue
		}
		if len(values) == 0 {
			return false
		}
		if f.TextMatch == nil {
			continue
		}
		ok := false
		for _, v := range values {
			if f.TextMatch.matches(v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matches is a substring match under the collation (RFC 4791 §9.7.5, RFC
// 4790 §9.2 and §9.3, RFC 5051), negated when asked.
func (tm *TextMatch) matches(text string) bool {
	var ok bool
	switch tm.Collation {
	case CollationOctet:
		ok = strings.Contains(text, tm.Value)
	case CollationUnicodeCasemap:
		ok = strings.Contains(unicodeCasemap(text), unicodeCasemap(tm.Value))
	default:
		ok = strings.Contains(asciiLower(text), asciiLower(tm.Value))
	}
	return ok != tm.NegateCondition
}

// asciiLower folds only A-Z, as i;ascii-casemap requires: other letters are
// compared octet by octet.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// unicodeCasemap is RFC 5051's canonicalisation: case-fold, then
// compatibility decomposition, so that "Straße" contains "STRASSE" and "é"
// matches "e\u0301".
func unicodeCasemap(s string) string {
	return norm.NFKD.String(cases.Fold().String(s))
}

// unescapeText undoes RFC 5545 §3.3.11 TEXT escaping, so a text-match sees
// "a, b" where the data says "a\, b".
func unescapeText(v string) string {
	if !strings.Contains(v, "\\") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			if v[i] == 'n' || v[i] == 'N' {
				b.WriteByte('\n')
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
