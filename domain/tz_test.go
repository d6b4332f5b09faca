package domain

import (
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
)

func TestZoneInstantGapAndOverlap(t *testing.T) {
	ny := ZoneOf(mustLoad("America/New_York"))
	cases := []struct{ wall, want string }{
		{"20240310T023000", "20240310T073000Z"}, // gap: read in EST, = 03:30 EDT
		{"20240310T035900", "20240310T075900Z"},
		{"20241103T013000", "20241103T053000Z"}, // overlap: the first, EDT
		{"20241103T020000", "20241103T070000Z"},
		{"20240701T120000", "20240701T160000Z"},
	}
	for _, tc := range cases {
		wall, _, _ := parseWall(tc.wall)
		if got := ny.Instant(wall); !got.Equal(utc(tc.want)) {
			t.Errorf("%s: got %s, want %s", tc.wall, got.Format(time.RFC3339), tc.want)
		}
	}
}

func TestWindowsZonesAllLoad(t *testing.T) {
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s → %s: %v", win, iana, err)
		}
	}
	if z, err := ResolveTZID("/mozilla.org/20050126_1/Europe/Berlin", nil); err != nil || z.Name() != "Europe/Berlin" {
		t.Errorf("vendor-prefixed TZID: %v %v", z, err)
	}
	if _, err := ResolveTZID("Local", nil); err == nil {
		t.Error(`"Local" must not resolve to the server's zone`)
	}
}

// TestVTimezoneMatchesIANA evaluates a full VTIMEZONE and compares it with
// the IANA zone it describes, hour by hour over two years, gaps and
// overlaps included.
func TestVTimezoneMatchesIANA(t *testing.T) {
	o := object(t, customVTZ)
	custom, err := ResolveTZID("My Custom Zone", []*ical.Component{o.Calendar.Children[0]})
	if err != nil {
		t.Fatal(err)
	}
	// Europe/Helsinki keeps the same rules (EU, +02/+03) in these years.
	ref := ZoneOf(mustLoad("Europe/Helsinki"))
	for w := time.Date(2023, 1, 1, 0, 30, 0, 0, time.UTC); w.Year() < 2025; w = w.Add(time.Hour) {
		if a, b := custom.Instant(w), ref.Instant(w); !a.Equal(b) {
			t.Fatalf("wall %s: VTIMEZONE gives %s, IANA %s", w.Format("2006-01-02 15:04"), a, b)
		}
		if a, b := custom.Wall(w), ref.Wall(w); !a.Equal(b) {
			t.Fatalf("instant %s: VTIMEZONE wall %s, IANA %s", w, a, b)
		}
	}
}
