package domain

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func loadAppendixB(t *testing.T) map[string]*Object {
	t.Helper()
	objs := map[string]*Object{}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("abcd%d.ics", i)
		data, err := os.ReadFile("testdata/filter/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if objs[name], err = ParseObject(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return objs
}

func vcal(children ...CompFilter) *CompFilter {
	return &CompFilter{Name: "VCALENDAR", CompFilters: children}
}

func tr(start, end string) *TimeRange {
	return &TimeRange{Start: utc(start), End: utc(end)}
}

// TestAppendixB runs every calendar-query of RFC 4791 §7.8 over the sample
// calendar of Appendix B and expects the resources the RFC answers with.
func TestAppendixB(t *testing.T) {
	objs := loadAppendixB(t)
	cases := []struct {
		section string
		filter  *CompFilter
		want    string
	}{
		{"7.8.1 events by time range", vcal(CompFilter{Name: "VEVENT", TimeRange: tr("20060104T000000Z", "20060105T000000Z")}),
			"abcd2.ics abcd3.ics"},
		{"7.8.2/7.8.3 recurring events", vcal(CompFilter{Name: "VEVENT", TimeRange: tr("20060103T000000Z", "20060105T000000Z")}),
			"abcd2.ics abcd3.ics"},
		{"7.8.4 stored free busy", vcal(CompFilter{Name: "VFREEBUSY", TimeRange: tr("20060102T000000Z", "20060103T000000Z")}),
			"abcd8.ics"},
		{"7.8.5 to-dos by alarm time", vcal(CompFilter{Name: "VTODO", CompFilters: []CompFilter{
			{Name: "VALARM", TimeRange: tr("20060106T100000Z", "20060107T100000Z")}}}),
			"abcd5.ics"},
		{"7.8.6 event by UID", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{
			{Name: "UID", TextMatch: &TextMatch{Value: "DC6C50A017428C5216A2F1CD@example.com", Collation: CollationOctet}}}}),
			"abcd3.ics"},
		{"7.8.7 events by PARTSTAT", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{
			Name:         "ATTENDEE",
			TextMatch:    &TextMatch{Value: "mailto:lisa@example.com", Collation: CollationASCIICasemap},
			ParamFilters: []ParamFilter{{Name: "PARTSTAT", TextMatch: &TextMatch{Value: "NEEDS-ACTION", Collation: CollationASCIICasemap}}},
		}}}),
			"abcd3.ics"},
		{"7.8.8 events only", vcal(CompFilter{Name: "VEVENT"}),
			"abcd1.ics abcd2.ics abcd3.ics"},
		{"7.8.9 pending to-dos", vcal(CompFilter{Name: "VTODO", PropFilters: []PropFilter{
			{Name: "COMPLETED", IsNotDefined: true},
			{Name: "STATUS", TextMatch: &TextMatch{Value: "CANCELLED", NegateCondition: true}},
		}}),
			"abcd4.ics abcd5.ics"},
	}
	for _, tc := range cases {
		t.Run(tc.section, func(t *testing.T) {
			var got []string
			for i := 1; i <= 8; i++ {
				name := fmt.Sprintf("abcd%d.ics", i)
				ok, err := MatchObject(objs[name], tc.filter, nil, ExpandLimits{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if ok {
					got = append(got, name)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

// TestAppendixBFreeBusy is RFC 4791 §7.10.1's free-busy-query.
func TestAppendixBFreeBusy(t *testing.T) {
	objs := loadAppendixB(t)
	window := *tr("20060104T140000Z", "20060105T220000Z")
	var all []BusyPeriod
	for _, o := range objs {
		ps, err := BusyPeriods(o, window, nil, ExpandLimits{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
	}
	var got []string
	for _, p := range MergeBusy(all) {
		got = append(got, p.Type+" "+p.Start.Format("20060102T150405Z")+"/"+p.End.Format("20060102T150405Z"))
	}
	want := []string{
		"BUSY-UNAVAILABLE 20060105T100000Z/20060105T120000Z",
		"BUSY-TENTATIVE 20060104T150000Z/20060104T160000Z",
		"BUSY 20060104T190000Z/20060104T200000Z",
		"BUSY 20060105T170000Z/20060105T180000Z",
	}
	sortStrings := func(s []string) string {
		c := append([]string(nil), s...)
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				if c[j] < c[i] {
					c[i], c[j] = c[j], c[i]
				}
			}
		}
		return strings.Join(c, "\n")
	}
	if sortStrings(got) != sortStrings(want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMergeBusy(t *testing.T) {
	in := []BusyPeriod{
		{utc("20240101T100000Z"), utc("20240101T110000Z"), FBBusy},
		{utc("20240101T103000Z"), utc("20240101T120000Z"), FBBusy},
		{utc("20240101T120000Z"), utc("20240101T123000Z"), FBBusy},
		{utc("20240101T100000Z"), utc("20240101T130000Z"), FBBusyTentative},
		{utc("20240101T140000Z"), utc("20240101T150000Z"), FBBusy},
	}
	got := MergeBusy(in)
	want := []BusyPeriod{
		{utc("20240101T100000Z"), utc("20240101T123000Z"), FBBusy},
		{utc("20240101T100000Z"), utc("20240101T130000Z"), FBBusyTentative},
		{utc("20240101T140000Z"), utc("20240101T150000Z"), FBBusy},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestBusyPeriodsRules(t *testing.T) {
	master := vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3")
	cancelled := vevent("RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T100000Z", "DURATION:PT1H", "STATUS:CANCELLED")
	o := object(t, master, cancelled)
	ps, err := BusyPeriods(o, *tr("20240101T000000Z", "20240105T000000Z"), nil, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !ps[1].Start.Equal(utc("20240103T100000Z")) {
		t.Errorf("a cancelled override frees its slot: %v", ps)
	}
	o = object(t, vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "TRANSP:TRANSPARENT"))
	if ps, _ := BusyPeriods(o, TimeRange{}, nil, ExpandLimits{}); len(ps) != 0 {
		t.Errorf("transparent events are free: %v", ps)
	}
	// Periods are clipped to the window.
	o = object(t, vevent("DTSTART:20240101T100000Z", "DURATION:PT4H"))
	ps, _ = BusyPeriods(o, *tr("20240101T120000Z", "20240101T130000Z"), nil, ExpandLimits{})
	if len(ps) != 1 || !ps[0].Start.Equal(utc("20240101T120000Z")) || !ps[0].End.Equal(utc("20240101T130000Z")) {
		t.Errorf("clipping: %v", ps)
	}
}

func todo(lines ...string) string {
	return "BEGIN:VTODO\nUID:todo@kalends\nDTSTAMP:20240101T000000Z\n" + strings.Join(lines, "\n") + "\nEND:VTODO"
}

// TestVTODOTimeRangeTable checks RFC 4791 §9.9's VTODO table row by row,
// on both sides of each boundary.
func TestVTODOTimeRangeTable(t *testing.T) {
	type probe struct {
		start, end string
		want       bool
	}
	rows := []struct {
		name   string
		lines  []string
		probes []probe
	}{
		{"DTSTART+DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))",
			[]string{"DTSTART:20240101T100000Z", "DURATION:PT1H"},
			[]probe{{"T110000", "T120000", true}, {"T110001", "T120000", false}, {"T090000", "T100000", false}, {"T090000", "T100001", true}}},
		{"DTSTART+DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))",
			[]string{"DTSTART:20240101T100000Z", "DUE:20240101T110000Z"},
			[]probe{{"T110000", "T120000", false}, {"T105959", "T120000", true}, {"T090000", "T100000", false}, {"T103000", "T104000", true}}},
		{"DTSTART: (start <= DTSTART) AND (end > DTSTART)",
			[]string{"DTSTART:20240101T100000Z"},
			[]probe{{"T100000", "T100001", true}, {"T100001", "T110000", false}, {"T090000", "T100000", false}}},
		{"DUE: (start < DUE) AND (end >= DUE)",
			[]string{"DUE:20240101T110000Z"},
			[]probe{{"T100000", "T110000", true}, {"T110000", "T120000", false}, {"T100000", "T105959", false}}},
		{"COMPLETED+CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))",
			[]string{"CREATED:20240101T080000Z", "COMPLETED:20240101T120000Z"},
			[]probe{{"T120000", "T130000", true}, {"T120001", "T130000", false}, {"T070000", "T080000", true}, {"T060000", "T070000", false}}},
		{"COMPLETED: (start <= COMPLETED) AND (end >= COMPLETED)",
			[]string{"COMPLETED:20240101T120000Z"},
			[]probe{{"T120000", "T130000", true}, {"T110000", "T120000", true}, {"T120001", "T130000", false}, {"T100000", "T115959", false}}},
		{"CREATED: (end > CREATED)",
			[]string{"CREATED:20240101T080000Z"},
			[]probe{{"T070000", "T080000", false}, {"T070000", "T080001", true}, {"T090000", "T100000", true}}},
		{"none: TRUE",
			nil,
			[]probe{{"T000000", "T000001", true}}},
	}
	for _, row := range rows {
		o := object(t, todo(row.lines...))
		for _, p := range row.probes {
			f := vcal(CompFilter{Name: "VTODO", TimeRange: tr("20240101"+p.start+"Z", "20240101"+p.end+"Z")})
			got, err := MatchObject(o, f, nil, ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("%s\n  [%s, %s): got %v, want %v", row.name, p.start, p.end, got, p.want)
			}
		}
	}
}

func TestTextMatchCollations(t *testing.T) {
	o := object(t, vevent("DTSTART:20240101T100000Z", `SUMMARY:Straße\, Café`))
	cases := []struct {
		tm   TextMatch
		want bool
	}{
		{TextMatch{Value: "straße, café"}, true}, // ascii-casemap folds only A-Z
		{TextMatch{Value: "STRASSE"}, false},
		{TextMatch{Value: "STRASSE", Collation: CollationUnicodeCasemap}, true},
		{TextMatch{Value: "CAFE\u0301", Collation: CollationUnicodeCasemap}, true},
		{TextMatch{Value: "straße", Collation: CollationOctet}, false},
		{TextMatch{Value: "Straße", Collation: CollationOctet}, true},
		{TextMatch{Value: "Straße", Collation: CollationOctet, NegateCondition: true}, false},
		{TextMatch{Value: "nothing", NegateCondition: true}, true},
	}
	for _, tc := range cases {
		tm := tc.tm
		f := vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &tm}}})
		got, err := MatchObject(o, f, nil, ExpandLimits{})
		if err != nil || got != tc.want {
			t.Errorf("%+v: got %v, %v; want %v", tm, got, err, tc.want)
		}
	}
	f := vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Value: "x", Collation: "i;klingon"}}}})
	_, err := MatchObject(o, f, nil, ExpandLimits{})
	var pe *PreconditionError
	if !errors.As(err, &pe) || pe.Condition != SupportedCollation {
		t.Errorf("unknown collation: %v", err)
	}
}

func TestFilterStructure(t *testing.T) {
	o := object(t, vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "ATTENDEE;CN=Ann:mailto:ann@example.com",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;RELATED=END:PT5M", "END:VALARM"))
	cases := []struct {
		name string
		f    *CompFilter
		want bool
	}{
		{"is-not-defined VTODO", vcal(CompFilter{Name: "VTODO", IsNotDefined: true}), true},
		{"is-not-defined VEVENT", vcal(CompFilter{Name: "VEVENT", IsNotDefined: true}), false},
		{"nested is-not-defined VALARM", vcal(CompFilter{Name: "VEVENT", CompFilters: []CompFilter{{Name: "VALARM", IsNotDefined: true}}}), false},
		{"prop is-not-defined", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "LOCATION", IsNotDefined: true}}}), true},
		{"param is-not-defined", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "ATTENDEE", ParamFilters: []ParamFilter{{Name: "PARTSTAT", IsNotDefined: true}}}}}), true},
		{"param defined", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "ATTENDEE", ParamFilters: []ParamFilter{{Name: "CN"}}}}}), true},
		{"prop time-range hit", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "DTSTART", TimeRange: tr("20240101T100000Z", "20240101T100001Z")}}}), true},
		{"prop time-range miss", vcal(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "DTSTART", TimeRange: tr("20240101T090000Z", "20240101T100000Z")}}}), false},
		{"alarm RELATED=END", vcal(CompFilter{Name: "VEVENT", CompFilters: []CompFilter{{Name: "VALARM", TimeRange: tr("20240101T110500Z", "20240101T110501Z")}}}), true},
		{"alarm RELATED=END miss", vcal(CompFilter{Name: "VEVENT", CompFilters: []CompFilter{{Name: "VALARM", TimeRange: tr("20240101T100000Z", "20240101T110500Z")}}}), false},
		{"not VCALENDAR", &CompFilter{Name: "VEVENT"}, false},
	}
	for _, tc := range cases {
		got, err := MatchObject(o, tc.f, nil, ExpandLimits{})
		if tc.name == "not VCALENDAR" {
			if err == nil {
				t.Errorf("%s: want an error", tc.name)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	f := vcal(CompFilter{Name: "VTIMEZONE", TimeRange: tr("20240101T000000Z", "20240102T000000Z")})
	var pe *PreconditionError
	if _, err := MatchObject(o, f, nil, ExpandLimits{}); !errors.As(err, &pe) || pe.Condition != SupportedFilter {
		t.Errorf("time-range on VTIMEZONE: %v", err)
	}
}

func TestRecurringMatches(t *testing.T) {
	// A weekly event with a 15-minute alarm: only the third week's alarm
	// falls in the window, and the window holds no instance itself.
	o := object(t, vevent("DTSTART;TZID=Europe/Paris:20240101T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY", "EXDATE;TZID=Europe/Paris:20240108T090000",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"))
	alarm := vcal(CompFilter{Name: "VEVENT", CompFilters: []CompFilter{{Name: "VALARM", TimeRange: tr("20240115T074000Z", "20240115T075000Z")}}})
	if ok, err := MatchObject(o, alarm, nil, ExpandLimits{}); err != nil || !ok {
		t.Errorf("alarm of a later instance: %v %v", ok, err)
	}
	excluded := vcal(CompFilter{Name: "VEVENT", TimeRange: tr("20240108T000000Z", "20240109T000000Z")})
	if ok, err := MatchObject(o, excluded, nil, ExpandLimits{}); err != nil || ok {
		t.Errorf("an EXDATE'd week matched: %v %v", ok, err)
	}
	// Open-ended ranges on an unbounded rule stop at the first instance.
	open := vcal(CompFilter{Name: "VEVENT", TimeRange: &TimeRange{Start: utc("20990101T000000Z")}})
	if ok, err := MatchObject(o, open, nil, ExpandLimits{}); err != nil || !ok {
		t.Errorf("open-ended range: %v %v", ok, err)
	}
	// Floating times use the query's timezone.
	fl := object(t, vevent("DTSTART:20240101T233000", "DURATION:PT15M"))
	jan1 := vcal(CompFilter{Name: "VEVENT", TimeRange: tr("20240101T000000Z", "20240102T000000Z")})
	if ok, _ := MatchObject(fl, jan1, time.UTC, ExpandLimits{}); !ok {
		t.Error("floating in UTC")
	}
	if ok, _ := MatchObject(fl, jan1, mustLoad("America/Los_Angeles"), ExpandLimits{}); ok {
		t.Error("floating in Los Angeles is 2 January UTC")
	}
}

// TestExpandAppendixB is RFC 4791 §7.8.3: abcd2 expanded over 3–5 January
// 2006 gives the 3 January instance and the "bis" override, in UTC.
func TestExpandAppendixB(t *testing.T) {
	objs := loadAppendixB(t)
	data, err := ExpandObject(objs["abcd2.ics"], *tr("20060103T000000Z", "20060105T000000Z"), nil, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"BEGIN:VCALENDAR", "PRODID:-//Example Corp.//CalDAV Client//EN", "VERSION:2.0",
		"BEGIN:VEVENT", "DTSTAMP:20060206T001121Z", "DTSTART:20060103T170000Z", "DURATION:PT1H",
		"RECURRENCE-ID:20060103T170000Z", "SUMMARY:Event #2", "UID:00959BC664CA650E933C892C@example.com", "END:VEVENT",
		"BEGIN:VEVENT", "DTSTAMP:20060206T001121Z", "DTSTART:20060104T190000Z", "DURATION:PT1H",
		"RECURRENCE-ID:20060104T170000Z", "SUMMARY:Event #2 bis", "UID:00959BC664CA650E933C892C@example.com", "END:VEVENT",
		"END:VCALENDAR", ""}, "\r\n")
	if string(data) != want {
		t.Errorf("got\n%s\nwant\n%s", data, want)
	}
	if _, err := ParseObject(data); err != nil {
		t.Errorf("expanded data does not parse: %v", err)
	}
}
