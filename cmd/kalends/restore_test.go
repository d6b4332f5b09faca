package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/testkit"
)

func calendarText(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kalends//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func davDo(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth("alice", "pw")
	req.Header.Set("Content-Type", "text/calendar")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRestoreAndTrashThroughServer runs the commands while a server serves
// the directory, so through its admin socket, and checks what clients see.
func TestRestoreAndTrashThroughServer(t *testing.T) {
	dir := t.TempDir()
	_, base := startServer(t, dir)
	if code, _, errOut := kalends(t, "pw\n", "user", "add", "alice", "--data", dir, "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	cal := base + "calendars/alice/default/"
	if code := davDo(t, "PUT", cal+"a.ics", calendarText("a", "first")); code != http.StatusCreated {
		t.Fatalf("PUT: %d", code)
	}
	time.Sleep(5 * time.Millisecond)
	before := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)
	davDo(t, "PUT", cal+"a.ics", calendarText("a", "second"))
	davDo(t, "PUT", cal+"b.ics", calendarText("b", "bee"))

	code, out, errOut := kalends(t, "", "restore", "--data", dir, "--calendar", "alice/default", "--to", before, "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run") || !strings.Contains(out, "changed  a.ics") || !strings.Contains(out, "removed  b.ics") {
		t.Fatalf("dry run: %d %q %s", code, out, errOut)
	}
	if davDo(t, "GET", cal+"b.ics", "") != http.StatusOK {
		t.Fatal("the dry run removed b.ics")
	}
	if code, out, errOut = kalends(t, "", "restore", "--data", dir, "--calendar", "alice/default", "--to", before); code != 0 || !strings.Contains(out, "restored alice/default") {
		t.Fatalf("restore: %d %q %s", code, out, errOut)
	}
	if davDo(t, "GET", cal+"b.ics", "") != http.StatusNotFound {
		t.Fatal("b.ics survived the restore")
	}

	// b.ics was removed by the restore: it is in the trash, deleted by the operator.
	code, out, errOut = kalends(t, "", "trash", "list", "--data", dir, "--user", "alice")
	if code != 0 || !strings.Contains(out, "alice/default/b.ics") || !strings.Contains(out, eventlog.Operator) {
		t.Fatalf("trash list: %d %q %s", code, out, errOut)
	}
	if code, out, errOut = kalends(t, "", "trash", "restore", "--data", dir, "alice/default/b.ics"); code != 0 || !strings.Contains(out, "added    b.ics") {
		t.Fatalf("trash restore: %d %q %s", code, out, errOut)
	}
	if davDo(t, "GET", cal+"b.ics", "") != http.StatusOK {
		t.Fatal("b.ics is not back")
	}
	if code, _, errOut = kalends(t, "", "trash", "restore", "--data", dir, "alice/default/b.ics"); code != 1 || !strings.Contains(errOut, "not in the trash") {
		t.Errorf("a second undelete: %d %s", code, errOut)
	}
	if code, _, _ = kalends(t, "", "restore", "--data", dir, "--calendar", "alice", "--to", before); code != 2 {
		t.Errorf("a bad --calendar: exit %d", code)
	}
}

// TestRestoreWithoutServer opens the directory itself and attributes the
// restore to the operator acting for the owner.
func TestRestoreWithoutServer(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	put := func(name, summary string) {
		resp, body := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/" + name, User: "alice", Pass: "pw", Body: calendarText(name, summary)})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d %s", resp.StatusCode, body)
		}
	}
	put("a.ics", "first")
	time.Sleep(5 * time.Millisecond)
	before := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)
	put("b.ics", "bee")
	dir := s.Dir
	s.Stop()

	code, out, errOut := kalends(t, "", "restore", "--data", dir, "--calendar", "alice/default", "--object", "b.ics", "--to", before)
	if code != 0 || !strings.Contains(out, "removed  b.ics") {
		t.Fatalf("restore: %d %q %s", code, out, errOut)
	}
	log, err := pebblelog.Open(filepath.Join(dir, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	var types []string
	var last eventlog.Metadata
	log.ReadStream(context.Background(), domain.CalendarStream("alice", "default"), 0, func(r eventlog.Record) error {
		types, last = append(types, r.Type), r.Meta
		return nil
	})
	if got := strings.Join(types[len(types)-2:], ","); got != "CalendarRestored,ObjectDeleted" {
		t.Errorf("the restore appended %s", got)
	}
	if last.Principal != eventlog.Operator || last.OnBehalfOf != "alice" || last.UserAgent != "kalends-cli" {
		t.Errorf("the restore's metadata %+v", last)
	}
}
