package domain

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// ParseTiming must place every instance where ParseObject does, busy type
// included, for every object we hold as a sample, and for the cases its
// line filter could get wrong: lower-case names, folded timing lines and
// names, VTIMEZONE rules, alarms and overrides.
func TestParseTimingAgrees(t *testing.T) {
	samples := map[string][]byte{
		"lower-case and folded": []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nbegin:vevent\r\nuid:a\r\n" +
			"dtstart;tzid=Europe/Paris:20250301T090000\r\nDuration:PT1H\r\nSUMMARY:long\r\n  folded summary with DTEND:2025 inside\r\n" +
			"RRULE:FREQ=DAILY;COUNT=5;\r\n BYHOUR=9,17\r\nexdate;tzid=Europe/Paris:20250302T090000\r\ntransp:TRANSPARENT\r\n" +
			"X-DTEND:20300101T000000Z\r\nend:vevent\r\nEND:VCALENDAR\r\n"),
		"property names folded": []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:c\r\n" +
			"DTST\r\n ART:20250303T090000Z\r\nDTEND\r\n :20250303T100000Z\r\nRR\r\n\tULE\r\n ;X=1:FREQ=DAILY;COUNT=3\r\n" +
			"END:VEVENT\r\nEND:VCALENDAR\r\n"),
		"custom zone, override, alarm": []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" +
			"BEGIN:VTIMEZONE\r\nTZID:Custom\r\nX-LIC-LOCATION:Nowhere\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n" +
			"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n" +
			"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\n" +
			"TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n" +
			"BEGIN:VEVENT\r\nUID:b\r\nDTSTART;TZID=Custom:20250320T100000\r\nDTEND;TZID=Custom:20250320T113000\r\n" +
			"RRULE:FREQ=WEEKLY;UNTIL=20250501T000000Z\r\nSTATUS:TENTATIVE\r\nATTENDEE;CN=\"A;B:C\":mailto:a@example.com\r\n" +
			"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:b\r\nRECURRENCE-ID;TZID=Custom:20250327T100000\r\nDTSTART;TZID=Custom:20250328T150000\r\n" +
			"DTEND;TZID=Custom:20250328T160000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
	}
	files, _ := filepath.Glob("testdata/ical/valid/*.ics")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples[filepath.Base(f)] = data
	}
	if len(files) == 0 {
		t.Fatal("no sample files")
	}
	for name, data := range samples {
		if _, err := ParseObject(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkTimingAgrees(t, name, data, true)
	}
}

// FuzzParseTiming: whatever ParseObject accepts, ParseTiming accepts too and
// places every instance the same way. ParseTiming reads outside input
// through a line filter of its own before go-ical does, so a line the
// filter misjudges (folded, lower-case, quoted) would silently move or
// drop instances from the time-range index.
func FuzzParseTiming(f *testing.F) {
	files, _ := filepath.Glob("testdata/ical/valid/*.ics")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTST\r\n ART:20250303T090000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		if _, err := ParseObject(data); err != nil {
			return
		}
		checkTimingAgrees(t, "input", data, false)
	})
}

// checkTimingAgrees compares ParseTiming with ParseObject on data, which
// ParseObject accepts: the same instances (start, end, recurrence id,
// override), the same busy periods, the same success or failure, over all
// time up to 2040 and over a window in 2025. needInstances fails a sample
// that has nothing to compare.
func checkTimingAgrees(t *testing.T, name string, data []byte, needInstances bool) {
	t.Helper()
	full, err := ParseObject(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	timing, err := ParseTiming(data)
	if err != nil {
		t.Fatalf("%s: ParseTiming refused what ParseObject accepts: %v", name, err)
	}
	windows := []TimeRange{{}, {Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC)}}
	lim := ExpandLimits{MaxInstances: 5000}
	for _, tr := range windows {
		if tr.End.IsZero() {
			tr.End = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		want, wantErr := full.Instances(tr, time.UTC, lim)
		got, gotErr := timing.Instances(tr, time.UTC, lim)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: errors differ: %v, %v", name, wantErr, gotErr)
		}
		if needInstances && len(want) == 0 && tr.Start.IsZero() {
			t.Errorf("%s: no instances to compare", name)
		}
		if !reflect.DeepEqual(placesOf(want), placesOf(got)) {
			t.Errorf("%s: instances differ\nfull   %v\ntiming %v", name, placesOf(want), placesOf(got))
		}
		if w, g := BusyOfInstances(want, tr), BusyOfInstances(got, tr); !reflect.DeepEqual(w, g) {
			t.Errorf("%s: busy differs\nfull   %v\ntiming %v", name, w, g)
		}
	}
}

func placesOf(ins []Instance) [][4]any {
	out := make([][4]any, len(ins))
	for i, in := range ins {
		out[i] = [4]any{in.Start, in.End, in.RecurrenceID, in.Override}
	}
	return out
}
