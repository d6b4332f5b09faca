package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Point-in-time restore (issue 4). A calendar's state at an instant is a
// fold of its stream; a restore compares that state with the current one and
// decides the ordinary events that turn the one into the other. Nothing in
// the log is rewritten: the state restored away from stays in the history,
// and clients learn of the restore through ordinary sync-collection deltas.

// CalendarSnapshot is a calendar as a prefix of its stream left it.
type CalendarSnapshot struct {
	// Exists is false before the first CalendarCreated and after a
	// CalendarDeleted; the other fields are then empty.
	Exists     bool
	Components []string
	Props      []Property
	// Objects are the live objects by name, each as its last ObjectPut
	// wrote it.
	Objects map[string]ObjectPut
}

// FoldCalendar is the state a calendar stream's events leave, in order.
func FoldCalendar(events ...Event) CalendarSnapshot {
	var s CalendarSnapshot
	for _, e := range events {
		s.Apply(e)
	}
	return s
}

// Apply folds one more event of the stream into s. Events a well-formed
// stream cannot hold at that point (an object put while the calendar is
// deleted) are ignored, as is the CalendarRestored marker: the projector
// refuses such a log, so no snapshot is ever asked to make sense of it.
func (s *CalendarSnapshot) Apply(e Event) {
	switch e := e.(type) {
	case *CalendarCreated:
		*s = CalendarSnapshot{Exists: true, Components: e.Components,
			Props: ChangeProperties(nil, e.Props, nil), Objects: map[string]ObjectPut{}}
	case *CalendarDeleted:
		*s = CalendarSnapshot{}
	case *CalendarPropertiesChanged:
		if s.Exists {
			s.Props = ChangeProperties(s.Props, e.Set, e.Remove)
		}
	case *ObjectPut:
		if s.Exists {
			s.Objects[e.Name] = *e
		}
	case *ObjectDeleted:
		delete(s.Objects, e.Name)
	}
}

// Clone returns a copy that later Applies to s leave alone. Property
// slices are shared: Apply replaces them rather than writing into them.
func (s CalendarSnapshot) Clone() CalendarSnapshot {
	s.Objects = maps.Clone(s.Objects)
	return s
}

// ChangeProperties applies one property change to props, removals before
// sets: the event has lost the order of the PROPPATCH's instructions, and a
// client that both removes and sets a property in one request means to end
// up with the value. It returns a new slice.
func ChangeProperties(props []Property, set []Property, remove []PropertyName) []Property {
	out := make([]Property, 0, len(props)+len(set))
	for _, p := range props {
		if !slices.Contains(remove, p.Name()) {
			out = append(out, p)
		}
	}
	for _, p := range set {
		if i := slices.IndexFunc(out, func(q Property) bool { return q.Name() == p.Name() }); i >= 0 {
			out[i] = p
		} else {
			out = append(out, p)
		}
	}
	return out
}

// Calendar-level outcomes of a restore (Restoration.Calendar).
const (
	CalendarRecreated = "created"   // it is deleted now and existed then
	CalendarRemoved   = "deleted"   // it exists now and did not then
	CalendarReplaced  = "recreated" // its component set differs: deleted and created again
)

// Restoration is a decided restore: the events to append, and what they
// change, which a dry run shows instead of appending.
type Restoration struct {
	Events []Event `json:"-"`
	// Calendar is "" when the calendar itself stays, else one of
	// CalendarRecreated, CalendarRemoved, CalendarReplaced.
	Calendar string `json:"calendarChange,omitempty"`
	// Added, Changed and Removed name the objects the restore creates,
	// overwrites and deletes, in name order.
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// PropsSet and PropsRemoved are the calendar properties the restore
	// sets (new or different values) and removes.
	PropsSet     []PropertyName `json:"propsSet,omitempty"`
	PropsRemoved []PropertyName `json:"propsRemoved,omitempty"`
}

// Empty reports whether the restore changes nothing (and so appends nothing,
// not even its marker). It reads the summary, not Events, so that it holds
// for a Restoration that went through JSON too.
func (r Restoration) Empty() bool {
	return r.Calendar == "" && len(r.Added)+len(r.Changed)+len(r.Removed)+len(r.PropsSet)+len(r.PropsRemoved) == 0
}

// DecideRestore decides putting the calendar owner/name back from current to
// target, the state it had at marker.AsOf. The choices, and why:
//
//   - The target is a state the calendar really had, so it is consistent
//     (one object per UID, every component supported) and needs no checks.
//   - Objects are compared by ETag, a hash of their data: only objects whose
//     content differs are written, so a client's sync delta after a restore
//     names exactly what changed. Deletions come first, so that a UID moving
//     between names is never held twice.
//   - A calendar deleted now that existed then is created again with its
//     old properties and objects: this is how a deleted calendar comes back.
//   - A calendar that did not exist then is deleted: the restore does what
//     it says, and the deletion is itself in the trash, restorable.
//   - A calendar whose component set differs (it was deleted and re-created
//     differently since) is deleted and created again, since the set is
//     fixed at creation. Clients then resynchronize it, as after any
//     re-creation.
//
// The marker goes first, or right after the CalendarCreated when the
// calendar is deleted now (a deleted calendar takes no other event).
func DecideRestore(owner, name string, current, target CalendarSnapshot, marker CalendarRestored) Restoration {
	var r Restoration
	switch {
	case !target.Exists && !current.Exists:
		return r
	case !target.Exists:
		r.Calendar, r.Removed = CalendarRemoved, slices.Sorted(maps.Keys(current.Objects))
		r.Events = []Event{&marker, &CalendarDeleted{}}
		return r
	case !current.Exists:
		r.Calendar = CalendarRecreated
		r.Events = []Event{createdFrom(owner, name, target), &marker}
		r.PropsSet = propNames(target.Props)
		current = CalendarSnapshot{Exists: true, Components: target.Components, Props: target.Props}
	case !sameComponents(current.Components, target.Components):
		r.Calendar = CalendarReplaced
		r.Events = []Event{&marker, &CalendarDeleted{}, createdFrom(owner, name, target)}
		r.PropsSet, r.PropsRemoved = propsDiff(current.Props, target.Props)
	default:
		r.Events = []Event{&marker}
		if set, remove := propsDiff(current.Props, target.Props); len(set) > 0 || len(remove) > 0 {
			r.PropsSet, r.PropsRemoved = set, remove
			r.Events = append(r.Events, &CalendarPropertiesChanged{Set: propsNamed(target.Props, set), Remove: remove})
		}
	}
	// After a re-creation the calendar starts empty: every target object is
	// put, but only those that differ from what clients had are reported.
	recreated := r.Calendar != ""
	for _, n := range slices.Sorted(maps.Keys(current.Objects)) {
		if _, keep := target.Objects[n]; !keep {
			r.Removed = append(r.Removed, n)
			if !recreated {
				r.Events = append(r.Events, &ObjectDeleted{Name: n})
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(target.Objects)) {
		want := target.Objects[n]
		cur, had := current.Objects[n]
		switch {
		case !had:
			r.Added = append(r.Added, n)
		case cur.ETag != want.ETag:
			r.Changed = append(r.Changed, n)
		case !recreated:
			continue
		}
		r.Events = append(r.Events, restoredPut(want))
	}
	if len(r.Events) == 1 { // the marker alone: nothing to restore
		r.Events = nil
	}
	return r
}

// DecideRestoreObject decides putting back one object, marker.Object, as
// target (the calendar at marker.AsOf) had it: written again if it existed
// then, deleted if it did not. Unlike a whole-calendar restore this meets
// the calendar as it is now, so it is refused where a PUT of the old data
// would be: when the calendar is deleted (restore the calendar instead),
// when another object holds the UID now (no-uid-conflict, naming it), or
// when the calendar no longer supports the component (after a re-creation
// with another component set). Its UID may differ from the one the name
// holds now: the owner asked for the old resource back, whole.
func DecideRestoreObject(current, target CalendarSnapshot, marker CalendarRestored) (Restoration, error) {
	var r Restoration
	name := marker.Object
	if !current.Exists {
		return r, refuse(NotFound, "the calendar does not exist now; restore the calendar instead")
	}
	want, wanted := target.Objects[name]
	cur, has := current.Objects[name]
	switch {
	case !wanted && !has, wanted && has && cur.ETag == want.ETag:
		return r, nil
	case !wanted:
		r.Removed = []string{name}
		r.Events = []Event{&marker, &ObjectDeleted{Name: name}}
		return r, nil
	}
	if !slices.Contains(CalendarInfo{Components: current.Components}.SupportedComponents(), want.Component) {
		return r, refuse(SupportedCalendarComponent, "%s is not supported by the calendar now", want.Component)
	}
	for _, holder := range slices.Sorted(maps.Keys(current.Objects)) {
		if holder != name && current.Objects[holder].UID == want.UID {
			return r, &PreconditionError{Condition: NoUIDConflict, Href: holder,
				Reason: "UID " + want.UID + " is now stored at " + holder}
		}
	}
	if has {
		r.Changed = []string{name}
	} else {
		r.Added = []string{name}
	}
	r.Events = []Event{&marker, restoredPut(want)}
	return r, nil
}

// restoredPut writes an old version again. CopiedFrom and Moved said that a
// MOVE or COPY wrote the old version; this write is the restore's own.
func restoredPut(p ObjectPut) *ObjectPut {
	p.CopiedFrom, p.Moved = "", false
	return &p
}

func createdFrom(owner, name string, s CalendarSnapshot) *CalendarCreated {
	return &CalendarCreated{Owner: owner, Name: name, Components: s.Components, Props: s.Props}
}

// sameComponents compares component sets as sets, the default set and its
// explicit spelling being the same.
func sameComponents(a, b []string) bool {
	sa := slices.Sorted(slices.Values(CalendarInfo{Components: a}.SupportedComponents()))
	sb := slices.Sorted(slices.Values(CalendarInfo{Components: b}.SupportedComponents()))
	return slices.Equal(sa, sb)
}

// propsDiff names the properties to set (absent or different in current)
// and to remove (absent in target) to turn current's into target's.
func propsDiff(current, target []Property) (set, remove []PropertyName) {
	for _, p := range target {
		if !slices.Contains(current, p) {
			set = append(set, p.Name())
		}
	}
	for _, p := range current {
		if !slices.ContainsFunc(target, func(q Property) bool { return q.Name() == p.Name() }) {
			remove = append(remove, p.Name())
		}
	}
	return set, remove
}

func propNames(props []Property) []PropertyName {
	var out []PropertyName
	for _, p := range props {
		out = append(out, p.Name())
	}
	return out
}

func propsNamed(props []Property, names []PropertyName) []Property {
	var out []Property
	for _, p := range props {
		if slices.Contains(names, p.Name()) {
			out = append(out, p)
		}
	}
	return out
}

// ParseInstant reads the instant a restore goes back to: RFC 3339
// ("2026-03-01T09:30:00Z", any offset, fractions allowed), iCalendar UTC
// ("20260301T093000Z"), or a duration before now ("-90m", "-36h"), which is
// what an operator reacting to a mistake usually has in mind. An instant
// after now is refused: there is nothing there to restore.
func ParseInstant(s string, now time.Time) (time.Time, error) {
	var t time.Time
	var err error
	switch {
	case strings.HasPrefix(s, "-"):
		var d time.Duration
		if d, err = time.ParseDuration(s); err == nil {
			t = now.Add(d)
		}
	case len(s) == len("20060102T150405Z") && strings.HasSuffix(s, "Z"):
		t, err = time.Parse("20060102T150405Z", s)
	default:
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("instant %q: want RFC 3339 (2026-03-01T09:30:00Z), iCalendar UTC (20260301T093000Z) or a duration ago (-90m)", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("instant %s is in the future", t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}
