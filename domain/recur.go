package domain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	ical "github.com/emersion/go-ical"
)

// MaxInstances is the Condition of an expansion that would examine more
// recurrence instances than ExpandLimits allow (RFC 4791 §5.2.8
// max-instances).
const MaxInstances Condition = "max-instances"

// DefaultMaxInstances is the max-instances a server advertises when it sets
// no other: enough for a daily event over 25 years, or an hourly one over a
// year, in a single window.
const DefaultMaxInstances = 10000

// ExpandLimits bound the work of one expansion.
type ExpandLimits struct {
	// MaxInstances caps the recurrence instances examined for one object in
	// one window (0 means DefaultMaxInstances). Exceeding it is a
	// *PreconditionError with Condition MaxInstances.
	MaxInstances int
}

func (l ExpandLimits) max() int {
	if l.MaxInstances <= 0 {
		return DefaultMaxInstances
	}
	return l.MaxInstances
}

// Object is one calendar object resource (RFC 4791 §4.1) ready for time
// evaluation: every component of its one UID — a master and/or overrides —
// with the TZIDs they use already resolved. An Object is read-only after
// NewObject, so one may be shared by concurrent queries.
type Object struct {
	Calendar *ical.Calendar
	// Components are the object's VEVENT, VTODO, VJOURNAL and VFREEBUSY
	// components, in document order.
	Components []*ical.Component
	zones      map[string]*Zone // TZID → zone; nil for a TZID nothing defines

	memo *objectMemo // nil unless Remember was called
}

// ParseObject parses iCalendar text into an Object.
func ParseObject(data []byte) (*Object, error) {
	dec, done := newDecoder(data)
	cal, err := decodeNext(dec)
	done()
	if err != nil {
		return nil, fmt.Errorf("domain: parse calendar object: %w", err)
	}
	return NewObject(cal), nil
}

// ParseTiming parses only what places data's components in time: the
// component structure and the properties of timingProps, dropping every
// other content line before the iCalendar parser sees it. The Object
// answers Instances and BusyOfInstances exactly as ParseObject's would (a
// test holds the two to that) at a fraction of the cost, since descriptive
// text (SUMMARY, DESCRIPTION, ATTENDEE, X- properties) is most of a typical
// object. It is for indexing; anything that renders or filters on other
// properties needs ParseObject.
func ParseTiming(data []byte) (*Object, error) {
	return ParseObject(timingLines(data))
}

// timingProps are the properties that instance and busy-time evaluation
// reads, in components, overrides, alarms and VTIMEZONEs. Whoever makes
// that code read another property adds it here.
var timingProps = map[string]bool{
	"BEGIN": true, "END": true, "VERSION": true, "PRODID": true, "UID": true,
	"DTSTART": true, "DTEND": true, "DURATION": true, "DUE": true,
	"RRULE": true, "RDATE": true, "EXDATE": true, "EXRULE": true, "RECURRENCE-ID": true,
	"STATUS": true, "TRANSP": true, "FREEBUSY": true, "COMPLETED": true, "CREATED": true,
	"TRIGGER": true, "REPEAT": true,
	"TZID": true, "TZOFFSETFROM": true, "TZOFFSETTO": true,
}

// timingLines keeps data's content lines whose property is in timingProps,
// with their folded continuations. Lines split as go-ical splits them: at
// LF, a line starting with a space or tab continuing the one before.
func timingLines(data []byte) []byte {
	out := make([]byte, 0, len(data)/2)
	keep := false
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if line[0] != ' ' && line[0] != '\t' {
			name := line
			if i := bytes.IndexAny(line, ";:"); i >= 0 {
				name = line[:i]
			} else {
				name = foldedName(line, data)
			}
			// Property names are case-insensitive but nearly always sent
			// upper-case: convert only the rare other ones.
			keep = timingProps[string(name)] ||
				bytes.ContainsFunc(name, unicode.IsLower) && timingProps[strings.ToUpper(string(name))]
		}
		if keep {
			out = append(out, line...)
		}
	}
	return out
}

// foldedName is the name of a content line whose first line, line, holds
// no ';' or ':': folding may split a name anywhere, and go-ical reads it
// from the line unfolded (rest holds the lines after line).
func foldedName(line, rest []byte) []byte {
	name := append([]byte(nil), trimEOL(line)...)
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		next := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			next = rest[:i+1]
		}
		rest = rest[len(next):]
		if i := bytes.IndexAny(next[1:], ";:"); i >= 0 {
			return append(name, next[1:1+i]...)
		}
		name = append(name, trimEOL(next[1:])...)
	}
	return name
}

// trimEOL drops a line's end as bufio.Reader.ReadLine does.
func trimEOL(line []byte) []byte {
	if l, ok := bytes.CutSuffix(line, []byte("\n")); ok {
		return bytes.TrimSuffix(l, []byte("\r"))
	}
	return line
}

// NewObject indexes a parsed calendar object.
func NewObject(cal *ical.Calendar) *Object {
	o := &Object{Calendar: cal, zones: map[string]*Zone{}}
	var vtz []*ical.Component
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
			o.Components = append(o.Components, c)
		case ical.CompTimezone:
			vtz = append(vtz, c)
		}
	}
	var walk func(c *ical.Component)
	walk = func(c *ical.Component) {
		for _, props := range c.Props {
			for _, p := range props {
				if id := p.Params.Get(ical.PropTimezoneID); id != "" {
					if _, done := o.zones[id]; !done {
						o.zones[id], _ = ResolveTZID(id, vtz)
					}
				}
			}
		}
		for _, ch := range c.Children {
			walk(ch)
		}
	}
	for _, c := range o.Components {
		walk(c)
	}
	return o
}

// tval is a DATE or DATE-TIME value bound to the zone that reads it.
type tval struct {
	wall time.Time // wall-as-UTC
	zone *Zone
	date bool
}

func (v tval) instant() time.Time { return v.zone.Instant(v.wall) }

// timeCtx evaluates one object's values with a floating-time zone: the
// query's or calendar's timezone (RFC 4791 §9.8 and §5.2.2) for values with
// no TZID and no Z, and for DATE values.
type timeCtx struct {
	obj      *Object
	floating *Zone
}

func (o *Object) ctx(floating *time.Location) timeCtx {
	return timeCtx{obj: o, floating: ZoneOf(floating)}
}

// value reads one DATE or DATE-TIME text with the parameters of its
// property. A TZID that nothing defines is read as floating rather than
// failing the whole query: such data can only predate validation.
func (c timeCtx) value(text string, params ical.Params) (tval, error) {
	wall, utc, err := parseWall(text)
	if err != nil {
		return tval{}, err
	}
	v := tval{wall: wall, zone: c.floating, date: len(strings.TrimSpace(text)) == 8}
	switch {
	case utc:
		v.zone = UTCZone
	case v.date:
	default:
		if id := params.Get(ical.PropTimezoneID); id != "" {
			if z := c.obj.zones[id]; z != nil {
				v.zone = z
			}
		}
	}
	return v, nil
}

// prop reads a single-valued date property; ok is false when it is absent.
func (c timeCtx) prop(comp *ical.Component, name string) (v tval, ok bool, err error) {
	p := comp.Props.Get(name)
	if p == nil {
		return tval{}, false, nil
	}
	v, err = c.value(p.Value, p.Params)
	if err != nil {
		return tval{}, false, fmt.Errorf("%s: %w", name, err)
	}
	return v, true, nil
}

// duration is an RFC 5545 §3.3.6 duration: days and weeks are nominal (a day
// is the same clock time on the next date, 23 or 25 hours across DST), the
// time part is exact.
type duration struct {
	days  int
	exact time.Duration
}

func (d duration) after(v tval) time.Time {
	if d.days == 0 {
		return v.instant().Add(d.exact)
	}
	// Days count from the clock reading the start really has: a start in
	// a DST gap is read later (RFC 5545 §3.3.5, and §3.3.10 for rule
	// instances), so P1D from 02:30 on a spring-forward night starts at
	// 03:30 and ends at 03:30 the next day. A DATE keeps its midnight.
	wall := v.wall
	if !v.date {
		wall = v.zone.Wall(v.instant())
	}
	return v.zone.Instant(wall.AddDate(0, 0, d.days)).Add(d.exact)
}

func (d duration) negative() bool { return d.days < 0 || (d.days == 0 && d.exact < 0) }

func parseDuration(s string) (duration, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	var d duration
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return d, fmt.Errorf("bad duration %q", s)
	}
	s = s[1:]
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return d, fmt.Errorf("bad duration %q", s)
		}
		n := 0
		for _, ch := range s[:i] {
			n = n*10 + int(ch-'0')
		}
		switch unit := s[i]; {
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.exact += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.exact += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d.exact += time.Duration(n) * time.Second
		default:
			return d, fmt.Errorf("bad duration unit %q", unit)
		}
		s = s[i+1:]
	}
	if neg {
		d.days, d.exact = -d.days, -d.exact
	}
	return d, nil
}

// endKind says where an instance's end came from, because RFC 4791 §9.9
// tests a VTODO's DUE and its DURATION differently.
type endKind uint8

const (
	endNone     endKind = iota // no end: a zero-length instance
	endDTEnd                   // DTEND, DURATION, or the implied day of a DATE VEVENT/VJOURNAL
	endDue                     // VTODO DUE
	endDuration                // VTODO DURATION
)

// span is how long a component's instances last.
type span struct {
	kind  endKind
	exact time.Duration // DTEND/DUE: the same exact duration for every instance (§3.8.5.3)
	nom   *duration     // DURATION: the same nominal duration
}

func (s span) end(start tval) time.Time {
	if s.nom != nil {
		return s.nom.after(start)
	}
	return start.instant().Add(s.exact)
}

// spanOf applies RFC 4791 §9.9 and RFC 5545 §3.6.1: DTEND (or DUE) gives the
// exact duration, DURATION the nominal one; with neither, a DATE VEVENT or
// VJOURNAL lasts one day and anything else takes no time.
func (c timeCtx) spanOf(comp *ical.Component, start tval) (span, error) {
	endName := ical.PropDateTimeEnd
	kind := endDTEnd
	if comp.Name == ical.CompToDo {
		endName, kind = ical.PropDue, endDue
	}
	end, ok, err := c.prop(comp, endName)
	if err != nil {
		return span{}, err
	}
	if ok {
		if start.date && end.date {
			days := int(end.wall.Sub(start.wall) / (24 * time.Hour))
			return span{kind: kind, nom: &duration{days: days}}, nil
		}
		return span{kind: kind, exact: end.instant().Sub(start.instant())}, nil
	}
	if p := comp.Props.Get(ical.PropDuration); p != nil {
		d, err := parseDuration(p.Value)
		if err != nil {
			return span{}, fmt.Errorf("DURATION: %w", err)
		}
		if comp.Name == ical.CompToDo {
			kind = endDuration
		}
		return span{kind: kind, nom: &d}, nil
	}
	if start.date && (comp.Name == ical.CompEvent || comp.Name == ical.CompJournal) {
		return span{kind: endDTEnd, nom: &duration{days: 1}}, nil
	}
	return span{kind: endNone}, nil
}

// Instance is one occurrence of a calendar object resource.
type Instance struct {
	// Start and End are UTC. End equals Start for a zero-length instance.
	// For a VTODO without DTSTART, Start is its DUE.
	Start, End time.Time
	// RecurrenceID is the instance's original start (UTC): the
	// RECURRENCE-ID that names it. Zero for a component that does not recur.
	RecurrenceID time.Time
	// Date reports an all-day instance (DATE-valued DTSTART).
	Date bool
	// Component describes the instance: the master, or the override that
	// replaced it (possibly by RANGE=THISANDFUTURE).
	Component *ical.Component
	// Override is true when Component is a RECURRENCE-ID component.
	Override  bool
	kind      endKind
	startless bool // a VTODO without DTSTART
}

// overlaps applies RFC 4791 §9.9's time-range test to one instance.
func (in Instance) overlaps(tr TimeRange) bool {
	if in.Component.Name == ical.CompToDo {
		return todoOverlaps(in, tr)
	}
	if in.End.After(in.Start) {
		return tr.startLT(in.End) && tr.endGT(in.Start)
	}
	return tr.startLE(in.Start) && tr.endGT(in.Start)
}

// todoOverlaps is RFC 4791 §9.9's VTODO table, row by row.
func todoOverlaps(in Instance, tr TimeRange) bool {
	switch {
	case !in.startless && in.kind == endDuration:
		return tr.startLE(in.End) && (tr.endGT(in.Start) || tr.endGE(in.End))
	case !in.startless && in.kind == endDue:
		return (tr.startLT(in.End) || tr.startLE(in.Start)) && (tr.endGT(in.Start) || tr.endGE(in.End))
	case !in.startless:
		return tr.startLE(in.Start) && tr.endGT(in.Start)
	case in.kind == endDue:
		return tr.startLT(in.End) && tr.endGE(in.End)
	}
	completed, hasCompleted := utcProp(in.Component, ical.PropCompleted)
	created, hasCreated := utcProp(in.Component, ical.PropCreated)
	switch {
	case hasCompleted && hasCreated:
		return (tr.startLE(created) || tr.startLE(completed)) && (tr.endGE(created) || tr.endGE(completed))
	case hasCompleted:
		return tr.startLE(completed) && tr.endGE(completed)
	case hasCreated:
		return tr.endGT(created)
	}
	return true
}

// utcProp reads COMPLETED or CREATED, which RFC 5545 requires in UTC.
func utcProp(comp *ical.Component, name string) (time.Time, bool) {
	p := comp.Props.Get(name)
	if p == nil {
		return time.Time{}, false
	}
	t, _, err := parseWall(p.Value)
	return t, err == nil
}

// errInstances builds the max-instances refusal.
func errInstances(limit int) error {
	return &PreconditionError{Condition: MaxInstances,
		Reason: fmt.Sprintf("more than %d recurrence instances to examine", limit)}
}

// Instances returns the instances of o that overlap tr (RFC 4791 §9.9),
// sorted by start. floating reads floating and DATE values (nil is UTC).
func (o *Object) Instances(tr TimeRange, floating *time.Location, lim ExpandLimits) ([]Instance, error) {
	var out []Instance
	err := o.visit(o.ctx(floating), tr, lim, func(in Instance) bool {
		out = append(out, in)
		return false
	})
	slices.SortStableFunc(out, func(a, b Instance) int { return a.Start.Compare(b.Start) })
	return out, err
}

// visit calls fn with each instance overlapping tr, in no particular order,
// until fn returns true.
func (o *Object) visit(c timeCtx, tr TimeRange, lim ExpandLimits, fn func(Instance) bool) error {
	if ins, ok := o.memo.instances(o, c, tr, lim); ok {
		for _, in := range ins {
			if in.overlaps(tr) && fn(in) {
				return nil
			}
		}
		return nil
	}
	return o.expand(c, tr, lim, fn)
}

// ErrUnevaluable is what expanding an object returns when the recurrence
// engine fails on it, e.g. rrule-go indexing out of range for some rules
// from the year 0000. The object stays stored; it just has no instances to
// offer, and a panic there must not take a query, or the projector, down.
var ErrUnevaluable = errors.New("domain: the recurrence cannot be evaluated")

// expand is visit without the memo.
func (o *Object) expand(c timeCtx, tr TimeRange, lim ExpandLimits, fn func(Instance) bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrUnevaluable, p)
		}
	}()
	for _, group := range o.groups() {
		stop, err := c.visitGroup(group, tr, lim, fn)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// groups splits the components by type: a recurrence set is one type's
// master plus overrides (a well-formed object has one type and one UID).
func (o *Object) groups() [][]*ical.Component {
	var out [][]*ical.Component
	idx := map[string]int{}
	for _, c := range o.Components {
		i, ok := idx[c.Name]
		if !ok {
			i = len(out)
			idx[c.Name] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

// override is a RECURRENCE-ID component, read.
type override struct {
	comp   *ical.Component
	rid    time.Time // UTC
	future bool      // RANGE=THISANDFUTURE
	shift  time.Duration
	start  tval
	span   span
	hasDT  bool
}

func (c timeCtx) visitGroup(comps []*ical.Component, tr TimeRange, lim ExpandLimits, fn func(Instance) bool) (bool, error) {
	var master *ical.Component
	var ovs []override
	for _, comp := range comps {
		rid, ok, err := c.prop(comp, ical.PropRecurrenceID)
		if err != nil {
			return false, err
		}
		if !ok {
			if master == nil {
				master = comp
			}
			continue
		}
		ov := override{comp: comp, rid: rid.instant()}
		if p := comp.Props.Get(ical.PropRecurrenceID); strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE") {
			ov.future = true
		}
		if ov.start, ov.hasDT, err = c.prop(comp, ical.PropDateTimeStart); err != nil {
			return false, err
		}
		if ov.hasDT {
			if ov.span, err = c.spanOf(comp, ov.start); err != nil {
				return false, err
			}
			ov.shift = ov.start.instant().Sub(ov.rid)
		}
		ovs = append(ovs, ov)
	}
	// Every override is an instance in its own right, whether or not a
	// master exists (Apple sends invitations to single occurrences that way)
	// and wherever it moved its occurrence to.
	for _, ov := range ovs {
		in, err := c.single(ov.comp, ov.rid)
		if err != nil {
			return false, err
		}
		if in.overlaps(tr) && fn(in) {
			return true, nil
		}
	}
	if master == nil {
		return false, nil
	}
	return c.visitMaster(master, ovs, tr, lim, fn)
}

// single is the instance a non-recurring component (or an override) describes.
func (c timeCtx) single(comp *ical.Component, rid time.Time) (Instance, error) {
	in := Instance{Component: comp, RecurrenceID: rid, Override: !rid.IsZero()}
	start, ok, err := c.prop(comp, ical.PropDateTimeStart)
	if err != nil {
		return in, err
	}
	if !ok {
		// A VTODO may have only DUE; §9.9's table then works from DUE,
		// COMPLETED and CREATED, which todoOverlaps reads itself.
		in.startless = true
		if due, ok, err := c.prop(comp, ical.PropDue); err != nil {
			return in, err
		} else if ok {
			in.Start, in.End, in.kind = due.instant(), due.instant(), endDue
		}
		return in, nil
	}
	sp, err := c.spanOf(comp, start)
	if err != nil {
		return in, err
	}
	in.Start, in.End, in.Date, in.kind = start.instant(), sp.end(start), start.date, sp.kind
	return in, nil
}

func (c timeCtx) visitMaster(master *ical.Component, ovs []override, tr TimeRange, lim ExpandLimits, fn func(Instance) bool) (bool, error) {
	start, ok, err := c.prop(master, ical.PropDateTimeStart)
	if err != nil || !ok {
		// No DTSTART (a VTODO with only DUE): nothing can recur.
		in, err := c.single(master, time.Time{})
		if err != nil {
			return false, err
		}
		return in.overlaps(tr) && fn(in), nil
	}
	rrules := master.Props.Values(ical.PropRecurrenceRule)
	rdates := master.Props.Values(ical.PropRecurrenceDates)
	if len(rrules) == 0 && len(rdates) == 0 && len(ovs) == 0 {
		in, err := c.single(master, time.Time{})
		if err != nil {
			return false, err
		}
		return in.overlaps(tr) && fn(in), nil
	}
	sp, err := c.spanOf(master, start)
	if err != nil {
		return false, err
	}

	replaced := map[int64]bool{}
	var future []override // sorted by rid
	for _, ov := range ovs {
		replaced[ov.rid.Unix()] = true
		if ov.future && ov.hasDT {
			future = append(future, ov)
		}
	}
	sort.Slice(future, func(i, j int) bool { return future[i].rid.Before(future[j].rid) })

	// Which original starts can yield an instance overlapping tr: widen the
	// window by the longest instance and the largest THISANDFUTURE move,
	// plus two days for nominal days and DST.
	slack := 48 * time.Hour
	longest := time.Duration(0)
	spans := append([]span{sp}, spansOf(future)...)
	probe := start
	for _, s := range spans {
		longest = max(longest, s.end(probe).Sub(probe.instant()))
	}
	lo, hi := tr.Start, tr.End
	var maxShift, minShift time.Duration
	for _, f := range future {
		maxShift, minShift = max(maxShift, f.shift), min(minShift, f.shift)
	}
	if !lo.IsZero() {
		lo = lo.Add(-longest - maxShift - slack)
	}
	if !hi.IsZero() {
		hi = hi.Add(-minShift + slack)
	}

	exdates, err := c.exdates(master, start)
	if err != nil {
		return false, err
	}
	limit := lim.max()
	examined := 0
	seen := map[int64]bool{}
	emit := func(rid time.Time, st tval, sp span, periodEnd *time.Time) bool {
		// An RDATE may repeat DTSTART or an RRULE instance; the set has it once.
		if replaced[rid.Unix()] || seen[rid.Unix()] {
			return false
		}
		seen[rid.Unix()] = true
		if exdates.has(rid, st) {
			return false
		}
		in := Instance{Component: master, RecurrenceID: rid, Start: rid, Date: st.date, kind: sp.kind}
		in.End = sp.end(st)
		if periodEnd != nil {
			in.End = *periodEnd
		}
		// THISANDFUTURE (RFC 5545 §3.8.4.4): the latest such override at or
		// before this instance moves it and describes it.
		if i := sort.Search(len(future), func(i int) bool { return future[i].rid.After(rid) }); i > 0 {
			f := future[i-1]
			in.Component, in.Override, in.kind = f.comp, true, f.span.kind
			in.Start = rid.Add(f.shift)
			moved := tval{wall: st.zone.Wall(in.Start), zone: st.zone, date: st.date}
			in.End = f.span.end(moved)
		}
		return in.overlaps(tr) && fn(in)
	}

	// RDATEs first: few, explicit, each with its own zone or period.
	for _, p := range rdates {
		for _, v := range strings.Split(p.Value, ",") {
			examined++
			if examined > limit {
				return false, errInstances(limit)
			}
			startText, endText, isPeriod := strings.Cut(v, "/")
			st, err := c.value(startText, p.Params)
			if err != nil {
				return false, fmt.Errorf("RDATE: %w", err)
			}
			if isPeriod {
				end, err := c.periodEnd(st, endText, p.Params)
				if err != nil {
					return false, fmt.Errorf("RDATE: %w", err)
				}
				if emit(st.instant(), st, span{kind: endDTEnd}, &end) {
					return true, nil
				}
				continue
			}
			if emit(st.instant(), st, sp, nil) {
				return true, nil
			}
		}
	}

	// DTSTART and the RRULEs: their union (RFC 5545 allows one RRULE, RFC
	// 2445 many), each instance once.
	var fromWall, toWall time.Time
	if !lo.IsZero() {
		fromWall = start.zone.Wall(lo)
	}
	if !hi.IsZero() {
		toWall = start.zone.Wall(hi)
	}
	iters := []wallIter{once(start.wall)}
	if len(rrules) > 0 {
		iters = iters[:0]
	}
	for _, p := range rrules {
		r, err := parseRRule(p.Value)
		if err != nil {
			return false, err
		}
		it, err := r.iterate(start.zone, start.wall, fromWall, toWall)
		if err != nil {
			return false, err
		}
		iters = append(iters, it)
	}
	for _, it := range iters {
		for wall, ok := it(); ok; wall, ok = it() {
			st := tval{wall: wall, zone: start.zone, date: start.date}
			rid := st.instant()
			if !hi.IsZero() && !rid.Before(hi) {
				break
			}
			examined++
			if examined > limit {
				return false, errInstances(limit)
			}
			if !lo.IsZero() && rid.Before(lo) {
				continue
			}
			if emit(rid, st, sp, nil) {
				return true, nil
			}
		}
	}
	return false, nil
}

func spansOf(ovs []override) []span {
	out := make([]span, len(ovs))
	for i, o := range ovs {
		out[i] = o.span
	}
	return out
}

// exdateSet holds EXDATE values: any number per line, any number of lines
// (RFC 5545 §3.8.5.1).
type exdateSet struct {
	at   map[int64]bool
	days map[time.Time]bool // DATE values excluding a DATE-TIME series' whole day
}

func (e exdateSet) has(rid time.Time, st tval) bool {
	if e.at[rid.Unix()] {
		return true
	}
	if len(e.days) > 0 && !st.date {
		y, m, d := st.wall.Date()
		return e.days[time.Date(y, m, d, 0, 0, 0, 0, time.UTC)]
	}
	return false
}

func (c timeCtx) exdates(master *ical.Component, start tval) (exdateSet, error) {
	e := exdateSet{at: map[int64]bool{}, days: map[time.Time]bool{}}
	for _, p := range master.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			ex, err := c.value(v, p.Params)
			if err != nil {
				return e, fmt.Errorf("EXDATE: %w", err)
			}
			if ex.date && !start.date {
				// A DATE EXDATE on a timed series (some clients write these)
				// removes that day's instance.
				e.days[ex.wall] = true
				continue
			}
			e.at[ex.instant().Unix()] = true
		}
	}
	return e, nil
}
