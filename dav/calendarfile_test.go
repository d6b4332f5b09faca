package dav_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/testkit"
)

const (
	berlinTZ = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n" +
		"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
	newYorkTZ = "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\n" +
		"TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)

// calendarOf wraps components as a published whole calendar would.
func calendarOf(parts ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kalends//test//EN\r\nMETHOD:PUBLISH\r\n" +
		strings.Join(parts, "") + "END:VCALENDAR\r\n"
}

func fileEvent(uid, summary string) string {
	return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nSUMMARY:" +
		summary + "\r\nEND:VEVENT\r\n"
}

// generatedCalendar is a file of n objects: mostly single events, every
// tenth a weekly series in Berlin time with an override moved to New York
// time, every 25th a VTODO.
func generatedCalendar(n int) string {
	var b strings.Builder
	b.WriteString(berlinTZ + newYorkTZ)
	for i := range n {
		uid := fmt.Sprintf("gen-%05d@example.com", i)
		day := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, i%365)
		switch {
		case i%25 == 0:
			fmt.Fprintf(&b, "BEGIN:VTODO\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\nDUE:%s\r\nSUMMARY:Task %d\r\nEND:VTODO\r\n",
				uid, day.Format("20060102T150405Z"), i)
		case i%10 == 0:
			start := day.Format("20060102T150405")
			moved := day.AddDate(0, 0, 7).Format("20060102T150405")
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:%s\r\n"+
				"DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Series %d\r\nEND:VEVENT\r\n", uid, start, i)
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:%s\r\n"+
				"DTSTART;TZID=America/New_York:%s\r\nDURATION:PT1H\r\nSUMMARY:Series %d moved\r\nEND:VEVENT\r\n", uid, moved, moved, i)
		default:
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDURATION:PT30M\r\n"+
				"SUMMARY:Event %d\r\nDESCRIPTION:Generated event number %d with a description long enough to fold a"+
				"cross more than one content line.\r\nEND:VEVENT\r\n", uid, day.Format("20060102T150405Z"), i, i)
		}
	}
	return calendarOf(b.String())
}

// TestCalendarFileGet: a calendar, and <cal>.ics, answer the whole
// calendar with each VTIMEZONE once and an ETag that If-None-Match honours.
func TestCalendarFileGet(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/default/"
	c.put(cal+"a.ics", "a", "first")
	c.put(cal+"b.ics", "b", "second")
	zoned := calendarOf(berlinTZ, "BEGIN:VEVENT\r\nUID:z\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260105T090000\r\nEND:VEVENT\r\n")
	zoned = strings.Replace(zoned, "METHOD:PUBLISH\r\n", "", 1)
	for _, name := range []string{"z1.ics", "z2.ics"} {
		c.want(http.StatusCreated, "PUT", cal+name, strings.ReplaceAll(zoned, "UID:z", "UID:"+name), "Content-Type", "text/calendar")
	}
	c.want(http.StatusMultiStatus, "PROPPATCH", cal, `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Work &amp; play</D:displayname></D:prop></D:set></D:propertyupdate>`)

	resp, body := c.do("GET", cal, "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET %s: %d %s %s", cal, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for s, n := range map[string]int{"BEGIN:VEVENT": 4, "UID:a\r\n": 1, "UID:z2.ics": 1, "BEGIN:VTIMEZONE": 1,
		"X-WR-CALNAME:Work & play\r\n": 1, "BEGIN:VCALENDAR": 1} {
		if got := strings.Count(body, s); got != n {
			t.Errorf("%q %d times, want %d:\n%s", s, got, n, body)
		}
	}
	etag := resp.Header.Get("ETag")
	for _, path := range []string{"/calendars/alice/default", "/calendars/alice/default.ics"} {
		r, b := c.do("GET", path, "")
		if r.StatusCode != http.StatusOK || b != body || r.Header.Get("ETag") != etag {
			t.Errorf("GET %s: %d, ETag %s, same body %v", path, r.StatusCode, r.Header.Get("ETag"), b == body)
		}
	}
	c.want(http.StatusNotModified, "GET", "/calendars/alice/default.ics", "", "If-None-Match", etag)
	c.put(cal+"a.ics", "a", "changed")
	if r, _ := c.do("GET", cal, "", "If-None-Match", etag); r.StatusCode != http.StatusOK || r.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s", r.StatusCode, r.Header.Get("ETag"))
	}
	tt{t, s, "bob", "pw"}.want(http.StatusForbidden, "GET", "/calendars/alice/default.ics", "")
	c.want(http.StatusNotFound, "GET", "/calendars/alice/nothing.ics", "")
	c.want(http.StatusMethodNotAllowed, "GET", "/calendars/alice/", "")
}

// TestCalendarFilePut: PUT of a whole file replaces the calendar's
// content in one batch; sync-collection shows the deletions and puts; a
// restore to before the PUT brings everything back; an invalid file
// writes nothing.
func TestCalendarFilePut(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/default/"
	c.put(cal+"by-hand.ics", "by-hand", "made by a client")
	c.want(http.StatusNoContent, "PUT", "/calendars/alice/default.ics",
		calendarOf(fileEvent("a", "first"), fileEvent("b", "bee"), fileEvent("keep", "same")), "Content-Type", "text/calendar")
	if c.summaryOf(cal+"a.ics") != "first" || c.summaryOf(cal+"by-hand.ics") != "" {
		t.Fatal("the first PUT did not make the calendar the file's")
	}
	_, token := c.sync(cal, "")
	before := pause()

	head := c.head()
	c.want(http.StatusNoContent, "PUT", cal,
		calendarOf(fileEvent("keep", "same"), fileEvent("a", "second"), fileEvent("c", "sea")), "Content-Type", "text/calendar")
	// a changed, c added, b deleted; keep is unchanged and appends nothing.
	if got := c.head() - head; got != 3 {
		t.Errorf("the PUT appended %d events, want 3", got)
	}
	for name, want := range map[string]string{"a.ics": "second", "b.ics": "", "c.ics": "sea", "keep.ics": "same"} {
		if got := c.summaryOf(cal + name); got != want {
			t.Errorf("%s after the PUT: %q, want %q", name, got, want)
		}
	}
	delta, _ := c.sync(cal, token)
	for _, name := range []string{"a.ics", "c.ics"} {
		if !regexp.MustCompile(regexp.QuoteMeta(cal+name) + `</D:href><D:propstat>`).MatchString(delta) {
			t.Errorf("the sync delta lacks the put of %s: %s", name, delta)
		}
	}
	if !regexp.MustCompile(`b\.ics</D:href><D:status>HTTP/1.1 404`).MatchString(delta) || strings.Contains(delta, "keep.ics") {
		t.Errorf("the sync delta should report b.ics removed and not name keep.ics: %s", delta)
	}
	// One batch: every event of the PUT is one append with one request id.
	var ids []string
	err := s.Log.ReadAll(context.Background(), eventlog.Position(head), func(r eventlog.Record) error {
		ids = append(ids, r.Meta.RequestID+" "+r.Meta.Principal)
		return nil
	})
	if err != nil || len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] || !strings.HasSuffix(ids[0], " alice") {
		t.Errorf("the PUT's events: %q, %v", ids, err)
	}

	c.plan(http.StatusOK, cal+"?restore="+instant(before))
	for name, want := range map[string]string{"a.ics": "first", "b.ics": "bee", "c.ics": "", "keep.ics": "same"} {
		if got := c.summaryOf(cal + name); got != want {
			t.Errorf("%s after the restore: %q, want %q", name, got, want)
		}
	}

	// Invalid: one bad object refuses the file, nothing is written.
	head = c.head()
	body := c.want(http.StatusForbidden, "PUT", cal,
		calendarOf(fileEvent("d", "fine"), "BEGIN:VEVENT\r\nUID:bad\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\n"), "Content-Type", "text/calendar")
	if !strings.Contains(body, "valid-calendar-object-resource") || !strings.Contains(body, "bad") {
		t.Errorf("refusal body: %s", body)
	}
	c.want(http.StatusForbidden, "PUT", cal, "not iCalendar", "Content-Type", "text/calendar")
	if c.head() != head {
		t.Error("a refused file wrote something")
	}
	// Conditional: If-Match on the file's ETag.
	resp, _ := c.do("GET", cal, "")
	c.want(http.StatusPreconditionFailed, "PUT", cal, calendarOf(fileEvent("e", "e")), "If-Match", `"stale"`)
	c.want(http.StatusNoContent, "PUT", cal, calendarOf(fileEvent("e", "e")), "If-Match", resp.Header.Get("ETag"))
	c.want(http.StatusNotFound, "PUT", "/calendars/alice/nothing.ics", calendarOf(fileEvent("e", "e")))
}

// TestCalendarImportExport: a generated 2,000-object file imported as one
// batch, exported, and the export imported into another calendar exports
// identically.
func TestCalendarImportExport(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	c := tt{t, s, "alice", "pw"}
	c.want(http.StatusCreated, "MKCALENDAR", "/calendars/alice/copy/", "")
	const n = 2000
	file := generatedCalendar(n)
	meta := eventlog.Metadata{Principal: eventlog.Operator, OnBehalfOf: "alice", Time: time.Now().UTC()}
	ctx := context.Background()

	head := c.head()
	start := time.Now()
	progress := 0
	res, err := s.Backend.ImportCalendar(ctx, meta, "alice", "default", []byte(file), dav.ImportOptions{
		Progress: func(done, total int) { progress = done },
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d objects (%d bytes) in %v: %.0f objects/s", n, len(file), elapsed, n/elapsed.Seconds())
	if res.Objects != n || len(res.Added) != n || progress != n || c.head()-head != n {
		t.Fatalf("import: %d objects, %d added, progress %d, %d events", res.Objects, len(res.Added), progress, c.head()-head)
	}

	exported, err := s.Backend.ExportCalendar("alice", "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(exported), "BEGIN:VTIMEZONE"); got != 2 {
		t.Errorf("%d VTIMEZONEs in the export, want 2", got)
	}
	if _, err := s.Backend.ImportCalendar(ctx, meta, "alice", "copy", exported, dav.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	first := c.want(http.StatusOK, "GET", "/calendars/alice/default.ics", "")
	second := c.want(http.StatusOK, "GET", "/calendars/alice/copy.ics", "")
	if first != second || first != string(exported) {
		t.Errorf("the re-imported export differs: %d vs %d bytes", len(first), len(second))
	}

	// Importing the same file again changes nothing.
	head = c.head()
	res, err = s.Backend.ImportCalendar(ctx, meta, "alice", "default", []byte(file), dav.ImportOptions{})
	if err != nil || res.Unchanged != n || c.head() != head {
		t.Errorf("re-import: %+v, %v, %d events", res.Unchanged, err, c.head()-head)
	}

	// Invalid pieces: refused whole, or skipped when asked.
	bad := calendarOf(fileEvent("fine", "ok"), "BEGIN:VEVENT\r\nUID:no-start\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\n")
	_, err = s.Backend.ImportCalendar(ctx, meta, "alice", "default", []byte(bad), dav.ImportOptions{})
	var ie *dav.ImportError
	if !errors.As(err, &ie) || len(ie.Invalid) != 1 || ie.Invalid[0].UID != "no-start" || c.head() != head {
		t.Fatalf("invalid import: %v", err)
	}
	res, err = s.Backend.ImportCalendar(ctx, meta, "alice", "default", []byte(bad), dav.ImportOptions{SkipInvalid: true})
	if err != nil || len(res.Added) != 1 || len(res.Invalid) != 1 || c.head() != head+1 {
		t.Errorf("import skipping the invalid: %+v, %v", res, err)
	}
}
