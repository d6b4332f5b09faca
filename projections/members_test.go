package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// TestMemberCacheAgreesWithPebble: whatever a calendar went through
// (objects put, replaced, deleted, the calendar deleted and re-created) and
// however old the view, ObjectsOverlapping, which takes metadata from the
// member cache, hands out exactly the objects Pebble holds for that view;
// also when the cache's bound evicts calendars or refuses large ones.
func TestMemberCacheAgreesWithPebble(t *testing.T) {
	for _, bound := range []int{memberCacheObjects, 9} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) {
			defer func(was int) { memberCacheObjects = was }(memberCacheObjects)
			memberCacheObjects = bound
			testMemberCache(t)
		})
	}
}

func testMemberCache(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	g := genCalendar{r: r}
	s := newStore(t)
	h := newHistory(t)
	cals := []string{"a", "b"}
	for _, cal := range cals {
		apply(t, s, h.cal("alice", cal, &domain.CalendarCreated{Owner: "alice", Name: cal}))
	}
	var views []*View
	for step := range 150 {
		cal := cals[r.IntN(len(cals))]
		var recs []eventlog.Record
		switch k := r.IntN(40); {
		case k == 0:
			recs = append(recs, h.cal("alice", cal, &domain.CalendarDeleted{}),
				h.cal("alice", cal, &domain.CalendarCreated{Owner: "alice", Name: cal}))
		case k < 8:
			var live []string
			if err := view(t, s).Objects("alice", cal, false, func(o Object) error { live = append(live, o.Name); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(live) == 0 {
				continue
			}
			recs = append(recs, h.cal("alice", cal, &domain.ObjectDeleted{Name: live[r.IntN(len(live))]}))
		default:
			for range 1 + r.IntN(4) {
				uid := fmt.Sprintf("u%d", r.IntN(12))
				comp, data := g.object(uid)
				recs = append(recs, h.cal("alice", cal, putComp(uid+".ics", uid, comp, data)))
			}
		}
		apply(t, s, recs...)
		views = append(views, view(t, s))
		for range 3 {
			v := views[r.IntN(len(views))]
			cal := cals[r.IntN(len(cals))]
			var want, got []Object
			if err := v.Objects("alice", cal, true, func(o Object) error { want = append(want, o); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := v.ObjectsOverlapping("alice", cal, domain.TimeRange{}, true, func(c Candidate) error {
				got = append(got, c.Object)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d, calendar %s, view at %d: candidates\n%v\nPebble\n%v", step, cal, v.Checkpoint(), got, want)
			}
		}
	}
}

// TestMemberCacheConcurrent: views of every age read through the member
// cache while the projector applies, and each sees what Pebble holds for it
// (run with -race, as make test does).
func TestMemberCacheConcurrent(t *testing.T) {
	g := genCalendar{r: rand.New(rand.NewPCG(3, 9))}
	s := newStore(t)
	h := newHistory(t)
	apply(t, s, h.cal("alice", "a", &domain.CalendarCreated{Owner: "alice", Name: "a"}))
	var recs [][]eventlog.Record
	for i := range 60 {
		uid := fmt.Sprintf("u%d", i%15)
		comp, data := g.object(uid)
		batch := []eventlog.Record{h.cal("alice", "a", putComp(uid+".ics", uid, comp, data))}
		if i%9 == 8 {
			batch = append(batch, h.cal("alice", "a", &domain.ObjectDeleted{Name: uid + ".ics"}))
		}
		recs = append(recs, batch)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				v := s.View()
				var want, got []Object
				err := v.Objects("alice", "a", true, func(o Object) error { want = append(want, o); return nil })
				if err == nil {
					err = v.ObjectsOverlapping("alice", "a", domain.TimeRange{}, true, func(c Candidate) error {
						got = append(got, c.Object)
						return nil
					})
				}
				v.Close()
				if err == nil && !reflect.DeepEqual(got, want) {
					err = fmt.Errorf("view at %d: candidates %v, Pebble %v", v.Checkpoint(), got, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, batch := range recs {
		if err := s.Apply(batch); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
