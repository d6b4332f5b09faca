package domain

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// object wraps component lines into a calendar object resource.
func object(t testing.TB, comps ...string) *Object {
	t.Helper()
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//test//EN\r\n")
	for _, c := range comps {
		for _, line := range strings.Split(strings.TrimSpace(c), "\n") {
			b.WriteString(strings.TrimSpace(line) + "\r\n")
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	o, err := ParseObject([]byte(b.String()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	return o
}

func vevent(lines ...string) string {
	return "BEGIN:VEVENT\nUID:test@kalends\nDTSTAMP:20240101T000000Z\n" + strings.Join(lines, "\n") + "\nEND:VEVENT"
}

func utc(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type rfcCase struct {
	title    string
	lines    []string
	from, to time.Time
	want     []time.Time
}

// parseRFCCases reads testdata/recur/rfc5545.txt (its header says how).
func parseRFCCases(t *testing.T, ny *time.Location) []rfcCase {
	data, err := os.ReadFile("testdata/recur/rfc5545.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases []rfcCase
	var cur *rfcCase
	inWant := false
	var dtstart time.Time
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "=== "):
			cases = append(cases, rfcCase{title: line[4:]})
			cur, inWant = &cases[len(cases)-1], false
		case line == "---":
			inWant = true
			if cur.from.IsZero() {
				cur.from, cur.to = dtstart, dtstart.AddDate(10, 0, 0)
			}
		case strings.HasPrefix(line, "window "):
			f := strings.Fields(line)
			a, _ := time.ParseInLocation("20060102", f[1], ny)
			b, _ := time.ParseInLocation("20060102", f[2], ny)
			cur.from, cur.to = a, b
		case !inWant:
			cur.lines = append(cur.lines, line)
			if v, ok := strings.CutPrefix(line, "DTSTART;TZID=America/New_York:"); ok {
				dtstart, _ = time.ParseInLocation("20060102T150405", v, ny)
			}
		default:
			f := strings.Fields(line)
			ym, _ := time.ParseInLocation("2006-01", f[0], ny)
			times := []string{dtstart.Format("1504")}
			if len(f) == 3 {
				times = strings.Split(strings.TrimPrefix(f[2], "@"), ",")
			}
			for _, part := range strings.Split(f[1], ",") {
				lo, hi, isRange := strings.Cut(part, "-")
				a, _ := strconv.Atoi(lo)
				b := a
				if isRange {
					b, _ = strconv.Atoi(hi)
				}
				for d := a; d <= b; d++ {
					for _, hm := range times {
						h, _ := strconv.Atoi(hm[:2])
						m, _ := strconv.Atoi(hm[2:])
						cur.want = append(cur.want, time.Date(ym.Year(), ym.Month(), d, h, m, 0, 0, ny))
					}
				}
			}
		}
	}
	return cases
}

// TestRFC5545Examples runs every RRULE example of RFC 5545 §3.8.5.3.
func TestRFC5545Examples(t *testing.T) {
	ny := mustLoad("America/New_York")
	cases := parseRFCCases(t, ny)
	if len(cases) < 40 {
		t.Fatalf("only %d cases parsed", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.title, func(t *testing.T) {
			o := object(t, vevent(append(tc.lines, "DURATION:PT1H")...))
			got, err := o.Instances(TimeRange{tc.from, tc.to}, nil, ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			var gotS, wantS []string
			for _, in := range got {
				gotS = append(gotS, in.Start.In(ny).Format("2006-01-02 15:04 MST"))
				if in.End.Sub(in.Start) != time.Hour {
					t.Errorf("instance %v lasts %v", in.Start, in.End.Sub(in.Start))
				}
			}
			for _, w := range tc.want {
				wantS = append(wantS, w.Format("2006-01-02 15:04 MST"))
			}
			if strings.Join(gotS, "\n") != strings.Join(wantS, "\n") {
				t.Errorf("got %d instances:\n%s\nwant %d:\n%s", len(gotS), strings.Join(gotS, "\n"), len(wantS), strings.Join(wantS, "\n"))
			}
		})
	}
}

func starts(t *testing.T, ins []Instance) []string {
	t.Helper()
	var out []string
	for _, in := range ins {
		out = append(out, in.Start.UTC().Format("20060102T150405Z"))
	}
	return out
}

func expectStarts(t *testing.T, o *Object, tr TimeRange, floating *time.Location, want ...string) []Instance {
	t.Helper()
	got, err := o.Instances(tr, floating, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(starts(t, got), " "); g != strings.Join(want, " ") {
		t.Errorf("starts:\n got %s\nwant %s", g, strings.Join(want, " "))
	}
	return got
}

func TestRecurrenceAcrossDST(t *testing.T) {
	// A daily 02:30 New York meeting: on 2024-03-10 02:30 does not exist and
	// is read with the offset before the gap (EST), i.e. 03:30 EDT; on
	// 2024-11-03 01:30 happens twice and the first (EDT) is meant.
	o := object(t, vevent("DTSTART;TZID=America/New_York:20240309T023000", "RRULE:FREQ=DAILY;COUNT=3", "DURATION:PT30M"))
	expectStarts(t, o, TimeRange{}, nil, "20240309T073000Z", "20240310T073000Z", "20240311T063000Z")

	o = object(t, vevent("DTSTART;TZID=America/New_York:20241102T013000", "RRULE:FREQ=DAILY;COUNT=3", "DTEND;TZID=America/New_York:20241102T020000"))
	ins := expectStarts(t, o, TimeRange{}, nil, "20241102T053000Z", "20241103T053000Z", "20241104T063000Z")
	for _, in := range ins {
		if d := in.End.Sub(in.Start); d != 30*time.Minute {
			t.Errorf("DTEND gives every instance the same exact duration (§3.8.5.3), got %v", d)
		}
	}

	// A start in the gap is 03:30 EDT, and a nominal day from it ends at
	// 03:30 EDT the next day (24 hours), not at 02:30 (23): the 2024-03-10
	// instance is the same whether the rule's 02:30 or an RDATE's 03:30
	// names it.
	o = object(t, vevent("DTSTART;TZID=America/New_York:20240309T023000", "RRULE:FREQ=DAILY;COUNT=3", "DURATION:P1D"))
	ins = expectStarts(t, o, TimeRange{}, nil, "20240309T073000Z", "20240310T073000Z", "20240311T063000Z")
	for i, want := range []time.Duration{24 * time.Hour, 24 * time.Hour, 24 * time.Hour} {
		if d := ins[i].End.Sub(ins[i].Start); d != want {
			t.Errorf("instance %d: P1D from %v lasts %v, want %v", i, ins[i].Start, d, want)
		}
	}

	// DURATION:P1D is nominal: the day of the fall-back lasts 25 hours.
	o = object(t, vevent("DTSTART;TZID=Europe/Berlin:20241026T120000", "DURATION:P1D"))
	ins = expectStarts(t, o, TimeRange{}, nil, "20241026T100000Z")
	if d := ins[0].End.Sub(ins[0].Start); d != 25*time.Hour {
		t.Errorf("P1D across fall-back = %v, want 25h", d)
	}
}

const customVTZ = `BEGIN:VTIMEZONE
TZID:My Custom Zone
BEGIN:STANDARD
DTSTART:19701025T040000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0300
TZOFFSETTO:+0200
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T030000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0300
END:DAYLIGHT
END:VTIMEZONE`

func TestVTimezoneDefinedZone(t *testing.T) {
	// A name no database knows: the offsets come from the VTIMEZONE, winter
	// +02:00, summer +03:00 from the last Sunday of March.
	o := object(t, customVTZ, vevent("DTSTART;TZID=My Custom Zone:20240324T090000", "RRULE:FREQ=WEEKLY;COUNT=2", "DURATION:PT1H"))
	expectStarts(t, o, TimeRange{}, nil, "20240324T070000Z", "20240331T060000Z")
}

func TestWindowsTZID(t *testing.T) {
	o := object(t, vevent("DTSTART;TZID=W. Europe Standard Time:20240701T090000", "DURATION:PT1H"))
	expectStarts(t, o, TimeRange{}, nil, "20240701T070000Z")
	o = object(t, vevent("DTSTART;TZID=Pacific Standard Time:20240101T090000", "DURATION:PT1H"))
	expectStarts(t, o, TimeRange{}, nil, "20240101T170000Z")
}

func TestFloatingAndAllDay(t *testing.T) {
	tokyo := mustLoad("Asia/Tokyo")
	o := object(t, vevent("DTSTART:20240105T090000", "DURATION:PT1H"))
	expectStarts(t, o, TimeRange{}, nil, "20240105T090000Z")
	expectStarts(t, o, TimeRange{}, tokyo, "20240105T000000Z")

	// All-day without DTEND lasts a day (RFC 4791 §9.9), in the query's zone.
	o = object(t, vevent("DTSTART;VALUE=DATE:20240105", "RRULE:FREQ=WEEKLY;COUNT=2"))
	ins := expectStarts(t, o, TimeRange{}, tokyo, "20240104T150000Z", "20240111T150000Z")
	if !ins[0].Date || ins[0].End.Sub(ins[0].Start) != 24*time.Hour {
		t.Errorf("all-day instance: %+v", ins[0])
	}
	// A window that only touches the day's end misses it; one inside hits.
	expectStarts(t, o, TimeRange{utc("20240106T000000Z"), utc("20240107T000000Z")}, nil)
	expectStarts(t, o, TimeRange{utc("20240105T230000Z"), utc("20240106T000000Z")}, nil, "20240105T000000Z")

	// DATE-TIME without DTEND takes no time: only a window containing its
	// start finds it.
	o = object(t, vevent("DTSTART:20240105T090000Z"))
	expectStarts(t, o, TimeRange{utc("20240105T090000Z"), utc("20240105T090001Z")}, nil, "20240105T090000Z")
	expectStarts(t, o, TimeRange{utc("20240105T080000Z"), utc("20240105T090000Z")}, nil)
}

func TestExdateAndRdate(t *testing.T) {
	o := object(t, vevent(
		"DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=6",
		"EXDATE:20240102T100000Z,20240103T100000Z",
		"EXDATE:20240105T100000Z",
		"RDATE;VALUE=PERIOD:20240110T120000Z/20240110T150000Z,20240111T120000Z/PT30M",
		"RDATE:20240112T080000Z",
	))
	ins := expectStarts(t, o, TimeRange{}, nil,
		"20240101T100000Z", "20240104T100000Z", "20240106T100000Z",
		"20240110T120000Z", "20240111T120000Z", "20240112T080000Z")
	if d := ins[3].End.Sub(ins[3].Start); d != 3*time.Hour {
		t.Errorf("PERIOD end/explicit: %v", d)
	}
	if d := ins[4].End.Sub(ins[4].Start); d != 30*time.Minute {
		t.Errorf("PERIOD duration: %v", d)
	}
	if d := ins[5].End.Sub(ins[5].Start); d != time.Hour {
		t.Errorf("RDATE takes the component's duration: %v", d)
	}
	// An RDATE-only set (no RRULE) still has DTSTART.
	o = object(t, vevent("DTSTART:20240101T100000Z", "RDATE:20240301T100000Z"))
	expectStarts(t, o, TimeRange{}, nil, "20240101T100000Z", "20240301T100000Z")
}

func TestOverrides(t *testing.T) {
	master := vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:master")
	movedIn := vevent("RECURRENCE-ID:20240102T100000Z", "DTSTART:20240110T100000Z", "DURATION:PT1H", "SUMMARY:moved later")
	movedOut := vevent("RECURRENCE-ID:20240104T100000Z", "DTSTART:20231201T100000Z", "DURATION:PT2H", "SUMMARY:moved earlier")
	o := object(t, master, movedIn, movedOut)

	all := expectStarts(t, o, TimeRange{}, nil,
		"20231201T100000Z", "20240101T100000Z", "20240103T100000Z", "20240105T100000Z", "20240110T100000Z")
	if !all[0].Override || !all[0].RecurrenceID.Equal(utc("20240104T100000Z")) || all[0].End.Sub(all[0].Start) != 2*time.Hour {
		t.Errorf("override instance: %+v", all[0])
	}
	// Moved into a window that holds none of the master's instances.
	expectStarts(t, o, TimeRange{utc("20240109T000000Z"), utc("20240111T000000Z")}, nil, "20240110T100000Z")
	// Moved out of the window of its original date.
	expectStarts(t, o, TimeRange{utc("20240104T000000Z"), utc("20240105T000000Z")}, nil)

	// Overrides without a master: each is its own instance.
	o = object(t, movedIn, movedOut)
	expectStarts(t, o, TimeRange{}, nil, "20231201T100000Z", "20240110T100000Z")
}

func TestThisAndFuture(t *testing.T) {
	master := vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:old")
	future := vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z", "DTSTART:20240103T140000Z", "DURATION:PT30M", "SUMMARY:new")
	single := vevent("RECURRENCE-ID:20240105T100000Z", "DTSTART:20240105T180000Z", "DURATION:PT1H", "SUMMARY:single")
	o := object(t, master, future, single)
	ins := expectStarts(t, o, TimeRange{}, nil,
		"20240101T100000Z", "20240102T100000Z", "20240103T140000Z", "20240104T140000Z", "20240105T180000Z")
	if ins[3].Component.Props.Get("SUMMARY").Value != "new" || ins[3].End.Sub(ins[3].Start) != 30*time.Minute {
		t.Errorf("THISANDFUTURE did not carry to later instances: %+v", ins[3])
	}
	// A window around the moved time finds it, the original time does not.
	expectStarts(t, o, TimeRange{utc("20240104T133000Z"), utc("20240104T150000Z")}, nil, "20240104T140000Z")
	expectStarts(t, o, TimeRange{utc("20240104T093000Z"), utc("20240104T110000Z")}, nil)
}

func TestInstanceCap(t *testing.T) {
	o := object(t, vevent("DTSTART:20240101T000000Z", "RRULE:FREQ=MINUTELY", "DURATION:PT1M"))
	_, err := o.Instances(TimeRange{utc("20240101T000000Z"), utc("20250101T000000Z")}, nil, ExpandLimits{MaxInstances: 1000})
	var pe *PreconditionError
	if !errors.As(err, &pe) || pe.Condition != MaxInstances {
		t.Fatalf("want max-instances, got %v", err)
	}
	// An old unbounded rule costs what its window holds, not its age.
	o = object(t, vevent("DTSTART:19700101T090000Z", "RRULE:FREQ=DAILY", "DURATION:PT1H"))
	expectStarts(t, o, TimeRange{utc("20300101T000000Z"), utc("20300103T000000Z")}, nil, "20300101T090000Z", "20300102T090000Z")
	// Rules rrule-go would loop on forever end at DTSTART.
	o = object(t, vevent("DTSTART:20240101T000000Z", "RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5"))
	expectStarts(t, o, TimeRange{}, nil, "20240101T000000Z")
}
