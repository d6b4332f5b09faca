package projections

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

// TestOpenAsOf replays a calendar whose principal stream and a neighbour
// calendar interleave with it, and checks the state at instants before,
// between and after its changes.
func TestOpenAsOf(t *testing.T) {
	ctx := context.Background()
	log, err := pebblelog.Open("log", pebblelog.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	at := func(sec int) time.Time { return epoch.Add(time.Duration(sec) * time.Second) }
	appendAt := func(sec int, stream string, ev domain.Event) {
		t.Helper()
		typ, schema, data, err := domain.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		meta := eventlog.Metadata{Principal: "alice", OnBehalfOf: "alice", Time: at(sec)}
		if _, err := log.Append(ctx, stream, eventlog.Any, []eventlog.Event{{Type: typ, SchemaVersion: schema, Data: data, Meta: meta}}); err != nil {
			t.Fatal(err)
		}
	}
	work, other := domain.CalendarStream("alice", "work"), domain.CalendarStream("alice", "other")
	v1, v2 := vevent("a", "one"), vevent("a", "two")
	appendAt(10, domain.PrincipalStream("alice"), &domain.PrincipalCreated{Name: "alice"})
	appendAt(20, other, &domain.CalendarCreated{Owner: "alice", Name: "other"})
	appendAt(30, work, &domain.CalendarCreated{Owner: "alice", Name: "work"})
	appendAt(40, work, put("a.ics", "a", v1))
	appendAt(45, other, put("x.ics", "x", vevent("x", "elsewhere")))
	appendAt(50, work, put("a.ics", "a", v2))
	appendAt(60, work, &domain.ObjectDeleted{Name: "a.ics"})

	for _, tc := range []struct {
		sec      int
		calendar bool
		data     string // "" when a.ics does not exist
		revision eventlog.Revision
	}{
		{25, false, "", 0},
		{30, true, "", 0},
		{44, true, v1, 1},
		{50, true, v2, 2},
		{59, true, v2, 2},
		{99, true, "", 3},
	} {
		s, err := OpenAsOf(ctx, log, at(tc.sec), domain.PrincipalStream("alice"), work)
		if err != nil {
			t.Fatalf("at %d: %v", tc.sec, err)
		}
		v := s.View()
		if _, ok, err := v.Principal("alice"); !ok || err != nil {
			t.Errorf("at %d: principal %v, %v", tc.sec, ok, err)
		}
		cal, ok, err := v.Calendar("alice", "work")
		if err != nil || ok != tc.calendar || cal.Revision != tc.revision {
			t.Errorf("at %d: calendar found=%v revision %d (%v), want %v %d", tc.sec, ok, cal.Revision, err, tc.calendar, tc.revision)
		}
		o, ok, err := v.Object("alice", "work", "a.ics")
		if err != nil || ok != (tc.data != "") || o.Data != tc.data {
			t.Errorf("at %d: object found=%v data %q (%v), want %q", tc.sec, ok, o.Data, err, tc.data)
		}
		if _, ok, _ := v.Calendar("alice", "other"); ok {
			t.Errorf("at %d: a stream not asked for was replayed", tc.sec)
		}
		v.Close()
		s.Close()
	}
}

func vevent(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250301T090000Z\r\nDTSTART:20250302T090000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}
