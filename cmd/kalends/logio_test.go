package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

func logioICS(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kalends//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250102T100000Z\r\nDURATION:PT1H\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// logioSource builds a store through the DAV layer: two users, a second
// calendar, puts, an update and a delete. It returns the stopped server.
func logioSource(t *testing.T) *testkit.Server {
	t.Helper()
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	do := func(method, path, body string, want int) {
		t.Helper()
		resp, got := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "pw", Body: body,
			Header: http.Header{"Content-Type": {"text/calendar"}}})
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, got)
		}
	}
	do("MKCALENDAR", "/calendars/alice/work/", "", http.StatusCreated)
	for i := range 5 {
		do("PUT", fmt.Sprintf("/calendars/alice/default/e%d.ics", i), logioICS(fmt.Sprintf("e%d", i), fmt.Sprintf("event %d", i)), http.StatusCreated)
		do("PUT", fmt.Sprintf("/calendars/alice/work/w%d.ics", i), logioICS(fmt.Sprintf("w%d", i), "work"), http.StatusCreated)
	}
	do("PUT", "/calendars/alice/default/e1.ics", logioICS("e1", "moved"), http.StatusNoContent)
	do("DELETE", "/calendars/alice/default/e2.ics", "", http.StatusNoContent)
	s.Stop()
	return s
}

// answers records what a DAV client sees of the given calendars, with the
// server's address taken out, as one comparable text.
func answers(t *testing.T, s *testkit.Server, calendars ...string) string {
	t.Helper()
	var b strings.Builder
	ask := func(req testkit.Request) string {
		req.User, req.Pass = "alice", "pw"
		resp, body := s.Do(req)
		fmt.Fprintf(&b, "== %s %s\n%d ETag=%s\n%s\n", req.Method, req.Path, resp.StatusCode, resp.Header.Get("ETag"), strings.ReplaceAll(body, s.URL, ""))
		return body
	}
	depth1 := http.Header{"Depth": {"1"}, "Content-Type": {"application/xml"}}
	ask(testkit.Request{Method: "PROPFIND", Path: "/calendars/alice/", Header: depth1,
		Body: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`})
	for _, cal := range calendars {
		ask(testkit.Request{Method: "PROPFIND", Path: "/calendars/alice/" + cal + "/", Header: depth1,
			Body: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:sync-token/><D:displayname/><D:resourcetype/></D:prop></D:propfind>`})
		ask(testkit.Request{Method: "REPORT", Path: "/calendars/alice/" + cal + "/", Header: http.Header{"Content-Type": {"application/xml"}},
			Body: `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`})
		for i := range 5 {
			ask(testkit.Request{Method: "GET", Path: fmt.Sprintf("/calendars/alice/%s/%s%d.ics", cal, objectPrefix[cal], i)})
		}
	}
	return b.String()
}

// objectPrefix names each calendar's objects in logioSource.
var objectPrefix = map[string]string{"default": "e", "work": "w"}

// replayed opens a server on an imported data directory, once its
// projections have caught up with the log, with alice's password set
// (passwords are not in the log).
func replayed(t *testing.T, dir string) *testkit.Server {
	t.Helper()
	s := testkit.NewServer(t, testkit.Options{Dir: dir})
	head, err := s.Log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	if err := s.Creds.Set("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExportImportGivesTheSameDAVAnswers(t *testing.T) {
	src := logioSource(t)
	// The source's answers, from a server reopened on its directory the
	// way the imported one will be.
	reopened := replayed(t, src.Dir)
	want := answers(t, reopened, "default", "work")
	reopened.Stop()
	if !strings.Contains(want, "moved") || !strings.Contains(want, "sync-token") {
		t.Fatalf("the source answers look wrong:\n%s", want)
	}

	file := filepath.Join(t.TempDir(), "log.jsonl")
	if code, _, stderr := kalends(t, "", "export", "--log", "--data", src.Dir, "--out", file); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	dst := filepath.Join(t.TempDir(), "new")
	code, stdout, stderr := kalends(t, "", "import", "--log", file, "--data", dst)
	if code != 0 || !strings.Contains(stdout, "imported") {
		t.Fatalf("import: %d %s %s", code, stdout, stderr)
	}

	_, srcHead, _ := kalends(t, "", "verify", "--print-head", "--data", src.Dir)
	_, dstHead, _ := kalends(t, "", "verify", "--print-head", "--data", dst)
	if srcHead == "" || srcHead != dstHead {
		t.Fatalf("heads differ: source %q, import %q", srcHead, dstHead)
	}

	got := answers(t, replayed(t, dst), "default", "work")
	if got != want {
		t.Fatalf("the imported store answers differently:\n%s\nwant\n%s", got, want)
	}

	// A second import into the same, now non-empty, directory is refused.
	if code, _, stderr := kalends(t, "", "import", "--log", file, "--data", dst); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("import into a non-empty directory: %d %s", code, stderr)
	}
}

func TestExportOneCalendar(t *testing.T) {
	src := logioSource(t)
	reopened := replayed(t, src.Dir)
	want := answers(t, reopened, "work")
	reopened.Stop()

	file := filepath.Join(t.TempDir(), "work.jsonl")
	if code, _, stderr := kalends(t, "", "export", "--log", "--calendar", "alice/work", "--data", src.Dir, "--out", file); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(text)) {
		if !strings.Contains(line, `"stream":"cal:alice/work"`) && !strings.Contains(line, `"stream":"principal:alice"`) {
			t.Fatalf("a line of another stream: %s", line)
		}
	}
	dst := filepath.Join(t.TempDir(), "new")
	if code, _, stderr := kalends(t, "", "import", "--log", file, "--data", dst); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	s := replayed(t, dst)
	// Only the work calendar is there, answering as in the source.
	wantWork := want[strings.Index(want, "== PROPFIND /calendars/alice/work/"):]
	got := answers(t, s, "work")
	if gotWork := got[strings.Index(got, "== PROPFIND /calendars/alice/work/"):]; gotWork != wantWork {
		t.Fatalf("the imported calendar answers differently:\n%s\nwant\n%s", gotWork, wantWork)
	}
	if resp, _ := s.Do(testkit.Request{Method: "GET", Path: "/calendars/alice/default/e0.ics", User: "alice", Pass: "pw"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a calendar that was not exported: %d", resp.StatusCode)
	}

	if code, _, stderr := kalends(t, "", "export", "--log", "--calendar", "alice/nope", "--data", src.Dir); code != 1 || !strings.Contains(stderr, "no calendar") {
		t.Fatalf("export of a missing calendar: %d %s", code, stderr)
	}
	// Without --log, --calendar names the .ics export of that calendar.
	if code, stdout, _ := kalends(t, "", "export", "--calendar", "alice/work", "--data", src.Dir); code != 0 || !strings.Contains(stdout, "BEGIN:VCALENDAR") {
		t.Fatalf("export --calendar without --log: %d %.200s", code, stdout)
	}
}
