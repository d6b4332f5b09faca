package dav

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/projections"
)

// parseCompFilter turns a CALDAV:comp-filter element into the domain's
// filter (RFC 4791 §9.7).
func parseCompFilter(n *node) (domain.CompFilter, error) {
	f := domain.CompFilter{Name: strings.ToUpper(n.attr("name"))}
	if f.Name == "" {
		return f, invalidFilter("comp-filter without a name")
	}
	for _, c := range n.Children {
		var err error
		switch {
		case c.is(nsCalDAV, "is-not-defined"):
			f.IsNotDefined = true
		case c.is(nsCalDAV, "time-range"):
			f.TimeRange, err = parseTimeRange(c)
		case c.is(nsCalDAV, "prop-filter"):
			var pf domain.PropFilter
			pf, err = parsePropFilter(c)
			f.PropFilters = append(f.PropFilters, pf)
		case c.is(nsCalDAV, "comp-filter"):
			var cf domain.CompFilter
			cf, err = parseCompFilter(c)
			f.CompFilters = append(f.CompFilters, cf)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func parsePropFilter(n *node) (domain.PropFilter, error) {
	f := domain.PropFilter{Name: strings.ToUpper(n.attr("name"))}
	if f.Name == "" {
		return f, invalidFilter("prop-filter without a name")
	}
	for _, c := range n.Children {
		var err error
		switch {
		case c.is(nsCalDAV, "is-not-defined"):
			f.IsNotDefined = true
		case c.is(nsCalDAV, "time-range"):
			f.TimeRange, err = parseTimeRange(c)
		case c.is(nsCalDAV, "text-match"):
			f.TextMatch = parseTextMatch(c)
		case c.is(nsCalDAV, "param-filter"):
			pf := domain.ParamFilter{Name: strings.ToUpper(c.attr("name"))}
			for _, pc := range c.Children {
				switch {
				case pc.is(nsCalDAV, "is-not-defined"):
					pf.IsNotDefined = true
				case pc.is(nsCalDAV, "text-match"):
					pf.TextMatch = parseTextMatch(pc)
				}
			}
			f.ParamFilters = append(f.ParamFilters, pf)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func parseTextMatch(n *node) *domain.TextMatch {
	return &domain.TextMatch{
		Value:           n.Text,
		Collation:       n.attr("collation"),
		NegateCondition: strings.EqualFold(n.attr("negate-condition"), "yes"),
	}
}

// parseTimeRange reads a CALDAV:time-range; its bounds are UTC date-times
// (RFC 4791 §9.9), either of which may be absent.
func parseTimeRange(n *node) (*domain.TimeRange, error) {
	var tr domain.TimeRange
	var err error
	if v := n.attr("start"); v != "" {
		if tr.Start, err = time.Parse("20060102T150405Z", v); err != nil {
			return nil, invalidFilter("bad time-range start " + v)
		}
	}
	if v := n.attr("end"); v != "" {
		if tr.End, err = time.Parse("20060102T150405Z", v); err != nil {
			return nil, invalidFilter("bad time-range end " + v)
		}
	}
	if tr.Start.IsZero() && tr.End.IsZero() {
		return nil, invalidFilter("time-range without start or end")
	}
	return &tr, nil
}

func invalidFilter(reason string) *davError {
	return errCondition(http.StatusForbidden, nsCalDAV, "valid-filter", reason)
}

// componentOnly reports whether f asks nothing but "a VCALENDAR containing
// a component named X" (or any): then the stored component type answers it
// without parsing the object, which is what vdirsyncer and tsdav send to
// list a calendar.
func componentOnly(f *domain.CompFilter) (name string, ok bool) {
	if f.IsNotDefined || f.TimeRange != nil || len(f.PropFilters) > 0 || len(f.CompFilters) > 1 {
		return "", false
	}
	if len(f.CompFilters) == 0 {
		return "", true
	}
	c := f.CompFilters[0]
	if c.IsNotDefined || c.TimeRange != nil || len(c.PropFilters) > 0 || len(c.CompFilters) > 0 {
		return "", false
	}
	return c.Name, true
}

// indexedRange is a time-range that every object matching f must overlap:
// that of a top-level comp-filter (VCALENDAR > VEVENT, VTODO or VJOURNAL),
// which the time-range index can answer. Nil when there is none.
func indexedRange(f *domain.CompFilter) *domain.TimeRange {
	if f.Name != ical.CompCalendar || f.IsNotDefined {
		return nil
	}
	for _, c := range f.CompFilters {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal:
			if c.TimeRange != nil && !c.IsNotDefined {
				return c.TimeRange
			}
		}
	}
	return nil
}

// eventRangeOnly reports whether f asks nothing but "a VEVENT instance
// overlapping a time-range", which a candidate's EventInRange answers
// without parsing the object.
func eventRangeOnly(f *domain.CompFilter) bool {
	if f.IsNotDefined || f.TimeRange != nil || len(f.PropFilters) > 0 || len(f.CompFilters) != 1 {
		return false
	}
	c := f.CompFilters[0]
	return c.Name == ical.CompEvent && c.TimeRange != nil && !c.IsNotDefined && len(c.PropFilters) == 0 && len(c.CompFilters) == 0
}

// floatingZone is the zone floating times are evaluated in: the query's
// CALDAV:timezone, else the calendar's calendar-timezone, else UTC
// (RFC 4791 §9.8). A query's timezone that is not one VTIMEZONE is refused
// (§7.8); the calendar's was checked when it was set.
func floatingZone(query *node, cal projections.Calendar) (*time.Location, error) {
	text := ""
	if tz := query.child(nsCalDAV, "timezone"); tz != nil {
		if err := domain.ValidateQueryTimezone(tz.Text); err != nil {
			return nil, err
		}
		text = tz.Text
	} else if p, ok := cal.Prop(nsCalDAV, "calendar-timezone"); ok {
		var v struct {
			Text string `xml:",chardata"`
		}
		if xml.Unmarshal([]byte("<x>"+p.XML+"</x>"), &v) == nil {
			text = v.Text
		}
	}
	return zoneOfVTimezone(text), nil
}

// zoneOfVTimezone resolves the TZID of the one VTIMEZONE in an iCalendar
// text the way object TZIDs resolve (IANA, Windows and vendor-prefixed
// names), UTC when there is none. A zone known only by its VTIMEZONE rules
// also falls back to UTC: floating times are evaluated in a *time.Location,
// which such a zone is not.
func zoneOfVTimezone(text string) *time.Location {
	if strings.TrimSpace(text) == "" {
		return time.UTC
	}
	obj, err := domain.ParseObject([]byte(text))
	if err != nil {
		return time.UTC
	}
	for _, c := range obj.Calendar.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		if tzid, err := c.Props.Text(ical.PropTimezoneID); err == nil {
			if zone, err := domain.ResolveTZID(tzid, nil); err == nil {
				if loc, ok := zone.Location(); ok {
					return loc
				}
			}
		}
	}
	return time.UTC
}

func (s *server) calendarQuery(w http.ResponseWriter, r *http.Request, t target, root *node) error {
	rr, err := s.parseReportRequest(root)
	if err != nil {
		return err
	}
	filterNode := root.child(nsCalDAV, "filter")
	if filterNode == nil || filterNode.child(nsCalDAV, "comp-filter") == nil {
		return invalidFilter("calendar-query needs a filter with a comp-filter")
	}
	filter, err := parseCompFilter(filterNode.child(nsCalDAV, "comp-filter"))
	if err != nil {
		return err
	}
	if err := domain.CheckFilter(&filter); err != nil {
		return withHrefs(err, t)
	}
	d, err := depth(r)
	if err != nil {
		return err
	}
	v := s.viewFor(t)
	defer v.Close()
	res, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	if rr.floating, err = floatingZone(root, res.cal); err != nil {
		return withHrefs(err, t)
	}
	rr.view = v
	compName, cheap := componentOnly(&filter)
	eventRange := eventRangeOnly(&filter)
	// Matching and rendering happen before the 207 is committed, so that a
	// query that breaks a limit is refused with its precondition rather
	// than cut off.
	type hit struct {
		obj  projections.Object
		data propEntry
	}
	var hits []hit
	// Objects are read with their data when the answer or the evaluation
	// needs it; a query for ETags alone reads the data only of candidates
	// the index cannot decide.
	withData := rr.wantData || !eventRange
	collect := func(c projections.Candidate) error {
		o := c.Object
		ok := filter.Name == "VCALENDAR" && (compName == "" || compName == o.Component)
		// A match the index proves needs no expansion, so it cannot break
		// max-instances either: nothing is refused that the answer needed.
		if ok && !cheap && !(eventRange && c.EventInRange) {
			if o.Data == "" { // read without it: stored objects are never empty
				var err error
				if o, err = v.WithData(t.owner, t.cal, o); err != nil {
					return err
				}
			}
			obj, err := v.Parse(o)
			if err != nil {
				return err
			}
			if ok, err = domain.MatchObject(obj, &filter, rr.floating, rr.limits); err != nil {
				return err
			}
		}
		if !ok {
			return nil
		}
		h := hit{obj: o}
		if rr.wantData {
			var err error
			if h.data, err = rr.calendarData(o); err != nil {
				return err
			}
		}
		h.obj.Data = ""
		hits = append(hits, h)
		return nil
	}
	unproven := func(o projections.Object) error { return collect(projections.Candidate{Object: o}) }
	if t.kind == kindObject {
		err = unproven(res.obj)
	} else if tr := indexedRange(&filter); d == 1 && tr != nil {
		err = v.ObjectsOverlapping(t.owner, t.cal, *tr, withData, collect)
	} else if d == 1 {
		err = v.Objects(t.owner, t.cal, rr.wantData || !cheap, unproven)
	}
	if err != nil {
		return withHrefs(err, t)
	}
	ms := startMultistatus(w, r, "multistatus")
	child := &resource{me: res.me, principal: res.principal, cal: res.cal}
	for _, h := range hits {
		child.t = t.member(h.obj.Name)
		child.obj = h.obj
		stats := s.propsFor(child, rr.names)
		if rr.wantData {
			stats = withCalendarData(stats, h.data, nil)
		}
		ms.response(child.t.href(), stats)
	}
	return ms.close("multistatus", "")
}

// freeBusyQuery answers RFC 4791 §7.10: one VFREEBUSY of the calendar's busy
// time in the range, and nothing else about the events. A calendar marked
// transparent (schedule-calendar-transp) contributes nothing (RFC 6638 §9.1).
func (s *server) freeBusyQuery(w http.ResponseWriter, r *http.Request, t target, root *node) error {
	trNode := root.child(nsCalDAV, "time-range")
	if trNode == nil {
		return errStatus(http.StatusBadRequest, "free-busy-query needs a time-range")
	}
	tr, err := parseTimeRange(trNode)
	if err != nil {
		return err
	}
	if tr.Start.IsZero() || tr.End.IsZero() {
		return invalidFilter("free-busy-query needs a start and an end")
	}
	v := s.viewFor(t)
	defer v.Close()
	res, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	floating, err := floatingZone(root, res.cal)
	if err != nil {
		return withHrefs(err, t)
	}
	lim := domain.ExpandLimits{MaxInstances: s.cfg.Limits.MaxInstances}
	var busy []domain.BusyPeriod
	if transp, _ := res.storedProp(xml.Name{Space: nsCalDAV, Local: "schedule-calendar-transp"}); !strings.Contains(transp.XML, "transparent") {
		if busy, err = v.FreeBusy(t.owner, t.cal, *tr, floating, lim); err != nil {
			return withHrefs(err, t)
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(w, freeBusyCalendar(*tr, busy, time.Now()))
	return err
}

// freeBusyCalendar renders busy periods as the VCALENDAR of a
// free-busy-query answer.
func freeBusyCalendar(tr domain.TimeRange, busy []domain.BusyPeriod, now time.Time) string {
	const utcFormat = "20060102T150405Z"
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//CalDAV Server//EN\r\nBEGIN:VFREEBUSY\r\n")
	b.WriteString("DTSTAMP:" + now.UTC().Format(utcFormat) + "\r\n")
	b.WriteString("DTSTART:" + tr.Start.UTC().Format(utcFormat) + "\r\nDTEND:" + tr.End.UTC().Format(utcFormat) + "\r\n")
	for _, p := range busy {
		b.WriteString("FREEBUSY")
		if p.Type != domain.FBBusy {
			b.WriteString(";FBTYPE=" + p.Type)
		}
		b.WriteString(":" + p.Start.UTC().Format(utcFormat) + "/" + p.End.UTC().Format(utcFormat) + "\r\n")
	}
	b.WriteString("END:VFREEBUSY\r\nEND:VCALENDAR\r\n")
	return b.String()
}
