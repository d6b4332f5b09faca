package projections

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// genCalendar writes random calendar objects: timed events in UTC, in IANA
// zones and floating; all-day events; DAILY, WEEKLY and MONTHLY series with
// COUNT, UNTIL or no end, EXDATEs and overrides moved anywhere; VTODOs of
// every shape RFC 4791 §9.9 distinguishes.
type genCalendar struct {
	r *rand.Rand
}

var genZones = []string{"", "Z", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"}

const wallFormat = "20060102T150405"

// value renders wall in the zone form tz ("" floating, "Z" UTC, else TZID)
// as a property line.
func (g genCalendar) value(name string, wall time.Time, tz string, date bool) string {
	switch {
	case date:
		return name + ";VALUE=DATE:" + wall.Format("20060102")
	case tz == "":
		return name + ":" + wall.Format(wallFormat)
	case tz == "Z":
		return name + ":" + wall.Format(wallFormat) + "Z"
	}
	return name + ";TZID=" + tz + ":" + wall.Format(wallFormat)
}

func (g genCalendar) wall() time.Time {
	day := g.r.IntN(4 * 365)
	return time.Date(2024, 1, 1, g.r.IntN(24), 15*g.r.IntN(4), 0, 0, time.UTC).AddDate(0, 0, day)
}

func (g genCalendar) object(uid string) (component, data string) {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Kalends//test//EN")
	tz := genZones[g.r.IntN(len(genZones))]
	date := g.r.IntN(5) == 0
	start := g.wall()
	if date {
		start = start.Truncate(24 * time.Hour)
	}
	begin := func(comp string) {
		line("BEGIN:" + comp)
		line("UID:" + uid)
		line("DTSTAMP:20250101T000000Z")
	}
	if g.r.IntN(6) == 0 {
		component = "VTODO"
		begin(component)
		switch g.r.IntN(5) {
		case 0:
			line(g.value("DTSTART", start, tz, date))
			line(g.value("DUE", start.Add(time.Duration(1+g.r.IntN(72))*time.Hour), tz, date))
		case 1:
			line(g.value("DUE", start, tz, date))
		case 2:
			line(g.value("DTSTART", start, tz, date))
			line(fmt.Sprintf("DURATION:PT%dH", g.r.IntN(30)))
		case 3:
			line(g.value("DTSTART", start, tz, date))
		case 4:
			line("CREATED:" + start.Format(wallFormat) + "Z")
		}
		line("END:VTODO")
		line("END:VCALENDAR")
		return component, b.String()
	}
	component = "VEVENT"
	begin(component)
	line(g.value("DTSTART", start, tz, date))
	switch g.r.IntN(3) {
	case 0:
		if date {
			line(g.value("DTEND", start.AddDate(0, 0, 1+g.r.IntN(3)), tz, true))
		} else {
			line(g.value("DTEND", start.Add(time.Duration(1+g.r.IntN(50))*30*time.Minute), tz, false))
		}
	case 1:
		line(fmt.Sprintf("DURATION:P%dDT%dH", g.r.IntN(2), g.r.IntN(5)))
	}
	switch g.r.IntN(4) {
	case 0:
		line("TRANSP:TRANSPARENT")
	case 1:
		line("STATUS:TENTATIVE")
	}
	if g.r.IntN(2) == 0 {
		// A series; its instances step by period.
		freq, period := [][2]string{{"DAILY", "d"}, {"WEEKLY", "w"}, {"MONTHLY", "m"}}[g.r.IntN(3)][0], 0
		switch freq {
		case "DAILY":
			period = 1
		case "WEEKLY":
			period = 7
		}
		interval := 1 + g.r.IntN(3)
		nth := func(k int) time.Time {
			if period == 0 {
				return start.AddDate(0, k*interval, 0)
			}
			return start.AddDate(0, 0, k*interval*period)
		}
		rule := fmt.Sprintf("RRULE:FREQ=%s;INTERVAL=%d", freq, interval)
		switch g.r.IntN(3) {
		case 0:
			rule += fmt.Sprintf(";COUNT=%d", 1+g.r.IntN(60))
		case 1:
			until := nth(g.r.IntN(80))
			switch {
			case date:
				rule += ";UNTIL=" + until.Format("20060102")
			case tz == "":
				rule += ";UNTIL=" + until.Format(wallFormat)
			default:
				rule += ";UNTIL=" + until.Format(wallFormat) + "Z"
			}
		}
		line(rule)
		for range g.r.IntN(3) {
			line(g.value("EXDATE", nth(g.r.IntN(20)), tz, date))
		}
		line("END:VEVENT")
		for k := range g.r.IntN(3) {
			rid := nth(1 + k + g.r.IntN(10))
			moved := rid.AddDate(0, 0, g.r.IntN(121)-60)
			begin("VEVENT")
			line(g.value("RECURRENCE-ID", rid, tz, date))
			line(g.value("DTSTART", moved, tz, date))
			if g.r.IntN(3) == 0 {
				line("STATUS:CANCELLED")
			}
			line("END:VEVENT")
		}
	} else {
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return component, b.String()
}

func (g genCalendar) timeRange() domain.TimeRange {
	start := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.r.Int64N(int64(6 * 365 * 24 * time.Hour)))).Truncate(time.Hour)
	tr := domain.TimeRange{Start: start, End: start.Add(time.Duration(1+g.r.IntN(60*24)) * time.Hour)}
	switch g.r.IntN(10) {
	case 0:
		tr.Start = time.Time{}
	case 1:
		tr.End = time.Time{}
	}
	return tr
}

var genQueryZones = []string{"UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "Australia/Lord_Howe"}

func putComp(name, uid, component, data string) *domain.ObjectPut {
	p := put(name, uid, data)
	p.Component = component
	return p
}

// TestTimeRangeIndexMatchesBruteForce: on random calendars that were
// written, rewritten and partly deleted, the objects the index offers and
// MatchObject accepts are exactly those MatchObject accepts among all
// objects, and the indexed free-busy equals the brute-force one. Now and
// then, amid a calendar's puts, the index horizon advances (from two years
// past the puts towards five), so that queries meet objects indexed up to
// their own horizon, re-indexed up to a later one, and put after it.
func TestTimeRangeIndexMatchesBruteForce(t *testing.T) {
	cases := 300
	if testing.Short() {
		cases = 50
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	g := genCalendar{r: r}
	s := newStore(t)
	h := newHistory(t)
	var objects, offers, proven, matches int
	defer func() {
		t.Logf("%d objects checked, %d offered by the index, %d of them proven by it, %d matched", objects, offers, proven, matches)
	}()
	for c := range cases {
		cal := fmt.Sprintf("c%d", c)
		recs := []eventlog.Record{h.cal("alice", cal, &domain.CalendarCreated{Owner: "alice", Name: cal})}
		n := 5 + r.IntN(30)
		for i := range n {
			if c%10 == 3 && i == n/2 {
				recs = append(recs, advance(h, epoch.AddDate(2, 0, c*3*365/cases)))
			}
			uid := fmt.Sprintf("u%d", r.IntN(n)) // names repeat: replacements
			comp, data := g.object(uid)
			recs = append(recs, h.cal("alice", cal, putComp(uid+".ics", uid, comp, data)))
			if i%7 == 6 {
				apply(t, s, recs...)
				recs = recs[:0]
				v := view(t, s)
				var live []string
				v.Objects("alice", cal, false, func(o Object) error { live = append(live, o.Name); return nil })
				if len(live) > 0 {
					recs = append(recs, h.cal("alice", cal, &domain.ObjectDeleted{Name: live[r.IntN(len(live))]}))
				}
			}
		}
		apply(t, s, recs...)
		v := view(t, s)
		for range 10 {
			tr := g.timeRange()
			zone, _ := time.LoadLocation(genQueryZones[r.IntN(len(genQueryZones))])
			comp := []string{"VEVENT", "VTODO"}[r.IntN(2)]
			filter := domain.CompFilter{Name: "VCALENDAR", CompFilters: []domain.CompFilter{{Name: comp, TimeRange: &tr}}}
			eventFilter := domain.CompFilter{Name: "VCALENDAR", CompFilters: []domain.CompFilter{{Name: "VEVENT", TimeRange: &tr}}}
			// The index's side evaluates objects from the view's cache of
			// parsed objects, which remember their instances across
			// windows and zones; brute force parses afresh.
			matchFilter := func(o Object, filter *domain.CompFilter, parse func(Object) (*domain.Object, error)) bool {
				obj, err := parse(o)
				if err != nil {
					t.Fatal(err)
				}
				ok, err := domain.MatchObject(obj, filter, zone, domain.ExpandLimits{})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			fresh := func(o Object) (*domain.Object, error) { return domain.ParseObject([]byte(o.Data)) }
			match := func(o Object) bool { return matchFilter(o, &filter, fresh) }
			var want, got, offered []string
			var wantBusy []domain.BusyPeriod
			err := v.Objects("alice", cal, true, func(o Object) error {
				objects++
				if match(o) {
					want = append(want, o.Name)
				}
				if o.Component == "VEVENT" && !tr.Start.IsZero() && !tr.End.IsZero() {
					obj, _ := domain.ParseObject([]byte(o.Data))
					p, err := domain.BusyPeriods(obj, tr, zone, domain.ExpandLimits{})
					wantBusy = append(wantBusy, p...)
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = v.ObjectsOverlapping("alice", cal, tr, true, func(c Candidate) error {
				offered = append(offered, c.Name)
				if c.EventInRange {
					proven++
					if !matchFilter(c.Object, &eventFilter, fresh) {
						t.Errorf("calendar %s, %v..%v in %s: the index proves %s has a VEVENT in range, MatchObject finds none", cal, tr.Start, tr.End, zone, c.Name)
					}
				}
				if matchFilter(c.Object, &filter, v.Parse) {
					got = append(got, c.Name)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			offers, matches = offers+len(offered), matches+len(want)
			if !slices.IsSorted(offered) || len(slices.Compact(slices.Clone(offered))) != len(offered) {
				t.Fatalf("candidates not in name order or repeated: %v", offered)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("calendar %s, %s %v..%v in %s: index gives %v, brute force %v", cal, comp, tr.Start, tr.End, zone, got, want)
			}
			if tr.Start.IsZero() || tr.End.IsZero() {
				continue
			}
			busy, err := v.FreeBusy("alice", cal, tr, zone, domain.ExpandLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if wantBusy = domain.MergeBusy(wantBusy); !reflect.DeepEqual(busy, wantBusy) && len(busy)+len(wantBusy) > 0 {
				t.Fatalf("calendar %s, free-busy %v..%v in %s: index gives\n%v\nbrute force\n%v", cal, tr.Start, tr.End, zone, busy, wantBusy)
			}
		}
	}
}

// TestTimeRangeIndexReplay: the index follows replacements, deletions and a
// calendar's deletion and re-creation, and applying the same records in one
// batch or one at a time gives the same bytes.
func TestTimeRangeIndexReplay(t *testing.T) {
	g := genCalendar{r: rand.New(rand.NewPCG(7, 7))}
	h := newHistory(t)
	recs := []eventlog.Record{h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"})}
	for i := range 200 {
		uid := fmt.Sprintf("u%d", i%40)
		comp, data := g.object(uid)
		recs = append(recs, h.cal("alice", "work", putComp(uid+".ics", uid, comp, data)))
		if i%9 == 8 {
			recs = append(recs, h.cal("alice", "work", &domain.ObjectDeleted{Name: uid + ".ics"}))
		}
		if i == 120 {
			recs = append(recs, h.cal("alice", "work", &domain.CalendarDeleted{}),
				h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
		}
	}
	one, each := newStore(t), newStore(t)
	apply(t, one, recs...)
	for _, r := range recs {
		apply(t, each, r)
	}
	a, b := dump(t, one), dump(t, each)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the index differs between one batch and one record at a time")
	}
	// Every index key belongs to a live object, and everything open covers
	// every live object: nothing outlives its object or its calendar.
	v := view(t, one)
	live := map[string]bool{}
	v.Objects("alice", "work", false, func(o Object) error { live[o.Name] = true; return nil })
	var offered []string
	if err := v.ObjectsOverlapping("alice", "work", domain.TimeRange{}, false, func(c Candidate) error {
		offered = append(offered, c.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(offered, slices.Sorted(maps.Keys(live))) {
		t.Fatalf("an open range offers %v, the live objects are %v", offered, slices.Sorted(maps.Keys(live)))
	}
	for _, kv := range a {
		tag := kv[0][0]
		if tag == tagTimeIndex || tag == tagOpenEnded || tag == tagTime {
			name := string(kv[0][len(calPrefix(tag, "alice", "work")):])
			if tag == tagTime {
				name = name[9:] // level and bucket
			}
			if !live[name] {
				t.Errorf("index key %q outlived its object", kv[0])
			}
		}
	}
}

// TestExpandedCalendarData: an expanded calendar-data is the same bytes
// whether the object is parsed afresh or remembers its instances and
// renderings from earlier windows, and whether it is written by the
// expansion's own writer or, under a selection of everything, by the
// general one.
func TestExpandedCalendarData(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	g := genCalendar{r: r}
	everything := &domain.CompSelection{Name: "VCALENDAR", AllProps: true, AllComps: true}
	for i := range 300 {
		_, data := g.object(fmt.Sprintf("u%d", i))
		kept, err := domain.ParseObject([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		kept.Remember()
		for range 6 {
			tr := g.timeRange()
			if tr.Start.IsZero() || tr.End.IsZero() {
				continue // CALDAV:expand has both bounds
			}
			zone, _ := time.LoadLocation(genQueryZones[r.IntN(len(genQueryZones))])
			fresh := func() (*domain.Object, error) { return domain.ParseObject([]byte(data)) }
			remembered := func() (*domain.Object, error) { return kept, nil }
			want, wantErr := domain.SelectCalendarData([]byte(data), fresh, domain.DataSelection{Expand: &tr, Comp: everything}, zone, domain.ExpandLimits{})
			for _, parse := range []func() (*domain.Object, error){fresh, remembered, remembered} {
				got, err := domain.SelectCalendarData([]byte(data), parse, domain.DataSelection{Expand: &tr}, zone, domain.ExpandLimits{})
				if string(got) != string(want) || (err == nil) != (wantErr == nil) {
					t.Fatalf("%v in %s of\n%s\ngot (%v)\n%s\nwant (%v)\n%s", tr, zone, data, err, got, wantErr, want)
				}
			}
		}
	}
}
