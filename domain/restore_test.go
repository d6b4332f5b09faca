package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func putOf(name, uid, body string) *ObjectPut {
	data := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nSUMMARY:" + body + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	return &ObjectPut{Name: name, UID: uid, Component: "VEVENT", ETag: ETagOf([]byte(data)), Data: data}
}

var (
	displayName = func(v string) Property { return Property{Space: "DAV:", Local: "displayname", XML: v} }
	color       = Property{Space: "http://apple.com/ns/ical/", Local: "calendar-color", XML: "#FF0000FF"}
	created     = &CalendarCreated{Owner: "alice", Name: "work", Props: []Property{displayName("Work")}}
)

func TestFoldCalendar(t *testing.T) {
	a1, a2, b := putOf("a.ics", "a", "one"), putOf("a.ics", "a", "two"), putOf("b.ics", "b", "bee")
	cases := []struct {
		name   string
		events []Event
		want   CalendarSnapshot
	}{
		{"nothing", nil, CalendarSnapshot{}},
		{"created", []Event{created}, CalendarSnapshot{Exists: true, Props: created.Props, Objects: map[string]ObjectPut{}}},
		{"edits keep the last version", []Event{created, a1, b, a2, &ObjectDeleted{Name: "b.ics"}},
			CalendarSnapshot{Exists: true, Props: created.Props, Objects: map[string]ObjectPut{"a.ics": *a2}}},
		{"properties", []Event{created, &CalendarPropertiesChanged{Set: []Property{displayName("Job"), color}},
			&CalendarPropertiesChanged{Remove: []PropertyName{color.Name()}}},
			CalendarSnapshot{Exists: true, Props: []Property{displayName("Job")}, Objects: map[string]ObjectPut{}}},
		{"deleted", []Event{created, a1, &CalendarDeleted{}}, CalendarSnapshot{}},
		{"re-created starts empty", []Event{created, a1, &CalendarDeleted{}, &CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VTODO"}}},
			CalendarSnapshot{Exists: true, Components: []string{"VTODO"}, Props: []Property{}, Objects: map[string]ObjectPut{}}},
		{"the marker changes nothing", []Event{created, &CalendarRestored{Object: "a.ics"}, a1},
			CalendarSnapshot{Exists: true, Props: created.Props, Objects: map[string]ObjectPut{"a.ics": *a1}}},
	}
	for _, c := range cases {
		if got := FoldCalendar(c.events...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s := FoldCalendar(created, putOf("a.ics", "a", "one"))
	c := s.Clone()
	s.Apply(&ObjectDeleted{Name: "a.ics"})
	if _, ok := c.Objects["a.ics"]; !ok {
		t.Error("a later Apply changed the clone")
	}
}

// summary is a Restoration's events as short strings, for tables.
func summary(events []Event) string {
	var out []string
	for _, e := range events {
		switch e := e.(type) {
		case *ObjectPut:
			out = append(out, "put "+e.Name)
		case *ObjectDeleted:
			out = append(out, "delete "+e.Name)
		case *CalendarPropertiesChanged:
			s := "props"
			for _, p := range e.Set {
				s += " +" + p.Local + "=" + p.XML
			}
			for _, p := range e.Remove {
				s += " -" + p.Local
			}
			out = append(out, s)
		default:
			out = append(out, e.EventType())
		}
	}
	return strings.Join(out, ", ")
}

func TestDecideRestore(t *testing.T) {
	a1, a2, b, c := putOf("a.ics", "a", "one"), putOf("a.ics", "a", "two"), putOf("b.ics", "b", "bee"), putOf("c.ics", "c", "sea")
	moved := *b
	moved.CopiedFrom = "alice/home/b.ics"
	todo := &CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VTODO"}}
	cases := []struct {
		name            string
		current, target []Event
		events          string
		calendar        string
		added, changed  []string
		removed         []string
	}{
		{name: "same state: nothing, not even the marker",
			current: []Event{created, a1}, target: []Event{created, a1}},
		{name: "neither exists", current: []Event{created, &CalendarDeleted{}}},
		{name: "edited, deleted and added objects",
			current: []Event{created, a2, c}, target: []Event{created, a1, b},
			events: "CalendarRestored, delete c.ics, put a.ics, put b.ics",
			added:  []string{"b.ics"}, changed: []string{"a.ics"}, removed: []string{"c.ics"}},
		{name: "a moved object comes back as the restore's own write",
			current: []Event{created}, target: []Event{created, &moved},
			events: "CalendarRestored, put b.ics", added: []string{"b.ics"}},
		{name: "properties: changed, added and removed",
			current: []Event{created, &CalendarPropertiesChanged{Set: []Property{displayName("Job"), color}}},
			target:  []Event{created, &CalendarPropertiesChanged{Set: []Property{Property{Space: NSCalDAV, Local: "calendar-description", XML: "d"}}}},
			events:  "CalendarRestored, props +displayname=Work +calendar-description=d -calendar-color"},
		{name: "deleted now, existed then: created again with its objects",
			current: []Event{created, a1, &CalendarDeleted{}}, target: []Event{created, &CalendarPropertiesChanged{Set: []Property{color}}, a1, b},
			events: "CalendarCreated, CalendarRestored, put a.ics, put b.ics", calendar: CalendarRecreated, added: []string{"a.ics", "b.ics"}},
		{name: "did not exist then: deleted",
			current: []Event{created, a1}, target: nil,
			events: "CalendarRestored, CalendarDeleted", calendar: CalendarRemoved, removed: []string{"a.ics"}},
		{name: "other components: deleted and created again, unchanged objects put silently",
			current: []Event{created, a1, &CalendarDeleted{}, todo, c}, target: []Event{created, a1},
			events:   "CalendarRestored, CalendarDeleted, CalendarCreated, put a.ics",
			calendar: CalendarReplaced, added: []string{"a.ics"}, removed: []string{"c.ics"}},
		{name: "the default set spelt out is the same set",
			current: []Event{&CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VTODO", "VEVENT", "VJOURNAL"}, Props: created.Props}, a1},
			target:  []Event{created, a2},
			events:  "CalendarRestored, put a.ics", changed: []string{"a.ics"}},
	}
	for _, tc := range cases {
		marker := CalendarRestored{AsOf: time.Unix(1, 0)}
		r := DecideRestore("alice", "work", FoldCalendar(tc.current...), FoldCalendar(tc.target...), marker)
		if got := summary(r.Events); got != tc.events {
			t.Errorf("%s: events %q, want %q", tc.name, got, tc.events)
		}
		if r.Calendar != tc.calendar || !reflect.DeepEqual(r.Added, tc.added) || !reflect.DeepEqual(r.Changed, tc.changed) || !reflect.DeepEqual(r.Removed, tc.removed) {
			t.Errorf("%s: calendar %q added %v changed %v removed %v", tc.name, r.Calendar, r.Added, r.Changed, r.Removed)
		}
		if r.Empty() != (tc.events == "") {
			t.Errorf("%s: Empty() = %v", tc.name, r.Empty())
		}
		// Applying the decision to the current state must give the target.
		after := FoldCalendar(append(append([]Event{}, tc.current...), r.Events...)...)
		if want := FoldCalendar(tc.target...); !sameSnapshot(after, want) {
			t.Errorf("%s: restored state %+v, want %+v", tc.name, after, want)
		}
	}
}

// sameSnapshot compares what a client can see: CopiedFrom is provenance.
func sameSnapshot(a, b CalendarSnapshot) bool {
	if a.Exists != b.Exists || !sameComponents(a.Components, b.Components) || len(a.Objects) != len(b.Objects) {
		return false
	}
	if set, remove := propsDiff(a.Props, b.Props); len(set)+len(remove) > 0 {
		return false
	}
	for n, o := range a.Objects {
		if b.Objects[n].ETag != o.ETag {
			return false
		}
	}
	return true
}

func TestDecideRestoreObject(t *testing.T) {
	a1, a2, b := putOf("a.ics", "a", "one"), putOf("a.ics", "a", "two"), putOf("b.ics", "b", "bee")
	renamed := putOf("x.ics", "a", "one") // a's UID at another name
	other := putOf("a.ics", "z", "zed")   // another UID at a's name
	task := &ObjectPut{Name: "a.ics", UID: "a", Component: "VTODO", ETag: `"t"`}
	cases := []struct {
		name            string
		current, target []Event
		events          string
		cond            Condition
	}{
		{name: "edited: the old version again", current: []Event{created, a2, b}, target: []Event{created, a1}, events: "CalendarRestored, put a.ics"},
		{name: "deleted: back", current: []Event{created}, target: []Event{created, a1}, events: "CalendarRestored, put a.ics"},
		{name: "unchanged", current: []Event{created, a1}, target: []Event{created, a1}},
		{name: "absent then and now", current: []Event{created, b}, target: []Event{created}},
		{name: "did not exist then: deleted", current: []Event{created, a1}, target: []Event{created}, events: "CalendarRestored, delete a.ics"},
		{name: "another UID at the name now is replaced", current: []Event{created, other}, target: []Event{created, a1}, events: "CalendarRestored, put a.ics"},
		{name: "its UID is at another name now", current: []Event{created, renamed}, target: []Event{created, a1}, cond: NoUIDConflict},
		{name: "the calendar is deleted", current: []Event{created, &CalendarDeleted{}}, target: []Event{created, a1}, cond: NotFound},
		{name: "the calendar no longer takes the component",
			current: []Event{created, &CalendarDeleted{}, &CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VEVENT"}}},
			target:  []Event{&CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VTODO"}}, task}, cond: SupportedCalendarComponent},
	}
	for _, tc := range cases {
		r, err := DecideRestoreObject(FoldCalendar(tc.current...), FoldCalendar(tc.target...), CalendarRestored{Object: "a.ics"})
		if tc.cond != "" {
			pe, ok := err.(*PreconditionError)
			if !ok || pe.Condition != tc.cond {
				t.Errorf("%s: err %v, want %s", tc.name, err, tc.cond)
			}
			if ok && pe.Condition == NoUIDConflict && pe.Href != "x.ics" {
				t.Errorf("%s: conflict names %q", tc.name, pe.Href)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := summary(r.Events); got != tc.events {
			t.Errorf("%s: events %q, want %q", tc.name, got, tc.events)
		}
	}
}

func TestParseInstant(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"2026-03-01T09:30:00Z":        time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		"2026-03-01T10:30:00.5+01:00": time.Date(2026, 3, 1, 9, 30, 0, 5e8, time.UTC),
		"20260301T093000Z":            time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		"-90m":                        time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC),
		"2026-03-01T12:00:00Z":        now,
	}
	for in, want := range good {
		if got, err := ParseInstant(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-03-01", "90m", "2026-03-01T12:00:01Z", "20260301T093000"} {
		if got, err := ParseInstant(in, now); err == nil {
			t.Errorf("%q accepted as %v", in, got)
		}
	}
}
