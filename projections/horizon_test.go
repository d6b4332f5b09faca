package projections

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

func advance(h *history, through time.Time) eventlog.Record {
	return h.rec(domain.IndexHorizonStream, &domain.IndexHorizonAdvanced{Through: through})
}

// sources says, for each object the index offers for tr, whether it came
// from a 't' bucket (true) or only from its 'e' entry, to be evaluated on
// the fly (false).
func sources(t *testing.T, v *View, cal string, tr domain.TimeRange) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := v.timeCandidates("alice", cal, tr, func(name []byte, bucket []byte) error {
		out[string(name)] = out[string(name)] || bucket != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openEnded reads an object's 'e' entry.
func openEnded(t *testing.T, v *View, cal, name string) (from, horizon int64, cut bool) {
	t.Helper()
	found, err := get(v.snap, memberKey(tagOpenEnded, "alice", cal, name), func(val []byte) (err error) {
		from, horizon, cut, err = decodeOpenEnded(val)
		return err
	})
	if err != nil || !found {
		t.Fatalf("%s: 'e' entry found %v, %v", name, found, err)
	}
	return from, horizon, cut
}

// indexKeys is every key and value of the time-range index.
func indexKeys(t *testing.T, s *Store) [][2][]byte {
	var out [][2][]byte
	for _, kv := range dump(t, s) {
		if bytes.IndexByte([]byte{tagTime, tagOpenEnded, tagTimeIndex}, kv[0][0]) >= 0 {
			out = append(out, kv)
		}
	}
	return out
}

// TestIndexHorizonAdvanced: an open-ended series is indexed two years past
// its put, and evaluated on the fly after that, until an
// IndexHorizonAdvanced re-indexes it up to Through; a put after the event
// whose own horizon is earlier is indexed up to Through too, even in the
// same batch. Objects evaluated for every query, and bounded ones, are left
// alone, and an event behind the horizon in effect changes no index key.
func TestIndexHorizonAdvanced(t *testing.T) {
	h := newHistory(t)
	s := newStore(t)
	todo := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20250101T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	single := strings.Replace(strings.Replace(event("s", 0), "RRULE:FREQ=WEEKLY;BYDAY=MO\r\n", "", 1), "20250310", "20290102", 2)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("w.ics", "w", event("w", 0))),
		h.cal("alice", "work", putComp("t.ics", "t", "VTODO", todo)),
		h.cal("alice", "work", put("s.ics", "s", single)))
	putAt := h.at(2)
	week := domain.TimeRange{Start: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2029, 1, 8, 0, 0, 0, 0, time.UTC)}

	v := view(t, s)
	if from, horizon, cut := openEnded(t, v, "work", "w.ics"); !cut || horizon != objectHorizon(putAt).Unix() || from != horizon {
		t.Fatalf("before any event: 'e' from %d horizon %d cut %v, want both %d", from, horizon, cut, objectHorizon(putAt).Unix())
	}
	if got, want := sources(t, v, "work", week), map[string]bool{"w.ics": false, "t.ics": false, "s.ics": true}; !reflect.DeepEqual(got, want) {
		t.Fatalf("before any event, %v offers %v, want %v", week, got, want)
	}
	if _, found, err := v.IndexHorizon(); found || err != nil {
		t.Fatalf("IndexHorizon before any event: found %v, %v", found, err)
	}

	through := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	apply(t, s,
		h.cal("alice", "work", put("x.ics", "x", event("x", 0))),
		advance(h, through.Add(time.Second/2)), // the index keeps whole seconds
		h.cal("alice", "work", put("late.ics", "late", event("late", 0))))
	v = view(t, s)
	for _, name := range []string{"w.ics", "x.ics", "late.ics"} {
		if from, horizon, cut := openEnded(t, v, "work", name); !cut || horizon != through.Unix() || from != horizon {
			t.Errorf("%s after the event: 'e' from %d horizon %d cut %v, want both %d", name, from, horizon, cut, through.Unix())
		}
	}
	want := map[string]bool{"w.ics": true, "x.ics": true, "late.ics": true, "t.ics": false, "s.ics": true}
	if got := sources(t, v, "work", week); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the event, %v offers %v, want %v", week, got, want)
	}
	if got, _, _ := openEnded(t, v, "work", "t.ics"); got != always {
		t.Errorf("an object evaluated for every query was re-indexed: from %d", got)
	}
	later := domain.TimeRange{Start: through.AddDate(0, 6, 0), End: through.AddDate(0, 6, 7)}
	if got, want := sources(t, v, "work", later), map[string]bool{"w.ics": false, "x.ics": false, "late.ics": false, "t.ics": false}; !reflect.DeepEqual(got, want) {
		t.Fatalf("past the new horizon, %v offers %v, want %v", later, got, want)
	}
	if got, found, err := v.IndexHorizon(); !found || err != nil || got != (IndexHorizon{Through: through, Revision: 0}) {
		t.Fatalf("IndexHorizon = %+v, %v, %v", got, found, err)
	}
	before := indexKeys(t, s)

	apply(t, s, advance(h, through.AddDate(-1, 0, 0)))
	if !reflect.DeepEqual(indexKeys(t, s), before) {
		t.Error("an event behind the horizon in effect changed the index")
	}
	if got, _, _ := view(t, s).IndexHorizon(); got != (IndexHorizon{Through: through, Revision: 1}) {
		t.Errorf("IndexHorizon after an earlier Through = %+v, want Through %v at revision 1", got, through)
	}
}

// TestIndexHorizonRefusesContradictions: the event belongs in its own
// stream, without gaps, like every other.
func TestIndexHorizonRefusesContradictions(t *testing.T) {
	through := epoch.AddDate(3, 0, 0)
	h := newHistory(t)
	ev := &domain.IndexHorizonAdvanced{Through: through}
	wrongStream := h.rec(domain.CalendarStream("alice", "work"), ev)
	if err := newStore(t).Apply([]eventlog.Record{wrongStream}); err == nil {
		t.Error("an IndexHorizonAdvanced in a calendar stream was applied")
	}
	h = newHistory(t)
	first := advance(h, through)
	h.revs[domain.IndexHorizonStream]++
	gap := advance(h, through.AddDate(0, 1, 0))
	s := newStore(t)
	apply(t, s, first)
	if err := s.Apply([]eventlog.Record{gap}); err == nil {
		t.Error("a gap in the horizon stream was applied")
	}
}
