package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestRememberedInstances: an object that remembers its instances answers
// every window, zone and limit as one expanded afresh does, the windows
// past what the memo covers and the refusals included.
func TestRememberedInstances(t *testing.T) {
	comps := []string{
		vevent("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
			"EXDATE;TZID=Europe/Berlin:20240108T100000", "RDATE;VALUE=DATE:20240301"),
		vevent("RECURRENCE-ID;TZID=Europe/Berlin:20240111T100000", "DTSTART;TZID=Europe/Berlin:20240112T180000", "DURATION:PT2H"),
		vevent("RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20250106T100000", "DTSTART;TZID=Europe/Berlin:20250106T140000", "DURATION:PT30M"),
	}
	floating := vevent("DTSTART:20240105T090000", "DTEND:20240105T100000", "RRULE:FREQ=MONTHLY;COUNT=30")
	allDay := vevent("DTSTART;VALUE=DATE:20200229", "RRULE:FREQ=YEARLY", "TRANSP:TRANSPARENT")
	zones := []*time.Location{nil, mustLoad("Pacific/Kiritimati"), mustLoad("America/Los_Angeles")}
	for _, c := range [][]string{comps, {floating}, {allDay}} {
		fresh, kept := object(t, c...), object(t, c...)
		kept.Remember()
		for day := -30; day < 3*365; day += 17 {
			start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day)
			for _, days := range []int{1, 7, 31, 900} {
				tr := TimeRange{Start: start, End: start.AddDate(0, 0, days)}
				for _, zone := range zones {
					for _, lim := range []ExpandLimits{{}, {MaxInstances: 20}} {
						want, wantErr := fresh.Instances(tr, zone, lim)
						got, gotErr := kept.Instances(tr, zone, lim)
						if !reflect.DeepEqual(got, want) || !errors.Is(gotErr, wantErr) && (gotErr == nil || wantErr == nil || gotErr.Error() != wantErr.Error()) {
							t.Fatalf("%v in %v, %+v: remembered\n%v %v\nfresh\n%v %v", tr, zone, lim, got, gotErr, want, wantErr)
						}
					}
				}
			}
		}
	}
}
