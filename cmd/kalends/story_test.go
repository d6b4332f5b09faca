package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/kalends/kalends/testkit"
)

// TestTimeTravelStory is issue 4's end-to-end story, through the same
// HTTP and CLI a user and an operator use: an object is created and edited
// from two clients, deleted, and the calendar restored to before the
// deletion; audit shows every step with its actor and client; verify
// passes; a rebuild gives identical answers; a tampered byte makes verify
// fail.
func TestTimeTravelStory(t *testing.T) {
	dir := t.TempDir()
	s := testkit.NewServer(t, testkit.Options{Dir: dir})
	s.AddUser("alice", "pw")
	const href = "/calendars/alice/default/story.ics"
	do := func(method, path, userAgent, body string, want int) string {
		t.Helper()
		h := http.Header{"User-Agent": {userAgent}}
		if body != "" {
			h.Set("Content-Type", "text/calendar")
		}
		resp, got := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "pw", Header: h, Body: body})
		if resp.StatusCode != want {
			t.Fatalf("%s %s from %s: %d, want %d: %s", method, path, userAgent, resp.StatusCode, want, got)
		}
		return got
	}
	event := func(summary string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//story//EN\r\nBEGIN:VEVENT\r\nUID:story-1\r\n" +
			"DTSTAMP:20261101T090000Z\r\nDTSTART:20261124T090000Z\r\nDTEND:20261124T100000Z\r\nSUMMARY:" + summary +
			"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	do("PUT", href, "Thunderbird/128.0", event("Budget review"), http.StatusCreated)
	do("PUT", href, "DAVx5/4.4", event("Budget review (moved room)"), http.StatusNoContent)
	beforeDelete := time.Now().UTC()
	time.Sleep(2 * time.Millisecond) // the deletion's event time must come after the instant
	do("DELETE", href, "Thunderbird/128.0", "", http.StatusNoContent)
	do("GET", href, "Thunderbird/128.0", "", http.StatusNotFound)

	do("POST", "/calendars/alice/default/?restore="+beforeDelete.Format(time.RFC3339Nano), "curl/8", "", http.StatusOK)
	if got := do("GET", href, "Thunderbird/128.0", "", http.StatusOK); !strings.Contains(got, "SUMMARY:Budget review (moved room)") {
		t.Fatalf("restored object: %s", got)
	}
	answers := func() string {
		return do("PROPFIND", "/calendars/alice/default/", "check", "", http.StatusMultiStatus) +
			do("GET", href, "check", "", http.StatusOK)
	}
	live := answers()
	s.Stop()

	// Audit: every change of the calendar, with who, for whom and from
	// which client; the restore is marked as one.
	code, out, errOut := kalends(t, "", "audit", "--data", dir, "--calendar", "alice/default", "--json")
	if code != 0 {
		t.Fatalf("audit: %d %s", code, errOut)
	}
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Principal, OnBehalfOf, UserAgent string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		steps = append(steps, e.Type+" by "+e.Principal+" for "+e.OnBehalfOf+" from "+e.UserAgent)
	}
	want := []string{
		"CalendarCreated by @operator for  from ", // with the user, by testkit
		"ObjectPut by alice for alice from Thunderbird/128.0",
		"ObjectPut by alice for alice from DAVx5/4.4",
		"ObjectDeleted by alice for alice from Thunderbird/128.0",
		"CalendarRestored by alice for alice from curl/8",
		"ObjectPut by alice for alice from curl/8",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit says\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}

	if code, out, errOut := kalends(t, "", "verify", "--data", dir); code != 0 {
		t.Fatalf("verify of an untouched log: %d %s %s", code, out, errOut)
	}

	// Rebuild: the projections thrown away and replayed answer the same.
	if code, _, errOut := kalends(t, "", "rebuild", "--data", dir); code != 0 {
		t.Fatalf("rebuild: %d %s", code, errOut)
	}
	s = testkit.NewServer(t, testkit.Options{Dir: dir})
	if rebuilt := answers(); rebuilt != live {
		t.Fatalf("answers after rebuild differ:\n%s\nwant\n%s", rebuilt, live)
	}
	s.Stop()

	// Tamper: one byte of a stored event changes; verify must notice.
	db, err := pebble.Open(filepath.Join(dir, logDir), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{'e'}, UpperBound: []byte{'f'}})
	if err != nil {
		t.Fatal(err)
	}
	tampered := false
	for ok := it.First(); ok && !tampered; ok = it.Next() {
		v := it.Value()
		if i := bytes.Index(v, []byte("Budget review")); i >= 0 {
			forged := bytes.Clone(v)
			forged[i] = 'F'
			if err := db.Set(bytes.Clone(it.Key()), forged, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			tampered = true
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !tampered {
		t.Fatal("found no event to tamper with")
	}
	if code, out, _ := kalends(t, "", "verify", "--data", dir); code != 1 || !strings.Contains(out, "MODIFIED at position 3") {
		t.Fatalf("verify of a tampered log: exit %d, %s", code, out)
	}
}
