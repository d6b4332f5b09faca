package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// contents is an in-memory CalendarContents.
type contents map[string]ObjectInfo

func (c contents) Object(name string) (ObjectInfo, bool) {
	o, ok := c[name]
	return o, ok
}

func (c contents) ObjectByUID(uid string) (ObjectInfo, bool) {
	for _, o := range c {
		if o.UID == uid {
			return o, true
		}
	}
	return ObjectInfo{}, false
}

func event(uid string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends tests//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20240101T000000Z\r\n" +
		"DTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\nSUMMARY:Test\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n")
}

// wantCondition fails t unless err is a *PreconditionError with condition c
// ("" wants no error), and returns it.
func wantCondition(t *testing.T, err error, c Condition) *PreconditionError {
	t.Helper()
	if c == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return nil
	}
	var pe *PreconditionError
	if !errors.As(err, &pe) || pe.Condition != c {
		t.Fatalf("got %v, want %s", err, c)
	}
	return pe
}

var work = CalendarInfo{Owner: "alice", Name: "work"}

func TestDecidePutObject(t *testing.T) {
	stored := contents{"a.ics": {Name: "a.ics", UID: "uid-a", Component: "VEVENT"}}

	t.Run("new object", func(t *testing.T) {
		data := event("uid-b")
		put, err := DecidePutObject(work, stored, "b.ics", data, Limits{})
		wantCondition(t, err, "")
		want := ObjectPut{Name: "b.ics", UID: "uid-b", Component: "VEVENT", ETag: ETagOf(data), Data: string(data)}
		if *put != want {
			t.Errorf("got %+v, want %+v", *put, want)
		}
	})
	t.Run("replace keeping the UID", func(t *testing.T) {
		_, err := DecidePutObject(work, stored, "a.ics", event("uid-a"), Limits{})
		wantCondition(t, err, "")
	})
	t.Run("UID held by another resource", func(t *testing.T) {
		_, err := DecidePutObject(work, stored, "b.ics", event("uid-a"), Limits{})
		if pe := wantCondition(t, err, NoUIDConflict); pe.Href != "a.ics" {
			t.Errorf("Href %q, want the holder a.ics", pe.Href)
		}
	})
	t.Run("UID change at the same name", func(t *testing.T) {
		_, err := DecidePutObject(work, stored, "a.ics", event("uid-other"), Limits{})
		if pe := wantCondition(t, err, NoUIDConflict); pe.Href != "a.ics" {
			t.Errorf("Href %q, want a.ics", pe.Href)
		}
	})
	t.Run("size limit", func(t *testing.T) {
		data := event("uid-b")
		_, err := DecidePutObject(work, stored, "b.ics", data, Limits{MaxResourceSize: len(data) - 1})
		wantCondition(t, err, MaxResourceSize)
		_, err = DecidePutObject(work, stored, "b.ics", data, Limits{MaxResourceSize: len(data)})
		wantCondition(t, err, "")
	})
	t.Run("invalid data", func(t *testing.T) {
		_, err := DecidePutObject(work, stored, "b.ics", []byte("hello"), Limits{})
		wantCondition(t, err, ValidCalendarData)
	})
	t.Run("component not supported", func(t *testing.T) {
		tasks := CalendarInfo{Owner: "alice", Name: "tasks", Components: []string{"VTODO"}}
		_, err := DecidePutObject(tasks, contents{}, "b.ics", event("uid-b"), Limits{})
		wantCondition(t, err, SupportedCalendarComponent)
	})
	for _, name := range []string{"", ".", "..", "a/b.ics", "a\x00.ics", "tab\t.ics", "del\x7f.ics", "\xff.ics", strings.Repeat("x", 256)} {
		t.Run(fmt.Sprintf("name %q", name), func(t *testing.T) {
			_, err := DecidePutObject(work, contents{}, name, event("uid-b"), Limits{})
			wantCondition(t, err, ValidCalendarObjectResource)
		})
	}
	for _, name := range []string{"b.ics", "B C.ics", "événement.ics", ".hidden", strings.Repeat("x", 255)} {
		t.Run(fmt.Sprintf("name %q", name), func(t *testing.T) {
			_, err := DecidePutObject(work, contents{}, name, event("uid-b"), Limits{})
			wantCondition(t, err, "")
		})
	}
}

func TestDecideRelocate(t *testing.T) {
	home := CalendarInfo{Owner: "alice", Name: "home"}
	tasks := CalendarInfo{Owner: "alice", Name: "tasks", Components: []string{"VTODO"}}
	data := event("uid-a")
	src := ObjectInfo{Name: "a.ics", UID: "uid-a", Component: "VEVENT", ETag: ETagOf(data)}
	workObjects := contents{"a.ics": src, "x.ics": {Name: "x.ics", UID: "uid-x", Component: "VEVENT"}}

	cases := []struct {
		name       string
		dstCal     CalendarInfo
		dst        contents
		dstName    string
		overwrite  bool
		move       bool
		lim        Limits
		want       Condition
		wantHref   string
		wantDelete bool
		replaced   bool
	}{
		{name: "copy to another calendar", dstCal: home, dst: contents{}, dstName: "a.ics", overwrite: true},
		{name: "move to another calendar", dstCal: home, dst: contents{}, dstName: "b.ics", move: true, wantDelete: true},
		{name: "rename in the same calendar", dstCal: work, dst: workObjects, dstName: "renamed.ics", move: true, wantDelete: true},
		{name: "copy in the same calendar duplicates the UID", dstCal: work, dst: workObjects, dstName: "copy.ics",
			want: NoUIDConflict, wantHref: "a.ics"},
		{name: "onto itself", dstCal: work, dst: workObjects, dstName: "a.ics", overwrite: true, move: true, want: CannotModifyProtected},
		{name: "overwrite T replaces another UID", dstCal: work, dst: workObjects, dstName: "x.ics", overwrite: true, move: true,
			wantDelete: true, replaced: true},
		{name: "overwrite F refuses an existing destination", dstCal: work, dst: workObjects, dstName: "x.ics", move: true,
			want: PreconditionFailed},
		{name: "overwrite T replaces the same UID elsewhere", dstCal: home, dst: contents{"a.ics": {Name: "a.ics", UID: "uid-a", Component: "VEVENT"}},
			dstName: "a.ics", overwrite: true, replaced: true},
		{name: "component not supported at the destination", dstCal: tasks, dst: contents{}, dstName: "a.ics", move: true,
			want: SupportedCalendarComponent},
		{name: "UID conflict at the destination", dstCal: home, dst: contents{"other.ics": {Name: "other.ics", UID: "uid-a", Component: "VEVENT"}},
			dstName: "a.ics", move: true, want: NoUIDConflict, wantHref: "other.ics"},
		{name: "invalid destination name", dstCal: home, dst: contents{}, dstName: "..", move: true,
			want: ValidCalendarObjectResource},
		{name: "size limit at the destination", dstCal: home, dst: contents{}, dstName: "a.ics", lim: Limits{MaxResourceSize: 10},
			want: MaxResourceSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := DecideRelocate(work, src, data, c.dstCal, c.dst, c.dstName, c.overwrite, c.move, c.lim)
			if pe := wantCondition(t, err, c.want); pe != nil {
				if pe.Href != c.wantHref {
					t.Errorf("Href %q, want %q", pe.Href, c.wantHref)
				}
				return
			}
			wantPut := ObjectPut{Name: c.dstName, UID: "uid-a", Component: "VEVENT", ETag: src.ETag, Data: string(data),
				CopiedFrom: "alice/work/a.ics", Moved: c.move}
			if *r.Put != wantPut {
				t.Errorf("Put %+v, want %+v", *r.Put, wantPut)
			}
			if r.Replaced != c.replaced {
				t.Errorf("Replaced %v, want %v", r.Replaced, c.replaced)
			}
			switch {
			case c.wantDelete && r.Delete == nil:
				t.Error("MOVE without a Delete")
			case c.wantDelete:
				want := ObjectDeleted{Name: "a.ics", MovedTo: c.dstCal.Owner + "/" + c.dstCal.Name + "/" + c.dstName}
				if *r.Delete != want {
					t.Errorf("Delete %+v, want %+v", *r.Delete, want)
				}
			case r.Delete != nil:
				t.Errorf("COPY with a Delete %+v", *r.Delete)
			}
		})
	}
}

func TestDecideCreateCalendar(t *testing.T) {
	cases := []struct {
		name       string
		cal        string
		exists     bool
		components []string
		want       Condition
		wantComps  []string
	}{
		{name: "default components", cal: "work"},
		{name: "explicit components are normalized", cal: "tasks", components: []string{"vtodo", "VJOURNAL"}, wantComps: []string{"VTODO", "VJOURNAL"}},
		{name: "free-busy", cal: "fb", components: []string{"VFREEBUSY"}, wantComps: []string{"VFREEBUSY"}},
		{name: "unknown component", cal: "x", components: []string{"VALARM"}, want: SupportedCalendarComponent},
		{name: "repeated component", cal: "x", components: []string{"VEVENT", "vevent"}, want: SupportedCalendarComponent},
		{name: "exists", cal: "work", exists: true, want: ResourceMustBeNull},
		{name: "reserved inbox", cal: "inbox", want: ValidCalendarName},
		{name: "reserved, any case", cal: "Outbox", want: ValidCalendarName},
		{name: "reserved asof", cal: "asof", want: ValidCalendarName},
		{name: "dot name", cal: ".well-known", want: ValidCalendarName},
		{name: "empty", cal: "", want: ValidCalendarName},
		{name: "slash", cal: "a/b", want: ValidCalendarName},
		{name: "control character", cal: "a\nb", want: ValidCalendarName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := []Property{{Space: "DAV:", Local: "displayname", XML: "Work"}}
			ev, err := DecideCreateCalendar("alice", c.cal, c.exists, c.components, props)
			if wantCondition(t, err, c.want) != nil {
				return
			}
			if ev.Owner != "alice" || ev.Name != c.cal || fmt.Sprint(ev.Components) != fmt.Sprint(c.wantComps) || len(ev.Props) != 1 {
				t.Errorf("got %+v", *ev)
			}
		})
	}
	t.Run("bad calendar-timezone", func(t *testing.T) {
		props := []Property{{Space: NSCalDAV, Local: "calendar-timezone", XML: "Europe/Berlin"}}
		_, err := DecideCreateCalendar("alice", "work", false, nil, props)
		wantCondition(t, err, ValidTimezone)
	})
}

func TestDecideChangeProperties(t *testing.T) {
	good := Property{Space: NSCalDAV, Local: "calendar-timezone", XML: strings.ReplaceAll(berlinTimezone, "\r", "&#13;")}
	color := Property{Space: "http://apple.com/ns/ical/", Local: "calendar-color", XML: "#FF2968FF"}
	remove := []PropertyName{{Space: "DAV:", Local: "displayname"}}
	ev, err := DecideChangeProperties([]Property{good, color}, remove)
	wantCondition(t, err, "")
	if len(ev.Set) != 2 || len(ev.Remove) != 1 {
		t.Errorf("got %+v", *ev)
	}
	bad := Property{Space: NSCalDAV, Local: "calendar-timezone", XML: "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"}
	_, err = DecideChangeProperties([]Property{color, bad}, nil)
	wantCondition(t, err, ValidTimezone)
}

func TestDecideCreatePrincipal(t *testing.T) {
	ev, err := DecideCreatePrincipal("alice@example.com", "Alice", "alice@example.com", false)
	wantCondition(t, err, "")
	if want := (PrincipalCreated{Name: "alice@example.com", DisplayName: "Alice", Email: "alice@example.com"}); *ev != want {
		t.Errorf("got %+v, want %+v", *ev, want)
	}
	_, err = DecideCreatePrincipal("alice", "", "", true)
	wantCondition(t, err, ResourceMustBeNull)
	for _, name := range []string{"", ".alice", "-alice", "al ice", "al/ice", "al:ice", "ålice", strings.Repeat("a", 65)} {
		_, err := DecideCreatePrincipal(name, "", "", false)
		wantCondition(t, err, ValidCalendarName)
	}
}

func TestDecideDeletes(t *testing.T) {
	_, err := DecideDeleteObject(contents{}, "a.ics")
	wantCondition(t, err, NotFound)
	ev, err := DecideDeleteObject(contents{"a.ics": {Name: "a.ics"}}, "a.ics")
	wantCondition(t, err, "")
	if *ev != (ObjectDeleted{Name: "a.ics"}) {
		t.Errorf("got %+v", *ev)
	}
	_, err = DecideDeleteCalendar(false)
	wantCondition(t, err, NotFound)
	_, err = DecideDeleteCalendar(true)
	wantCondition(t, err, "")
}

func TestETagOf(t *testing.T) {
	a := ETagOf(event("uid-a"))
	if len(a) != 34 || a[0] != '"' || a[33] != '"' {
		t.Fatalf("ETag %s is not a quoted 32-hex-digit hash", a)
	}
	if ETagOf(event("uid-a")) != a {
		t.Error("same data, different ETag")
	}
	if ETagOf(event("uid-b")) == a {
		t.Error("different data, same ETag")
	}
	if got, want := ETagOf([]byte("")), `"e3b0c44298fc1c149afbf4c8996fb924"`; got != want {
		t.Errorf("ETagOf(empty) = %s, want %s: stored ETags would change on replay", got, want)
	}
}

// TestDecideIndexHorizon: the first decision always advances; later ones
// only once the horizon in effect is a step behind now plus the horizon,
// so that advances (each re-indexing every open-ended object) come monthly.
func TestDecideIndexHorizon(t *testing.T) {
	now := time.Date(2026, 4, 10, 15, 4, 5, 999, time.FixedZone("CEST", 2*3600))
	first := DecideIndexHorizon(now, time.Time{})
	want := time.Date(2028, 4, 10, 13, 4, 5, 0, time.UTC)
	if first == nil || !first.Through.Equal(want) || first.Through.Location() != time.UTC {
		t.Fatalf("first decision %+v, want Through %v in UTC, whole seconds", first, want)
	}
	for _, c := range []struct {
		later time.Duration
		due   bool
	}{{0, false}, {24 * time.Hour, false}, {IndexHorizonStep - time.Second, false}, {IndexHorizonStep, true}, {400 * 24 * time.Hour, true}} {
		got := DecideIndexHorizon(now.Add(c.later), first.Through)
		if (got != nil) != c.due {
			t.Errorf("%v after the last advance: %+v, want due %v", c.later, got, c.due)
		}
	}
	if got := DecideIndexHorizon(now, want.AddDate(1, 0, 0)); got != nil {
		t.Errorf("a horizon ahead of now's (another node's clock) is advanced again: %+v", got)
	}
}
