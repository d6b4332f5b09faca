package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

const (
	iosClient = "iOS/18.3 (22D63) dataaccessd/1.0"
	macClient = "macOS/15.3 (24D60) CalendarAgent/1000"
	tbClient  = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.7.0"
)

// auditStory writes a log in which bob, alice's delegate, edits her
// meeting from Thunderbird, she moves it to another calendar, puts a new
// object under its old name and deletes it, then deletes the calendar the
// meeting went to. Event i (1-based) is at genEpoch + i seconds. Last, the
// server advances the index horizon, far enough ahead that a server started
// on this log has none to advance: it audits the same log as offline.
func auditStory(t *testing.T, data string) {
	t.Helper()
	log, err := pebblelog.Open(filepath.Join(data, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	obj := func(name, uid string) *domain.ObjectPut { return genPut(name, uid, 1) }
	moved := obj("x.ics", "u1")
	moved.CopiedFrom, moved.Moved = "alice/work/x.ics", true
	steps := []struct {
		stream, actor, client string
		ev                    domain.Event
	}{
		{domain.PrincipalStream("alice"), eventlog.Operator, "kalends-cli", &domain.PrincipalCreated{Name: "alice"}},
		{domain.PrincipalStream("bob"), eventlog.Operator, "kalends-cli", &domain.PrincipalCreated{Name: "bob"}},
		{domain.CalendarStream("alice", "work"), "alice", iosClient, &domain.CalendarCreated{Owner: "alice", Name: "work"}},
		{domain.CalendarStream("alice", "home"), "alice", iosClient, &domain.CalendarCreated{Owner: "alice", Name: "home"}},
		{domain.CalendarStream("alice", "work"), "alice", iosClient, obj("x.ics", "u1")}, // 5
		{domain.CalendarStream("alice", "work"), "bob", tbClient, obj("y.ics", "u2")},
		{domain.CalendarStream("alice", "work"), "bob", tbClient, obj("x.ics", "u1")},
		{domain.CalendarStream("alice", "work"), "alice", macClient, &domain.ObjectDeleted{Name: "x.ics", MovedTo: "alice/home/x.ics"}},
		{domain.CalendarStream("alice", "home"), "alice", macClient, moved},
		{domain.CalendarStream("alice", "work"), "alice", iosClient, obj("x.ics", "u3")}, // 10
		{domain.CalendarStream("alice", "work"), "alice", iosClient, &domain.ObjectDeleted{Name: "x.ics"}},
		{domain.CalendarStream("alice", "home"), "alice", iosClient, &domain.CalendarDeleted{}},
		{domain.CalendarStream("alice", "work"), "bob", tbClient, &domain.ObjectDeleted{Name: "y.ics"}},
		{domain.IndexHorizonStream, eventlog.System, "kalends", &domain.IndexHorizonAdvanced{Through: storyHorizon}},
	}
	for i, s := range steps {
		typ, schema, payload, err := domain.Encode(s.ev)
		if err != nil {
			t.Fatal(err)
		}
		owner := "alice"
		switch s.stream {
		case domain.PrincipalStream("bob"):
			owner = "bob"
		case domain.IndexHorizonStream:
			owner = ""
		}
		meta := eventlog.Metadata{Principal: s.actor, OnBehalfOf: owner, Time: genEpoch.Add(time.Duration(i+1) * time.Second),
			RequestID: "req-" + string(rune('a'+i)), UserAgent: s.client}
		if _, err := log.Append(context.Background(), s.stream, eventlog.Any, []eventlog.Event{{Type: typ, SchemaVersion: schema, Data: payload, Meta: meta}}); err != nil {
			t.Fatal(err)
		}
	}
}

var storyHorizon = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func auditPositions(t *testing.T, data string, args ...string) []eventlog.Position {
	t.Helper()
	code, out, errOut := kalends(t, "", append([]string{"audit", "--data", data, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("audit %v: exit %d: %s", args, code, errOut)
	}
	var got []eventlog.Position
	for line := range strings.Lines(out) {
		var e auditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit %v: %q: %v", args, line, err)
		}
		got = append(got, e.Position)
	}
	return got
}

var auditCases = []struct {
	args []string
	want []eventlog.Position
}{
	{nil, []eventlog.Position{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
	// The UID's object through its edit, its move (both halves) and its new
	// calendar's deletion; not the other object later put under its name.
	{[]string{"--uid", "u1"}, []eventlog.Position{5, 7, 8, 9, 12}},
	{[]string{"--href", "/calendars/alice/work/x.ics"}, []eventlog.Position{5, 7, 8, 10, 11}},
	{[]string{"--href", "https://cal.example.com/calendars/alice/home/x.ics"}, []eventlog.Position{9, 12}},
	{[]string{"--principal", "bob"}, []eventlog.Position{2, 6, 7, 13}},
	{[]string{"--client", "THUNDERBIRD"}, []eventlog.Position{6, 7, 13}},
	{[]string{"--type", "ObjectDeleted", "--type", "CalendarDeleted"}, []eventlog.Position{8, 11, 12, 13}},
	{[]string{"--calendar", "alice/home"}, []eventlog.Position{4, 9, 12}},
	{[]string{"--since", "2025-03-01T09:00:09Z", "--until", "2025-03-01T09:00:11Z"}, []eventlog.Position{9, 10}},
	{[]string{"--uid", "u1", "--principal", "bob"}, []eventlog.Position{7}},
	{[]string{"--uid", "nothing"}, nil},
}

func TestAuditFilters(t *testing.T) {
	data := t.TempDir()
	auditStory(t, data)
	for _, tc := range auditCases {
		if got := auditPositions(t, data, tc.args...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("audit %v = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestAuditOutput(t *testing.T) {
	data := t.TempDir()
	auditStory(t, data)
	code, out, errOut := kalends(t, "", "audit", "--data", data, "--json", "--principal", "bob", "--type", "ObjectPut", "--uid", "u1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var e auditEntry
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	if e.Position != 7 || e.Stream != "cal:alice/work" || e.Revision != 3 || e.Principal != "bob" || e.OnBehalfOf != "alice" ||
		e.UserAgent != tbClient || e.RequestID != "req-g" || e.Object != "x.ics" || e.UID != "u1" || e.ETag == "" ||
		len(e.Hash) != 64 || len(e.PrevHash) != 64 || !e.Time.Equal(genEpoch.Add(7*time.Second)) {
		t.Fatalf("entry %+v", e)
	}

	code, out, _ = kalends(t, "", "audit", "--data", data, "--uid", "u1")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 6 {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
	// Columns line up: each starts where its header does.
	header := lines[0]
	for _, col := range []string{"ACTOR", "ON BEHALF OF", "EVENT", "CALENDAR/OBJECT", "CLIENT", "REQUEST"} {
		at := strings.Index(header, col)
		for _, l := range lines[1:] {
			if r := []rune(l); len(r) <= at || r[at-1] != ' ' || r[at] == ' ' {
				t.Errorf("column %s (at %d) not aligned in %q", col, at, l)
			}
		}
	}
	for _, want := range []string{
		"2025-03-01 09:00:07Z  bob           alice         ObjectPut                  alice/work/x.ics                                  Mozilla/5.0 (X11; Linux x86_64;…  req-g",
		"ObjectDeleted              alice/work/x.ics → moved to alice/home/x.ics      macOS",
		"ObjectPut                  alice/home/x.ics ← moved from alice/work/x.ics    macOS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// The system's own event says what it did.
	code, out, _ = kalends(t, "", "audit", "--data", data, "--json", "--type", "IndexHorizonAdvanced")
	if err := json.Unmarshal([]byte(out), &e); code != 0 || err != nil || e.Through == nil || !e.Through.Equal(storyHorizon) || e.Principal != eventlog.System {
		t.Fatalf("horizon entry: exit %d, %v: %s", code, err, out)
	}
	_, out, _ = kalends(t, "", "audit", "--data", data, "--type", "IndexHorizonAdvanced")
	if want := "@system       -             IndexHorizonAdvanced       system:index-horizon → through 2100-01-01 00:00:00Z"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q:\n%s", want, out)
	}

	for _, bad := range [][]string{{"--calendar", "alice"}, {"--href", "/calendars/alice/x.ics"}, {"--since", "yesterday"}, {"extra"}} {
		if code, _, _ := kalends(t, "", append([]string{"audit", "--data", data}, bad...)...); code != 2 {
			t.Errorf("audit %v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errOut := kalends(t, "", "audit", "--data", t.TempDir()); code != 1 || !strings.Contains(errOut, "no event log") {
		t.Errorf("audit of an empty directory: exit %d: %s", code, errOut)
	}
}

func TestAuditTimeForms(t *testing.T) {
	since, err := parseAuditTime("2025-03-01", false)
	until, err2 := parseAuditTime("2025-03-01", true)
	if err != nil || err2 != nil || since.Location() != time.Local || until.Sub(since) != 24*time.Hour || since.Hour() != 0 {
		t.Fatalf("date forms: %v %v %v %v", since, until, err, err2)
	}
	if got, err := parseAuditTime("2025-03-01T10:00:00+01:00", true); err != nil || !got.Equal(genEpoch) {
		t.Fatalf("RFC 3339: %v %v", got, err)
	}
}

// Through a running server's admin socket, audit answers exactly as it
// does offline.
func TestAuditThroughServer(t *testing.T) {
	data := t.TempDir()
	auditStory(t, data)
	offline := map[string]string{}
	for _, tc := range auditCases {
		_, out, _ := kalends(t, "", append([]string{"audit", "--data", data, "--json"}, tc.args...)...)
		offline[strings.Join(tc.args, " ")] = out
	}
	_, table, _ := kalends(t, "", "audit", "--data", data)
	startServer(t, data)
	for _, tc := range auditCases {
		code, out, errOut := kalends(t, "", append([]string{"audit", "--data", data, "--json"}, tc.args...)...)
		if code != 0 || out != offline[strings.Join(tc.args, " ")] {
			t.Errorf("audit %v through the server: exit %d: %s\n%s", tc.args, code, errOut, out)
		}
	}
	if _, out, _ := kalends(t, "", "audit", "--data", data); out != table {
		t.Errorf("table through the server:\n%s\nwant\n%s", out, table)
	}
	if code, _, errOut := kalends(t, "", "audit", "--data", data, "--calendar", "x"); code != 2 || !strings.Contains(errOut, "OWNER/NAME") {
		t.Errorf("bad filter: exit %d: %s", code, errOut)
	}
}
