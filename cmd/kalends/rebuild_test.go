package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/projections"
)

// genEpoch is the metadata time of a generated log's first event; each
// later one is a second after its predecessor.
var genEpoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

var genClients = []string{
	"iOS/18.3 (22D63) dataaccessd/1.0",
	"macOS/15.3 (24D60) CalendarAgent/1000",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.7.0",
	"DAVx5/4.4.5-ose (2025/01/02; dav4jvm; okhttp/4.12.0) Android/14",
}

// genObject is a ~1 KB VEVENT as clients write them; one in three recurs.
func genObject(uid string, seq int) string {
	rrule := ""
	if seq%3 == 0 {
		rrule = "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\r\n"
	}
	day := 1 + seq%28
	return fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15.3//EN\r\nCALSCALE:GREGORIAN\r\n"+
		"BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250301T090000Z\r\nCREATED:20250301T090000Z\r\nSEQUENCE:%d\r\n"+
		"DTSTART:202504%02dT100000Z\r\nDTEND:202504%02dT110000Z\r\n%s"+
		"SUMMARY:Weekly planning with the platform team\r\nLOCATION:Room 4.12\\, Building B\r\n"+
		"DESCRIPTION:Agenda: review of last week's incidents\\, capacity for the\r\n next sprint\\, open questions from the roadmap review.\r\n"+
		"ORGANIZER;CN=Alice Example:mailto:alice@example.com\r\n"+
		"ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"+
		"ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com\r\n"+
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"+
		"END:VEVENT\r\nEND:VCALENDAR\r\n", uid, seq, day, day, rrule)
}

// genLog writes a log of n events (n ≥ 10) to <data>/log the way a busy
// server would: users with two calendars each, mostly new objects, some
// edits, deletions, moves and property changes, from four clients, one
// change in ten by a delegate. It writes through the embedded log directly,
// thousands of events per append, so that a million events take minutes
// rather than hours.
func genLog(t testing.TB, data string, n int) {
	t.Helper()
	ctx := context.Background()
	log, err := pebblelog.Open(filepath.Join(data, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	users := max(1, n/2000)
	live := map[string][]string{} // stream → live object names
	var streams []string
	var pending []eventlog.StreamAppend
	index := map[string]int{}
	count := 0
	add := func(stream, actor, owner string, ev domain.Event) {
		typ, schema, data, err := domain.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		meta := eventlog.Metadata{Principal: actor, OnBehalfOf: owner, Time: genEpoch.Add(time.Duration(count) * time.Second),
			RequestID: fmt.Sprintf("req-%08x", count), UserAgent: genClients[count%len(genClients)], RemoteAddr: "192.0.2.7"}
		i, ok := index[stream]
		if !ok {
			i = len(pending)
			index[stream] = i
			pending = append(pending, eventlog.StreamAppend{Stream: stream, Expected: eventlog.Any})
		}
		pending[i].Events = append(pending[i].Events, eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: meta})
		count++
		if count%2000 == 0 {
			if _, err := log.AppendMulti(ctx, pending); err != nil {
				t.Fatal(err)
			}
			pending, index = pending[:0], map[string]int{}
		}
	}
	for u := range users {
		owner := fmt.Sprintf("user%04d", u)
		add(domain.PrincipalStream(owner), eventlog.Operator, owner, &domain.PrincipalCreated{Name: owner})
		for _, cal := range []string{"default", "work"} {
			stream := domain.CalendarStream(owner, cal)
			add(stream, owner, owner, &domain.CalendarCreated{Owner: owner, Name: cal})
			streams = append(streams, stream)
		}
	}
	for seq := 0; count < n; seq++ {
		stream := streams[rng.IntN(len(streams))]
		owner, cal, _ := strings.Cut(strings.TrimPrefix(stream, "cal:"), "/")
		actor := owner
		if rng.IntN(10) == 0 {
			actor = fmt.Sprintf("user%04d", rng.IntN(users)) // a delegate or sharee
		}
		names := live[stream]
		switch r := rng.IntN(100); {
		case r < 15 && len(names) > 0: // edit
			name := names[rng.IntN(len(names))]
			uid := strings.TrimSuffix(name, ".ics")
			add(stream, actor, owner, genPut(name, uid, seq))
		case r < 22 && len(names) > 0: // delete
			i := rng.IntN(len(names))
			add(stream, actor, owner, &domain.ObjectDeleted{Name: names[i]})
			live[stream] = append(names[:i], names[i+1:]...)
		case r < 24 && len(names) > 0: // move to the owner's other calendar
			other := "work"
			if cal == "work" {
				other = "default"
			}
			to := domain.CalendarStream(owner, other)
			i := rng.IntN(len(names))
			name := names[i]
			add(stream, actor, owner, &domain.ObjectDeleted{Name: name, MovedTo: owner + "/" + other + "/" + name})
			live[stream] = append(names[:i], names[i+1:]...)
			put := genPut(name, strings.TrimSuffix(name, ".ics"), seq)
			put.CopiedFrom = owner + "/" + cal + "/" + name
			add(to, actor, owner, put)
			live[to] = append(live[to], name)
		case r < 25:
			add(stream, actor, owner, &domain.CalendarPropertiesChanged{Set: []domain.Property{{Space: "DAV:", Local: "displayname", XML: fmt.Sprint("Calendar ", seq)}}})
		default: // a new object
			uid := fmt.Sprintf("%08d-5b1e-4c4f-9a1e-0242ac120002", seq)
			add(stream, actor, owner, genPut(uid+".ics", uid, seq))
			live[stream] = append(live[stream], uid+".ics")
		}
	}
	if len(pending) > 0 {
		if _, err := log.AppendMulti(ctx, pending); err != nil {
			t.Fatal(err)
		}
	}
}

func genPut(name, uid string, seq int) *domain.ObjectPut {
	data := genObject(uid, seq)
	return &domain.ObjectPut{Name: name, UID: uid, Component: "VEVENT", ETag: domain.ETagOf([]byte(data)), Data: data}
}

func TestRebuildOffline(t *testing.T) {
	data := t.TempDir()
	genLog(t, data, 3000)
	code, out, errOut := kalends(t, "", "rebuild", "--data", data, "--log-format", "json")
	if code != 0 || out != "rebuilt the projections from 3000 events\n" {
		t.Fatalf("rebuild: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `"message":"rebuild done"`) {
		t.Errorf("no summary line off a terminal: %s", errOut)
	}
	code, out, errOut = kalends(t, "", "rebuild", "--verify", "--data", data)
	if code != 0 || out != "identical (2 calendars) at position 3000\n" {
		t.Fatalf("rebuild --verify: exit %d\n%s%s", code, out, errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "kalends-rebuild-verify-*")); len(left) != 0 {
		t.Errorf("scratch stores left behind: %v", left)
	}

	// A projection that no longer matches the log is named.
	db, err := pebble.Open(filepath.Join(data, projectionsDir), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("duser0000\x00work\x00forged.ics"), []byte("BEGIN:VCALENDAR"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut = kalends(t, "", "rebuild", "--verify", "--data", data)
	if code != 1 || !strings.HasPrefix(out, "DIVERGENT user0000/work: live ") || strings.Count(out, "\n") != 1 ||
		!strings.Contains(errOut, "diverge") {
		t.Fatalf("tampered projections: exit %d\n%s%s", code, out, errOut)
	}
	// And rebuild repairs them.
	if code, _, errOut := kalends(t, "", "rebuild", "--data", data); code != 0 {
		t.Fatalf("rebuild: %s", errOut)
	}
	if code, out, _ := kalends(t, "", "rebuild", "--verify", "--data", data); code != 0 || !strings.HasPrefix(out, "identical") {
		t.Fatalf("after the rebuild: %s", out)
	}

	// A spoilt time-range index is recomputed alone by rebuild --index.
	db, err = pebble.Open(filepath.Join(data, projectionsDir), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRange([]byte("t"), []byte("u"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, _ := kalends(t, "", "rebuild", "--verify", "--data", data); code != 1 || !strings.Contains(out, "DIVERGENT") {
		t.Fatalf("a missing index went unnoticed: %s", out)
	}
	code, out, errOut = kalends(t, "", "rebuild", "--index", "--data", data)
	if code != 0 || out != "rebuilt the time-range index from 3000 events\n" {
		t.Fatalf("rebuild --index: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := kalends(t, "", "rebuild", "--verify", "--data", data); code != 0 || !strings.HasPrefix(out, "identical") {
		t.Fatalf("after rebuild --index: %s", out)
	}
}

// While a server runs, rebuild refuses and rebuild --verify asks it.
func TestRebuildWithServer(t *testing.T) {
	data := t.TempDir()
	genLog(t, data, 500)
	logs, _ := startServer(t, data)
	// It appends one event of its own when it starts.
	logs.wait(t, "time-range index horizon advanced")
	for _, args := range [][]string{{"rebuild"}, {"rebuild", "--index"}} {
		code, _, errOut := kalends(t, "", append(args, "--data", data)...)
		if code != 1 || !strings.Contains(errOut, "stop it first") {
			t.Fatalf("%v while serving: exit %d: %s", args, code, errOut)
		}
	}
	code, out, errOut := kalends(t, "", "rebuild", "--verify", "--data", data)
	if code != 0 || out != "identical (2 calendars) at position 501\n" {
		t.Fatalf("rebuild --verify while serving: exit %d\n%s%s", code, out, errOut)
	}
	logs.wait(t, "rebuild --verify done")
}

// TestLargeLog measures rebuild and audit over a generated log of
// $KALENDS_BIGLOG events (e.g. 1000000); it is skipped otherwise, being
// minutes of work. It keeps the log in $KALENDS_BIGLOG_DIR if set, so that
// a second run skips generating it.
func TestLargeLog(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KALENDS_BIGLOG"))
	if n == 0 {
		t.Skip("set KALENDS_BIGLOG=N to measure rebuild and audit over N events")
	}
	data := os.Getenv("KALENDS_BIGLOG_DIR")
	if data == "" {
		data = t.TempDir()
	}
	if _, err := os.Stat(filepath.Join(data, logDir)); err != nil {
		start := time.Now()
		genLog(t, data, n)
		t.Logf("generated %d events in %s", n, time.Since(start).Round(time.Millisecond))
	}
	log, err := openLogOffline(data)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx := context.Background()
	head, _ := log.Head(ctx)

	// Audit: everything one delegate did in one client, and one calendar
	// as a table; the heap is sampled as it streams.
	for _, q := range []map[string][]string{
		{"principal": {"user0001"}, "client": {"thunderbird"}},
		{"calendar": {"user0002/work"}, "type": {"ObjectDeleted", "ObjectPut"}},
		{"uid": {"00000100-5b1e-4c4f-9a1e-0242ac120002"}},
	} {
		f, err := parseAuditFilter(q)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapAlloc, ms.HeapAlloc
		matched, seen := 0, 0
		start := time.Now()
		a := newAuditor(f)
		err = log.ReadAll(ctx, 0, func(r eventlog.Record) error {
			if seen++; seen%50_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			if e, ok := a.match(&r); ok {
				matched++
				return newAuditTable(io.Discard).row(&e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("audit %v: %d of %d events in %s, %.0f events/s, heap %d MB → peak %d MB",
			q, matched, seen, took.Round(time.Millisecond), float64(seen)/took.Seconds(), base>>20, peak>>20)
		if matched == 0 || peak-base > 256<<20 {
			t.Errorf("matched %d, heap grew by %d MB", matched, (peak-base)>>20)
		}
	}

	store, err := projections.Open(t.TempDir(), projections.Options{Bulk: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	defer rebuildGC()()
	start, cpu0 := time.Now(), processCPU()
	if err := projections.Rebuild(ctx, log, store, head, nil); err != nil {
		t.Fatal(err)
	}
	took, cpu := time.Since(start), processCPU()-cpu0
	// CPU per event is what other work on the machine disturbs least.
	t.Logf("rebuild: %d events in %s, %.0f events/s, %.1f µs CPU per event", head, took.Round(time.Millisecond),
		float64(head)/took.Seconds(), float64(cpu.Microseconds())/float64(head))

	start, cpu0 = time.Now(), processCPU()
	if err := projections.RebuildIndex(ctx, log, store, nil); err != nil {
		t.Fatal(err)
	}
	took, cpu = time.Since(start), processCPU()-cpu0
	t.Logf("rebuild --index: %d events in %s, %.0f events/s, %.1f µs CPU per event", head, took.Round(time.Millisecond),
		float64(head)/took.Seconds(), float64(cpu.Microseconds())/float64(head))
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(string, ...any)             {}
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
