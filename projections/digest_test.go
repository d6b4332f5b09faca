package projections

import (
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// twoCalendars is a small history over two owners and three calendars, with
// a replacement, a deletion and a property change.
func twoCalendars(h *history) []eventlog.Record {
	return []eventlog.Record{
		h.rec(domain.PrincipalStream("alice"), &domain.PrincipalCreated{Name: "alice"}),
		h.cal("alice", "work", &domain.CalendarCreated{Owner: "alice", Name: "work"}),
		h.cal("alice", "home", &domain.CalendarCreated{Owner: "alice", Name: "home"}),
		h.cal("bob", "work", &domain.CalendarCreated{Owner: "bob", Name: "work"}),
		h.cal("alice", "work", put("a.ics", "uid-a", event("uid-a", 0))),
		h.cal("alice", "work", put("a.ics", "uid-a", event("uid-a", 1))),
		h.cal("alice", "home", put("b.ics", "uid-b", "B")),
		h.cal("alice", "home", &domain.ObjectDeleted{Name: "b.ics"}),
		h.cal("bob", "work", put("c.ics", "uid-c", event("uid-c", 0))),
		h.cal("bob", "work", &domain.CalendarPropertiesChanged{Set: []domain.Property{{Space: "DAV:", Local: "displayname", XML: "Bob's"}}}),
	}
}

func digest(t *testing.T, s *Store) Digest {
	t.Helper()
	d, err := view(t, s).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func groups(diffs []DigestDiff) []string {
	var out []string
	for _, d := range diffs {
		out = append(out, d.Group)
	}
	return out
}

func TestDigestIsDeterministic(t *testing.T) {
	a, b := newStore(t), newStore(t)
	recs := twoCalendars(newHistory(t))
	apply(t, a, recs...)
	for _, r := range recs { // one record per batch: batching must not matter
		apply(t, b, r)
	}
	da, db := digest(t, a), digest(t, b)
	if diffs := da.Diff(db); len(diffs) != 0 {
		t.Fatalf("same log, different digests: %v", groups(diffs))
	}
	if got := len(da.Calendars); got != 3 {
		t.Fatalf("%d calendars in the digest, want 3: %v", got, da.Calendars)
	}
	if da.Principals.Keys != 1 || da.Other.Keys != 2 {
		t.Fatalf("principals %d keys, other %d keys; want 1 and 2 (schema, checkpoint)", da.Principals.Keys, da.Other.Keys)
	}
}

// A difference in one calendar's keys, in any of its tables, is reported
// against that calendar alone.
func TestDigestNamesTheDivergentCalendar(t *testing.T) {
	recs := twoCalendars(newHistory(t))
	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"data", memberKey(tagData, "alice", "work", "a.ics")},
		{"change", changeKey("alice", "work", 7)},
		{"time index", timeKey("bob", "work", 0, 20000, "c.ics")},
		{"calendar record", calendarKey("alice", "home")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live, rebuilt := newStore(t), newStore(t)
			apply(t, live, recs...)
			apply(t, rebuilt, recs...)
			if err := live.db.Set(tc.key, []byte("tampered"), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			owner, cal := "alice", "work"
			if tc.name == "time index" {
				owner = "bob"
			}
			if tc.name == "calendar record" {
				cal = "home"
			}
			want := []string{owner + "/" + cal}
			if got := groups(digest(t, live).Diff(digest(t, rebuilt))); !reflect.DeepEqual(got, want) {
				t.Fatalf("diff %v, want %v", got, want)
			}
		})
	}
}

func TestKeyGroup(t *testing.T) {
	for _, tc := range []struct {
		key   []byte
		group group
		cal   string
	}{
		{calendarKey("alice", "work"), groupCalendar, "alice/work"},
		{memberKey(tagObject, "alice", "work", "a.ics"), groupCalendar, "alice/work"},
		{memberKey(tagData, "al", "ice", "x"), groupCalendar, "al/ice"},
		{memberKey(tagUID, "alice", "work", "uid\x00with\x00zeros"), groupCalendar, "alice/work"},
		{changeKey("alice", "work", 0), groupCalendar, "alice/work"},
		{memberKey(tagMember, "bob", "home", "n.ics"), groupCalendar, "bob/home"},
		{timeKey("bob", "home", 3, -5, "n.ics"), groupCalendar, "bob/home"},
		{memberKey(tagOpenEnded, "bob", "home", "n.ics"), groupCalendar, "bob/home"},
		{memberKey(tagTimeIndex, "bob", "home", "n.ics"), groupCalendar, "bob/home"},
		{principalKey("alice"), groupPrincipal, ""},
		{schemaKey, groupOther, ""},
		{checkpointKey, groupOther, ""},
		{[]byte("zalice\x00work\x00x"), groupOther, ""}, // a table this file does not know
		{[]byte("oalice"), groupOther, ""},              // malformed
		{[]byte("calice\x00"), groupOther, ""},
		{nil, groupOther, ""},
	} {
		g, cal := keyGroup(tc.key)
		if g != tc.group || cal != tc.cal {
			t.Errorf("keyGroup(%q) = %v, %q; want %v, %q", tc.key, g, cal, tc.group, tc.cal)
		}
	}
	// Every per-calendar table is attributed: a table added to
	// calendarTables without a test here still lands on its calendar.
	for _, tag := range calendarTables {
		if g, cal := keyGroup(memberKey(tag, "o", "c", "m")); g != groupCalendar || cal != "o/c" {
			t.Errorf("table %q: %v %q", tag, g, cal)
		}
	}
}

// Keys of unknown tables are still compared, under "other".
func TestDigestCoversUnknownKeys(t *testing.T) {
	a, b := newStore(t), newStore(t)
	recs := twoCalendars(newHistory(t))
	apply(t, a, recs...)
	apply(t, b, recs...)
	if err := a.db.Set([]byte("znew-table"), []byte{1}, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if got := groups(digest(t, a).Diff(digest(t, b))); !reflect.DeepEqual(got, []string{"other"}) {
		t.Fatalf("diff %v, want [other]", got)
	}
}

func (g group) String() string { return []string{"other", "principal", "calendar"}[g] }
