package dav_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/testkit"
)

// tt is a test's conversation with one server as one user.
type tt struct {
	t          *testing.T
	s          *testkit.Server
	user, pass string
}

func (c tt) do(method, path, body string, header ...string) (*http.Response, string) {
	c.t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return c.s.Do(testkit.Request{Method: method, Path: path, User: c.user, Pass: c.pass, Header: h, Body: body})
}

func ics(uid, summary string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kalends//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func (c tt) want(status int, method, path, body string, header ...string) string {
	c.t.Helper()
	resp, got := c.do(method, path, body, header...)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, got)
	}
	return got
}

func (c tt) put(path, uid, summary string) {
	c.t.Helper()
	resp, body := c.do("PUT", path, ics(uid, summary), "Content-Type", "text/calendar")
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		c.t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, body)
	}
}

// summaryOf GETs an object and returns its SUMMARY, "" if it is gone.
func (c tt) summaryOf(path string) string {
	c.t.Helper()
	resp, body := c.do("GET", path, "")
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	m := regexp.MustCompile(`SUMMARY:([^\r\n]*)`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return m[1]
}

func (c tt) plan(status int, path string) dav.RestorePlan {
	c.t.Helper()
	body := c.want(status, "POST", path, "")
	var p dav.RestorePlan
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		c.t.Fatalf("POST %s: %v in %s", path, err, body)
	}
	return p
}

func (c tt) head() uint64 {
	c.t.Helper()
	pos, err := c.s.Log.Head(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return uint64(pos)
}

const syncBody = `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`

var syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]*)</D:sync-token>`)

// sync runs sync-collection from token and returns the body and new token.
func (c tt) sync(cal, token string) (string, string) {
	c.t.Helper()
	body := c.want(http.StatusMultiStatus, "REPORT", cal, fmt.Sprintf(syncBody, token), "Depth", "1")
	m := syncTokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no sync-token in %s", body)
	}
	return body, m[1]
}

// pause makes sure that events before and after an instant taken between
// them are on its two sides.
func pause() time.Time {
	time.Sleep(5 * time.Millisecond)
	t := time.Now()
	time.Sleep(5 * time.Millisecond)
	return t
}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TestRestoreCalendar: edit, delete and add, then restore the calendar to
// before: a dry run changes nothing, the restore puts every object back
// and a client syncing from before the restore sees exactly the changes.
func TestRestoreCalendar(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/default/"
	c.put(cal+"a.ics", "a", "first")
	c.put(cal+"b.ics", "b", "bee")
	c.put(cal+"keep.ics", "keep", "same")
	before := pause()
	c.put(cal+"a.ics", "a", "second")
	c.want(http.StatusNoContent, "DELETE", cal+"b.ics", "")
	c.put(cal+"c.ics", "c", "sea")
	_, token := c.sync(cal, "")

	head := c.head()
	p := c.plan(http.StatusOK, cal+"?restore="+instant(before)+"&dry-run=1")
	if !p.DryRun || fmt.Sprint(p.Added, p.Changed, p.Removed) != "[b.ics] [a.ics] [c.ics]" {
		t.Errorf("dry run plan %+v", p)
	}
	if c.head() != head || c.summaryOf(cal+"a.ics") != "second" {
		t.Fatal("the dry run changed something")
	}

	p = c.plan(http.StatusOK, cal+"?restore="+instant(before))
	if p.DryRun || fmt.Sprint(p.Added, p.Changed, p.Removed) != "[b.ics] [a.ics] [c.ics]" {
		t.Errorf("plan %+v", p)
	}
	for path, want := range map[string]string{"a.ics": "first", "b.ics": "bee", "c.ics": "", "keep.ics": "same"} {
		if got := c.summaryOf(cal + path); got != want {
			t.Errorf("%s after the restore: %q, want %q", path, got, want)
		}
	}
	delta, _ := c.sync(cal, token)
	for _, name := range []string{"a.ics", "b.ics", "c.ics"} {
		if !strings.Contains(delta, cal+name) {
			t.Errorf("the sync delta lacks %s: %s", name, delta)
		}
	}
	if strings.Contains(delta, "keep.ics") {
		t.Errorf("the sync delta names the unchanged keep.ics: %s", delta)
	}
	if !regexp.MustCompile(`c\.ics</D:href><D:status>HTTP/1.1 404`).MatchString(delta) {
		t.Errorf("c.ics is not reported removed: %s", delta)
	}

	// Restoring again to the same instant changes nothing and appends nothing.
	head = c.head()
	if p := c.plan(http.StatusOK, cal+"?restore="+instant(before)); !p.Empty() || c.head() != head {
		t.Errorf("a second restore: %+v, head %d → %d", p, head, c.head())
	}

	// The calendar's owner only.
	bob := tt{t, s, "bob", "pw"}
	bob.want(http.StatusForbidden, "POST", cal+"?restore="+instant(before), "")
	// Other POSTs, and bad instants.
	c.want(http.StatusMethodNotAllowed, "POST", cal, "")
	c.want(http.StatusMethodNotAllowed, "POST", "/calendars/alice/?restore=-1h", "")
	c.want(http.StatusBadRequest, "POST", cal+"?restore=yesterday", "")
	c.want(http.StatusNotFound, "POST", "/calendars/alice/nothing/?restore=-1h", "")
}

// TestRestoreObject puts back one object and leaves the rest.
func TestRestoreObject(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/default/"
	c.put(cal+"a.ics", "a", "first")
	before := pause()
	c.put(cal+"a.ics", "a", "second")
	c.put(cal+"b.ics", "b", "bee")
	p := c.plan(http.StatusOK, cal+"a.ics?restore="+instant(before))
	if p.Object != "a.ics" || fmt.Sprint(p.Changed) != "[a.ics]" {
		t.Errorf("plan %+v", p)
	}
	if c.summaryOf(cal+"a.ics") != "first" || c.summaryOf(cal+"b.ics") != "bee" {
		t.Error("the object restore did not restore just the object")
	}
	// b.ics did not exist then: restoring it deletes it.
	c.plan(http.StatusOK, cal+"b.ics?restore="+instant(before))
	if c.summaryOf(cal+"b.ics") != "" {
		t.Error("b.ics survived its restore to before it existed")
	}
	// Its UID held by another name now: refused, naming the holder.
	c.want(http.StatusNoContent, "DELETE", cal+"a.ics", "")
	c.put(cal+"other.ics", "a", "moved by hand")
	body := c.want(http.StatusForbidden, "POST", cal+"a.ics?restore="+instant(before), "")
	if !strings.Contains(body, "no-uid-conflict") || !strings.Contains(body, cal+"other.ics") {
		t.Errorf("UID conflict body: %s", body)
	}
}
