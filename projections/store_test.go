package projections

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

func TestPrincipals(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.rec(domain.PrincipalStream("bob"), &domain.PrincipalCreated{Name: "bob", DisplayName: "Bob", Email: "bob@example.com"}),
		h.rec(domain.PrincipalStream("alice"), &domain.PrincipalCreated{Name: "alice"}),
		h.rec(domain.PrincipalStream("bob"), &domain.PrincipalDisabled{Name: "bob"}),
	)
	v := view(t, s)
	bob, ok, err := v.Principal("bob")
	want := Principal{Name: "bob", DisplayName: "Bob", Email: "bob@example.com", Disabled: true, Created: h.at(1)}
	if err != nil || !ok || !reflect.DeepEqual(bob, want) {
		t.Fatalf("Principal(bob) = %+v, %v, %v; want %+v", bob, ok, err, want)
	}
	if _, ok, err := v.Principal("carol"); ok || err != nil {
		t.Fatalf("Principal(carol) = %v, %v", ok, err)
	}
	var names []string
	if err := v.Principals(func(p Principal) error { names = append(names, p.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"alice", "bob"}) {
		t.Fatalf("Principals = %v", names)
	}
}

func TestCalendarLifecycle(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	color := domain.Property{Space: "http://apple.com/ns/ical/", Local: "calendar-color", XML: "#ff0000"}
	title := domain.Property{Space: "DAV:", Local: "displayname", XML: "Work"}
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VEVENT"}, Props: []domain.Property{title, color}}),
		h.cal("alice", "home", &domain.CalendarCreated{Owner: "alice", Name: "home"}),
		h.cal("bob", "work", &domain.CalendarCreated{Owner: "bob", Name: "work"}),
	)
	renamed := domain.Property{Space: "DAV:", Local: "displayname", XML: "Office"}
	note := domain.Property{Space: "urn:x", Local: "note", XML: "hi"}
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarPropertiesChanged{Set: []domain.Property{renamed, note}, Remove: []domain.PropertyName{color.Name()}}),
		h.cal("alice", "work", put("a.ics", "uid-a", "A")),
	)

	v := view(t, s)
	got, ok, err := v.Calendar("alice", "work")
	want := Calendar{Owner: "alice", Name: "work", Stream: "cal:alice/work", Revision: 2, Incarnation: 0,
		Components: []string{"VEVENT"}, Props: []domain.Property{renamed, note}, Created: h.at(1), Modified: h.at(5)}
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Calendar = %+v, %v, %v\nwant %+v", got, ok, err, want)
	}
	if p, ok := got.Prop("DAV:", "displayname"); !ok || p.XML != "Office" {
		t.Fatalf("displayname = %+v, %v", p, ok)
	}
	if names := calendarNames(t, v, "alice"); !reflect.DeepEqual(names, []string{"home", "work"}) {
		t.Fatalf("Calendars(alice) = %v", names)
	}

	apply(t, s, h.cal("alice", "work", &domain.CalendarDeleted{}))
	v = view(t, s)
	got, ok, err = v.Calendar("alice", "work")
	if err != nil || !ok || !got.Deleted || got.Revision != 3 || got.Modified != h.at(6) {
		t.Fatalf("deleted Calendar = %+v, %v, %v", got, ok, err)
	}
	if names := calendarNames(t, v, "alice"); !reflect.DeepEqual(names, []string{"home"}) {
		t.Fatalf("Calendars(alice) after delete = %v", names)
	}
	if _, ok, _ := v.Object("alice", "work", "a.ics"); ok {
		t.Fatal("object survived its calendar")
	}

	apply(t, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	got, _, _ = view(t, s).Calendar("alice", "work")
	if got.Deleted || got.Revision != 4 || got.Incarnation != 4 || got.Props != nil || got.Components != nil || got.Created != h.at(7) {
		t.Fatalf("re-created Calendar = %+v", got)
	}
}

func calendarNames(t *testing.T, v *View, owner string) []string {
	t.Helper()
	var names []string
	if err := v.Calendars(owner, func(c Calendar) error { names = append(names, c.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestObjects(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("b.ics", "uid-b", "BEGIN:VCALENDAR B")),
		h.cal("alice", "work", put("a.ics", "uid-a", "BEGIN:VCALENDAR A")),
		h.cal("alice", "work", put("b.ics", "uid-b", "BEGIN:VCALENDAR B2")),
	)
	v := view(t, s)
	b, ok, err := v.Object("alice", "work", "b.ics")
	want := Object{Name: "b.ics", UID: "uid-b", Component: "VEVENT", ETag: domain.ETagOf([]byte("BEGIN:VCALENDAR B2")),
		Data: "BEGIN:VCALENDAR B2", Size: 18, Modified: h.at(4), Revision: 3}
	if err != nil || !ok || !reflect.DeepEqual(b, want) {
		t.Fatalf("Object = %+v, %v, %v\nwant %+v", b, ok, err, want)
	}
	for _, withData := range []bool{false, true} {
		var got []Object
		if err := v.Objects("alice", "work", withData, func(o Object) error { got = append(got, o); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "a.ics" || got[1].Name != "b.ics" || got[1].Size != 18 || got[1].Revision != 3 {
			t.Fatalf("Objects(withData=%v) = %+v", withData, got)
		}
		if wantData := map[bool]string{true: "BEGIN:VCALENDAR A"}[withData]; got[0].Data != wantData {
			t.Fatalf("Objects(withData=%v) data = %q", withData, got[0].Data)
		}
	}

	apply(t, s, h.cal("alice", "work", &domain.ObjectDeleted{Name: "b.ics"}))
	v = view(t, s)
	if _, ok, err := v.Object("alice", "work", "b.ics"); ok || err != nil {
		t.Fatalf("deleted Object = %v, %v", ok, err)
	}
	if c, _, _ := v.Calendar("alice", "work"); c.Revision != 4 || c.Modified != h.at(5) {
		t.Fatalf("calendar after delete = %+v", c)
	}
}

func TestUIDIndex(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "home", &domain.CalendarCreated{Owner: "alice", Name: "home"}),
		h.cal("alice", "work", put("a.ics", "uid-1", "A")),
		h.cal("alice", "work", put("a.ics", "uid-1", "A2")),
	)
	holder := func(cal, uid string) string {
		t.Helper()
		o, ok, err := view(t, s).ObjectByUID("alice", cal, uid)
		if err != nil {
			t.Fatal(err)
		}
		if o.Data != "" {
			t.Fatal("ObjectByUID returned data")
		}
		if !ok {
			return ""
		}
		return o.Name
	}
	if got := holder("work", "uid-1"); got != "a.ics" {
		t.Fatalf("after replace: %q", got)
	}
	// A rename within the calendar: put the new name, delete the old, one batch.
	apply(t, s,
		h.cal("alice", "work", put("b.ics", "uid-1", "A2")),
		h.cal("alice", "work", &domain.ObjectDeleted{Name: "a.ics", MovedTo: "alice/work/b.ics"}),
	)
	if got := holder("work", "uid-1"); got != "b.ics" {
		t.Fatalf("after rename: %q", got)
	}
	// A move to another calendar.
	apply(t, s,
		h.cal("alice", "home", put("c.ics", "uid-1", "A2")),
		h.cal("alice", "work", &domain.ObjectDeleted{Name: "b.ics", MovedTo: "alice/home/c.ics"}),
	)
	if w, hm := holder("work", "uid-1"), holder("home", "uid-1"); w != "" || hm != "c.ics" {
		t.Fatalf("after move: work %q, home %q", w, hm)
	}
	// A replace that changes the UID frees the old one.
	apply(t, s, h.cal("alice", "home", put("c.ics", "uid-2", "C")))
	if old, cur := holder("home", "uid-1"), holder("home", "uid-2"); old != "" || cur != "c.ics" {
		t.Fatalf("after UID change: uid-1 %q, uid-2 %q", old, cur)
	}
	apply(t, s, h.cal("alice", "home", &domain.ObjectDeleted{Name: "c.ics"}))
	if got := holder("home", "uid-2"); got != "" {
		t.Fatalf("after delete: %q", got)
	}
}

func changes(t *testing.T, v *View, owner, cal string, after eventlog.Revision) []Change {
	t.Helper()
	var out []Change
	if err := v.Changes(owner, cal, after, func(c Change) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// indexEntries counts the calendar's raw change-index entries.
func indexEntries(t *testing.T, v *View, owner, cal string) int {
	t.Helper()
	n := 0
	if err := v.scan(calPrefix(tagChange, owner, cal), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChanges(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}), // rev 0
		h.cal("alice", "work", put("a.ics", "ua", "A")),                               // 1
		h.cal("alice", "work", put("b.ics", "ub", "B")),                               // 2
		h.cal("alice", "work", put("c.ics", "uc", "C")),                               // 3
	)
	apply(t, s,
		h.cal("alice", "work", put("a.ics", "ua", "A2")),             // 4
		h.cal("alice", "work", &domain.ObjectDeleted{Name: "b.ics"}), // 5
		h.cal("alice", "work", &domain.CalendarPropertiesChanged{}),  // 6
		h.cal("alice", "other", &domain.CalendarCreated{Owner: "alice", Name: "other"}),
		h.cal("alice", "other", put("a.ics", "ua", "A")),
	)
	v := view(t, s)
	all := []Change{{"c.ics", 3, false}, {"a.ics", 4, false}, {"b.ics", 5, true}}
	if got := changes(t, v, "alice", "work", 0); !reflect.DeepEqual(got, all) {
		t.Fatalf("Changes(0) = %+v", got)
	}
	// One entry per name ever written: a sync costs what changed, not history.
	if n := indexEntries(t, v, "alice", "work"); n != 3 {
		t.Fatalf("index has %d entries, want 3", n)
	}
	if got := changes(t, v, "alice", "work", 3); !reflect.DeepEqual(got, all[1:]) {
		t.Fatalf("Changes(3) = %+v", got)
	}
	if got := changes(t, v, "alice", "work", 4); !reflect.DeepEqual(got, all[2:]) {
		t.Fatalf("Changes(4) = %+v", got)
	}
	for _, after := range []eventlog.Revision{5, 6, 1 << 63, ^eventlog.Revision(0)} {
		if got := changes(t, v, "alice", "work", after); got != nil {
			t.Fatalf("Changes(%d) = %+v", after, got)
		}
	}
	if got := changes(t, v, "alice", "other", 0); !reflect.DeepEqual(got, []Change{{"a.ics", 1, false}}) {
		t.Fatalf("Changes(other) = %+v", got)
	}

	// Deleting the calendar forgets its members; the next incarnation starts
	// with an empty index.
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarDeleted{}),                             // 7
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}), // 8
		h.cal("alice", "work", put("d.ics", "ud", "D")),                               // 9
	)
	v = view(t, s)
	if got := changes(t, v, "alice", "work", 0); !reflect.DeepEqual(got, []Change{{"d.ics", 9, false}}) {
		t.Fatalf("Changes after re-creation = %+v", got)
	}
	if n := indexEntries(t, v, "alice", "work"); n != 1 {
		t.Fatalf("index has %d entries after re-creation", n)
	}
	var uids int
	v.scan(calPrefix(tagUID, "alice", "work"), func(_, _ []byte) error { uids++; return nil })
	if uids != 1 {
		t.Fatalf("UID index has %d entries after re-creation", uids)
	}
}

func TestContents(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "ua", "A")),
	)
	v := view(t, s)
	var c domain.CalendarContents = v.Contents("alice", "work")
	want := domain.ObjectInfo{Name: "a.ics", UID: "ua", Component: "VEVENT", ETag: domain.ETagOf([]byte("A"))}
	if got, ok := c.Object("a.ics"); !ok || got != want {
		t.Fatalf("Object = %+v, %v", got, ok)
	}
	if got, ok := c.ObjectByUID("ua"); !ok || got != want {
		t.Fatalf("ObjectByUID = %+v, %v", got, ok)
	}
	if _, ok := c.Object("b.ics"); ok || v.Err() != nil {
		t.Fatalf("missing Object = %v, err %v", ok, v.Err())
	}

	// A value the view cannot read is "not found" to the decision and an
	// error to the caller.
	if err := s.db.Set(memberKey(tagObject, "alice", "work", "bad.ics"), []byte{0xff}, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	v = view(t, s)
	if _, ok := v.Contents("alice", "work").Object("bad.ics"); ok || !errors.Is(v.Err(), errCorrupt) {
		t.Fatalf("corrupt Object = %v, err %v", ok, v.Err())
	}
}

func TestViewIsASnapshot(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	before := view(t, s)
	apply(t, s, h.cal("alice", "work", put("a.ics", "ua", "A")))
	if _, ok, _ := before.Object("alice", "work", "a.ics"); ok || before.Checkpoint() != 1 {
		t.Fatalf("old view sees the later write (checkpoint %d)", before.Checkpoint())
	}
	if after := view(t, s); after.Checkpoint() != 2 {
		t.Fatalf("new view checkpoint %d", after.Checkpoint())
	}
}

func TestApplyRefusesAnInconsistentLog(t *testing.T) {
	h := newHistory(t)
	created := h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"})
	unknown := h.cal("alice", "work", put("a.ics", "ua", "A"))
	unknown.Type = "CalendarSharedWithMartians"
	gap := h.cal("alice", "work", put("a.ics", "ua", "A"))
	gap.Revision++
	early := h.cal("alice", "work", put("a.ics", "ua", "A"))
	early.Position = created.Position - 1
	cases := map[string][]eventlog.Record{
		"out of order":   {created, early},
		"unknown type":   {created, unknown},
		"revision gap":   {created, gap},
		"no calendar":    {newHistory(t).cal("alice", "work", put("a.ics", "ua", "A"))},
		"missing object": {created, h.cal("alice", "work", &domain.ObjectDeleted{Name: "zz.ics"})},
		"wrong stream":   {h.rec("cal:alice/home", &domain.CalendarCreated{Owner: "alice", Name: "work"})},
		"created twice":  {created, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"})},
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			if err := s.Apply(recs); err == nil {
				t.Fatal("Apply accepted it")
			}
			// Nothing of the failed batch is written.
			if s.Checkpoint() != 0 {
				t.Fatalf("checkpoint moved to %d", s.Checkpoint())
			}
			if _, ok, _ := view(t, s).Calendar("alice", "work"); ok {
				t.Fatal("part of the batch was written")
			}
		})
	}
}

// TestDeletionWithinABatch checks that records after a CalendarDeleted in the
// same batch no longer see the deleted calendar's committed members.
func TestDeletionWithinABatch(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "ua", "A")),
	)
	batch := []eventlog.Record{
		h.cal("alice", "work", &domain.CalendarDeleted{}),
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
	}
	bad := h.cal("alice", "work", &domain.ObjectDeleted{Name: "a.ics"})
	if err := s.Apply(append(batch, bad)); err == nil {
		t.Fatal("deleted an object that went with its calendar")
	}
	good := bad
	good.Type, good.SchemaVersion, good.Data, _ = domain.Encode(put("b.ics", "ua", "A"))
	apply(t, s, append(batch, good)...)
	v := view(t, s)
	if o, ok, err := v.ObjectByUID("alice", "work", "ua"); !ok || err != nil || o.Name != "b.ics" {
		t.Fatalf("ObjectByUID = %+v, %v, %v", o, ok, err)
	}
}

func TestApplySkipsWhatItHasSeen(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	first := []eventlog.Record{
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "ua", "A")),
	}
	apply(t, s, first...)
	// A re-delivery overlapping the checkpoint, as after a crash.
	apply(t, s, append(first, h.cal("alice", "work", put("b.ics", "ub", "B")))...)
	apply(t, s, first...)
	if s.Checkpoint() != 3 {
		t.Fatalf("checkpoint %d", s.Checkpoint())
	}
	c, _, _ := view(t, s).Calendar("alice", "work")
	if c.Revision != 2 {
		t.Fatalf("calendar revision %d", c.Revision)
	}
}

func TestReopenResumes(t *testing.T) {
	dir := t.TempDir()
	h := newHistory(t)
	s := openStore(t, dir)
	apply(t, s,
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "ua", "A")),
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	closeAtEnd(t, s)
	if s.Checkpoint() != 2 {
		t.Fatalf("checkpoint after reopen = %d", s.Checkpoint())
	}
	apply(t, s, h.cal("alice", "work", put("b.ics", "ub", "B")))
	v := view(t, s)
	for _, name := range []string{"a.ics", "b.ics"} {
		if _, ok, err := v.Object("alice", "work", name); !ok || err != nil {
			t.Fatalf("%s after reopen: %v, %v", name, ok, err)
		}
	}
}

func TestSchemaChangeWipes(t *testing.T) {
	dir := t.TempDir()
	h := newHistory(t)
	s := openStore(t, dir)
	created := h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"})
	apply(t, s, created)
	// Pretend an older Kalends wrote the store.
	if err := s.db.Set(schemaKey, []byte{0}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openStore(t, dir)
	closeAtEnd(t, s)
	if s.Checkpoint() != 0 {
		t.Fatalf("checkpoint after schema change = %d", s.Checkpoint())
	}
	if _, ok, _ := view(t, s).Calendar("alice", "work"); ok {
		t.Fatal("old projection survived")
	}
	// The rebuild replays from the start without tripping over old state.
	apply(t, s, created)
	if _, ok, _ := view(t, s).Calendar("alice", "work"); !ok {
		t.Fatal("rebuild did not apply")
	}
}

func TestWaitFor(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	woke := make(chan error)
	go func() { woke <- s.WaitFor(context.Background(), 2) }()
	apply(t, s, h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}))
	select {
	case err := <-woke:
		t.Fatalf("woke at checkpoint 1: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	apply(t, s, h.cal("alice", "work", put("a.ics", "ua", "A")))
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(context.Background(), 1); err != nil {
		t.Fatalf("WaitFor a reached position: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.WaitFor(ctx, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor past the end = %v", err)
	}
	go func() { woke <- s.WaitFor(context.Background(), 3) }()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	if err := <-woke; !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitFor on close = %v", err)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	h := newHistory(t)
	log := newFakeLog()
	log.add(
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "ua", "A")),
	)
	run := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, log) }()
		return cancel, done
	}
	wait := func(pos eventlog.Position) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.WaitFor(ctx, pos); err != nil {
			t.Fatalf("WaitFor(%d): %v", pos, err)
		}
	}
	cancel, done := run()
	wait(2) // the history
	log.add(h.cal("alice", "work", put("b.ics", "ub", "B")))
	wait(3) // the live tail
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
	s.Close()

	// A restarted projector subscribes after its checkpoint.
	s = openStore(t, dir)
	closeAtEnd(t, s)
	log.add(h.cal("alice", "work", &domain.ObjectDeleted{Name: "a.ics"}))
	cancel, done = run()
	wait(4)
	if got := log.after; !reflect.DeepEqual(got, []eventlog.Position{0, 3}) {
		t.Fatalf("subscribed after %v", got)
	}
	// A record the projector cannot apply stops it with the record named.
	bad := h.cal("alice", "work", put("c.ics", "uc", "C"))
	bad.Type = "FromTheFuture"
	log.add(bad)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "position 5") {
		t.Fatalf("Run on a bad record = %v", err)
	}
	cancel()
}

// TestDeterministic applies the same log to two stores, batched differently,
// and expects byte-identical contents.
func TestDeterministic(t *testing.T) {
	h := newHistory(t)
	var recs []eventlog.Record
	recs = append(recs, h.rec(domain.PrincipalStream("alice"), &domain.PrincipalCreated{Name: "alice", DisplayName: "Alice"}))
	for _, cal := range []string{"work", "home"} {
		recs = append(recs, h.cal("alice", cal, &domain.CalendarCreated{Owner: "alice", Name: cal,
			Props: []domain.Property{{Space: "DAV:", Local: "displayname", XML: cal}}}))
		for i := range 20 {
			name := string(rune('a'+i%7)) + ".ics"
			recs = append(recs, h.cal("alice", cal, put(name, "uid-"+name, strings.Repeat("x", i))))
		}
		recs = append(recs,
			h.cal("alice", cal, &domain.ObjectDeleted{Name: "c.ics"}),
			h.cal("alice", cal, &domain.CalendarPropertiesChanged{Set: []domain.Property{{Space: "urn:x", Local: "y", XML: "z"}}}),
		)
	}
	recs = append(recs,
		h.cal("alice", "home", &domain.CalendarDeleted{}),
		h.cal("alice", "home", &domain.CalendarCreated{Owner: "alice", Name: "home"}),
		h.cal("alice", "home", put("z.ics", "uid-z", "Z")),
	)
	// The same instants read in another zone must not change a byte.
	zoned := slices.Clone(recs)
	for i := range zoned {
		zoned[i].Meta.Time = zoned[i].Meta.Time.In(time.FixedZone("X", 3600))
	}

	one, each := newStore(t), newStore(t)
	apply(t, one, recs...)
	for _, r := range zoned {
		apply(t, each, r)
	}
	a, b := dump(t, one), dump(t, each)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("stores differ:\n%q\n%q", a, b)
	}
}

func dump(t *testing.T, s *Store) [][2][]byte {
	t.Helper()
	var kvs [][2][]byte
	err := view(t, s).scanRange([]byte{0x00}, []byte{0xff}, func(k, v []byte) error {
		kvs = append(kvs, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}
