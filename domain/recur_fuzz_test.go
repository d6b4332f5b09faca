package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzExpand: any RRULE and DTSTART either fail cleanly or expand quickly
// into sorted instances inside the window; never a panic or a hang.
func FuzzExpand(f *testing.F) {
	seeds := [][2]string{
		{"FREQ=DAILY;COUNT=10", "19970902T090000"},
		{"FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "19970902T090000"},
		{"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "19970512T090000"},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", "19970929T090000"},
		{"FREQ=HOURLY;INTERVAL=24;BYHOUR=5", "20240101T000000"},
		{"FREQ=SECONDLY;BYSECOND=30;INTERVAL=60", "20240101T000000"},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20240101"},
		{"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20240101T000000Z"},
		{"FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,SU;UNTIL=20250101T000000Z", "20240310T023000"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], int64(0), uint16(30))
	}
	f.Fuzz(func(t *testing.T, rrule, dtstart string, offsetDays int64, windowDays uint16) {
		if strings.ContainsAny(rrule+dtstart, "\r\n:") {
			return
		}
		o, err := ParseObject([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:f\r\nDTSTART;TZID=America/New_York:" + dtstart +
			"\r\nDURATION:PT1H\r\nRRULE:" + rrule + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
		if err != nil {
			return
		}
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(offsetDays%(365*200)))
		window := TimeRange{start, start.AddDate(0, 0, int(windowDays%800)+1)}
		began := time.Now()
		ins, err := o.Instances(window, nil, ExpandLimits{MaxInstances: 5000})
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("expansion took %v", d)
		}
		var pe *PreconditionError
		if err != nil && errors.As(err, &pe) && pe.Condition != MaxInstances {
			t.Fatalf("unexpected refusal %v", err)
		}
		// The safety net caught an engine failure: the input that caused it
		// is what validation should have refused.
		if errors.Is(err, ErrUnevaluable) {
			t.Fatalf("the recurrence engine failed: %v", err)
		}
		for i, in := range ins {
			if i > 0 && in.Start.Before(ins[i-1].Start) {
				t.Fatalf("unsorted at %d", i)
			}
			if !in.overlaps(window) {
				t.Fatalf("instance %v–%v outside %v", in.Start, in.End, window)
			}
		}
	})
}

// BenchmarkExpand: a weekly one-hour meeting, expanded over a year.
func BenchmarkExpand(b *testing.B) {
	o := object(b, vevent("DTSTART;TZID=Europe/Berlin:20200106T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=MO",
		"EXDATE;TZID=Europe/Berlin:20250113T090000,20250120T090000"))
	window := TimeRange{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		ins, err := o.Instances(window, nil, ExpandLimits{})
		if err != nil || len(ins) != 50 {
			b.Fatal(len(ins), err)
		}
	}
}

// TestExpansionNeverPanics: a panic inside expansion (rrule-go indexed out
// of range on some rules from the year 0000, which validation now refuses)
// comes out as ErrUnevaluable, so that one object can take down neither a
// query nor the projector, which indexes every put.
func TestExpansionNeverPanics(t *testing.T) {
	o := object(t, vevent("DTSTART:20240101T090000Z", "RRULE:FREQ=DAILY;COUNT=3"))
	err := o.visit(o.ctx(nil), TimeRange{}, ExpandLimits{}, func(Instance) bool { panic("index out of range") })
	if !errors.Is(err, ErrUnevaluable) {
		t.Fatalf("got %v, want ErrUnevaluable", err)
	}
	zero := object(t, vevent("DTSTART;VALUE=DATE:00000110", "RRULE:FREQ=MONTHLY;BYSETPOS=-1"))
	if _, err := zero.Instances(TimeRange{}, nil, ExpandLimits{MaxInstances: 50}); err == nil {
		t.Fatal("expanded a series from the year 0000")
	}
}
