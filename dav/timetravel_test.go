package dav_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/emersion/go-webdav/caldav"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/testkit"
)

// versionsOf lists an object's versions from its history collection: the
// exact event time of each (usable as an as-of instant), and the ETag of
// those that wrote data.
func versionsOf(t *testing.T, s *testkit.Server, obj string) (times []string, etags []string) {
	t.Helper()
	resp, body := s.Do(testkit.Request{Method: "PROPFIND", Path: "/history/alice/default/" + obj + "/", User: "alice", Pass: "alice",
		Header: http.Header{"Depth": {"1"}},
		Body:   `<D:propfind xmlns:D="DAV:" xmlns:K="http://kalends.org/ns/"><D:prop><D:getetag/><K:time/></D:prop></D:propfind>`})
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("history PROPFIND: %d %s", resp.StatusCode, body)
	}
	var ms struct {
		Responses []struct {
			Href  string `xml:"DAV: href"`
			Props []struct {
				ETag string `xml:"DAV: getetag"`
				Time string `xml:"http://kalends.org/ns/ time"`
			} `xml:"DAV: propstat>prop"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatal(err)
	}
	for _, r := range ms.Responses[1:] { // the first is the collection
		times = append(times, r.Props[0].Time)
		etags = append(etags, r.Props[0].ETag)
	}
	return times, etags
}

func calendarText(summary, start string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:ev-1\r\nDTSTAMP:20261101T120000Z\r\n" +
		"DTSTART:" + start + "\r\nDURATION:PT1H\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// TestAsOfBetweenEdits creates, edits twice from two clients and deletes an
// object, then reads the calendar as of each version's instant (taken from
// the history listing) and just before the first: GET, PROPFIND and a
// time-range calendar-query each see what was current then.
func TestAsOfBetweenEdits(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	do := func(method, path, agent, body string, header http.Header) (*http.Response, string) {
		t.Helper()
		if header == nil {
			header = http.Header{}
		}
		header.Set("User-Agent", agent)
		return s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "alice", Header: header, Body: body})
	}
	versions := []struct{ summary, start string }{
		{"Planning", "20261124T090000Z"},
		{"Planning at ten", "20261124T100000Z"},
		{"Planning on Wednesday", "20261125T100000Z"},
	}
	const obj = "/calendars/alice/default/ev.ics"
	for i, v := range versions {
		agent := []string{"Phone/1", "Laptop/2"}[i%2]
		if resp, body := do("PUT", obj, agent, calendarText(v.summary, v.start), http.Header{"Content-Type": {"text/calendar"}}); resp.StatusCode >= 300 {
			t.Fatalf("PUT %d: %d %s", i, resp.StatusCode, body)
		}
		time.Sleep(time.Millisecond) // distinct event times, whatever the clock's resolution
	}
	if resp, _ := do("DELETE", obj, "Laptop/2", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	times, etags := versionsOf(t, s, "ev.ics")
	if len(times) != 4 {
		t.Fatalf("%d versions, want 4", len(times))
	}
	first, err := time.Parse(time.RFC3339Nano, times[0])
	if err != nil {
		t.Fatal(err)
	}
	before := first.Add(-time.Nanosecond).Format(time.RFC3339Nano)

	query := func(at, start, end string) string {
		_, body := do("REPORT", "/asof/"+at+"/calendars/alice/default/", "t", `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="`+start+`" end="`+end+`"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`, http.Header{"Depth": {"1"}})
		return body
	}
	for i, at := range append(times, before) {
		path := "/asof/" + at + obj
		resp, body := do("GET", path, "t", "", nil)
		if i >= len(versions) {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("as of %s (no object then): GET %d", at, resp.StatusCode)
			}
			if strings.Contains(query(at, "20261101T000000Z", "20261201T000000Z"), "ev.ics") {
				t.Errorf("as of %s (no object then): calendar-query found it", at)
			}
			continue
		}
		v := versions[i]
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "SUMMARY:"+v.summary+"\r\n") || resp.Header.Get("ETag") != etags[i] {
			t.Errorf("as of %s: GET %d etag %s, want version %d (%s)\n%s", at, resp.StatusCode, resp.Header.Get("ETag"), i+1, etags[i], body)
		}
		_, body = do("PROPFIND", "/asof/"+at+"/calendars/alice/default/", "t",
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, http.Header{"Depth": {"1"}})
		if want := "<D:href>" + "/asof/" + at + obj + "</D:href><D:propstat><D:prop><D:getetag>" + etags[i]; !strings.Contains(body, want) {
			t.Errorf("as of %s: PROPFIND lacks %s\n%s", at, want, body)
		}
		day := v.start[:8]
		if got := query(at, day+"T000000Z", day+"T235959Z"); !strings.Contains(got, etags[i]) {
			t.Errorf("as of %s: calendar-query of %s misses version %d\n%s", at, day, i+1, got)
		}
		if i == 0 && strings.Contains(query(at, "20261125T000000Z", "20261126T000000Z"), "ev.ics") {
			t.Errorf("as of %s: calendar-query found the event on a day it was not yet on", at)
		}
	}
}

// TestAsOfSeesLaterWrites: a view of an instant still to come is the
// present, and a cached view does not hide a write made after it was built.
func TestAsOfSeesLaterWrites(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	get := func() string {
		_, body := s.Do(testkit.Request{Method: "GET", Path: "/asof/20991231T000000Z/calendars/alice/default/ev.ics", User: "alice", Pass: "alice"})
		return body
	}
	put := func(summary string) {
		s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/ev.ics", User: "alice", Pass: "alice",
			Header: http.Header{"Content-Type": {"text/calendar"}}, Body: calendarText(summary, "20261124T090000Z")})
	}
	put("one")
	if !strings.Contains(get(), "SUMMARY:one") {
		t.Fatal("as-of view of the future does not show the present")
	}
	put("two")
	if !strings.Contains(get(), "SUMMARY:two") {
		t.Fatal("as-of view hides a later write")
	}
}

// TestGoWebDAVClientAsOf mounts an as-of calendar in an independent CalDAV
// client: it finds the calendar, queries and reads it, and cannot write.
func TestGoWebDAVClientAsOf(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	ctx := context.Background()
	live, err := caldav.NewClient(testkit.BasicAuthClient("alice", "alice"), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if _, err := live.PutCalendarObject(ctx, "/calendars/alice/default/standup.ics", event("standup-1", "Standup", start)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	instant := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(time.Millisecond)
	if _, err := live.PutCalendarObject(ctx, "/calendars/alice/default/standup.ics", event("standup-1", "Standup (moved)", start.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := live.PutCalendarObject(ctx, "/calendars/alice/default/later.ics", event("later-1", "Later", start)); err != nil {
		t.Fatal(err)
	}

	base := "/asof/" + instant + "/calendars/alice/default/"
	c, err := caldav.NewClient(testkit.BasicAuthClient("alice", "alice"), s.URL+base)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := c.FindCalendars(ctx, base)
	if err != nil || len(cals) != 1 || cals[0].Path != base {
		t.Fatalf("calendars %+v, %v", cals, err)
	}
	objs, err := c.QueryCalendar(ctx, base, &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter:  caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{Name: "VEVENT"}}},
	})
	if err != nil || len(objs) != 1 || objs[0].Path != base+"standup.ics" {
		t.Fatalf("query: %+v, %v", objs, err)
	}
	got, err := c.GetCalendarObject(ctx, base+"standup.ics")
	if err != nil {
		t.Fatal(err)
	}
	if sum, _ := got.Data.Events()[0].Props.Text(ical.PropSummary); sum != "Standup" {
		t.Errorf("as-of GET: summary %q, want the first version's", sum)
	}
	if _, err := c.PutCalendarObject(ctx, base+"new.ics", event("new-1", "New", start)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("PUT into an as-of view: %v, want 403", err)
	}
}

// TestAsOfConcurrent reads more distinct instants at once than the cache
// holds, so that views are evicted while requests still read them.
func TestAsOfConcurrent(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/ev.ics", User: "alice", Pass: "alice",
		Header: http.Header{"Content-Type": {"text/calendar"}}, Body: calendarText("Planning", "20261124T090000Z")})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			at := fmt.Sprintf("2099%02d01T000000Z", 1+i%12)
			resp, body := s.Do(testkit.Request{Method: "GET", Path: "/asof/" + at + "/calendars/alice/default/ev.ics", User: "alice", Pass: "alice"})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "SUMMARY:Planning") {
				t.Errorf("as of %s: %d %s", at, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
}

// TestHistoryOperations: a restore's changes read "restore", a calendar's
// deletion is a version of each object in it, and a calendar created again
// under the same name continues the same history.
func TestHistoryOperations(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	req := func(method, path, body string) {
		t.Helper()
		resp, text := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "alice",
			Header: http.Header{"Content-Type": {"text/calendar"}}, Body: body})
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, text)
		}
	}
	req("PUT", "/calendars/alice/default/ev.ics", calendarText("Planning", "20261124T090000Z"))
	// A restore as restore.go appends it: the marker, then the changes,
	// all with one request's metadata.
	meta := eventlog.Metadata{Principal: "alice", OnBehalfOf: "alice", Time: time.Now().UTC(), RequestID: "req-restore"}
	var events []eventlog.Event
	for _, e := range []domain.Event{
		&domain.CalendarRestored{AsOf: meta.Time.Add(-time.Hour), Object: "ev.ics"},
		&domain.ObjectDeleted{Name: "ev.ics"},
	} {
		typ, schema, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: meta})
	}
	res, err := s.Log.Append(context.Background(), domain.CalendarStream("alice", "default"), eventlog.Any, events)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.WaitFor(context.Background(), res.Position); err != nil {
		t.Fatal(err)
	}
	req("PUT", "/calendars/alice/default/ev.ics", calendarText("Planning again", "20261124T090000Z"))
	req("DELETE", "/calendars/alice/default/", "")
	req("MKCALENDAR", "/calendars/alice/default/", "")
	req("PUT", "/calendars/alice/default/ev.ics", calendarText("Planning anew", "20261124T090000Z"))

	_, body := s.Do(testkit.Request{Method: "PROPFIND", Path: "/history/alice/default/ev.ics/", User: "alice", Pass: "alice",
		Header: http.Header{"Depth": {"1"}},
		Body:   `<D:propfind xmlns:D="DAV:" xmlns:K="http://kalends.org/ns/"><D:prop><K:operation/></D:prop></D:propfind>`})
	var ops []string
	for _, part := range strings.Split(body, `<X:operation xmlns:X="http://kalends.org/ns/">`)[2:] { // [1] is the collection's
		ops = append(ops, part[:strings.Index(part, "<")])
	}
	if got, want := strings.Join(ops, ","), "put,restore,put,calendar-delete,put"; got != want {
		t.Errorf("operations %s, want %s\n%s", got, want, body)
	}
}

// TestHistoryOfOldMoves reads moves logged before ObjectPut.Moved existed:
// a MOVE within the calendar is still recognised by its put and deletion
// in one request; one from another calendar, whose source is in another
// stream, reads as the copy its put then said it was.
func TestHistoryOfOldMoves(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	appendAs := func(requestID string, events ...domain.Event) {
		t.Helper()
		meta := eventlog.Metadata{Principal: "alice", OnBehalfOf: "alice", Time: time.Now().UTC(), RequestID: requestID}
		var encoded []eventlog.Event
		for _, e := range events {
			typ, schema, data, err := domain.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			encoded = append(encoded, eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: meta})
		}
		res, err := s.Log.Append(context.Background(), domain.CalendarStream("alice", "default"), eventlog.Any, encoded)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store.WaitFor(context.Background(), res.Position); err != nil {
			t.Fatal(err)
		}
	}
	data := calendarText("Planning", "20261124T090000Z")
	put := func(name, from string) *domain.ObjectPut {
		return &domain.ObjectPut{Name: name, UID: "ev-1", Component: "VEVENT", ETag: domain.ETagOf([]byte(data)), Data: data, CopiedFrom: from}
	}
	appendAs("req-put", put("a.ics", ""))
	appendAs("req-move", put("b.ics", "alice/default/a.ics"), &domain.ObjectDeleted{Name: "a.ics", MovedTo: "alice/default/b.ics"})
	appendAs("req-arrive", &domain.ObjectDeleted{Name: "b.ics"}, put("c.ics", "alice/work/c.ics"))

	_, body := s.Do(testkit.Request{Method: "PROPFIND", Path: "/history/alice/default/", User: "alice", Pass: "alice",
		Header: http.Header{"Depth": {"1"}},
		Body:   `<D:propfind xmlns:D="DAV:" xmlns:K="http://kalends.org/ns/"><D:prop><K:operation/><K:copied-from/><K:moved-from/></D:prop></D:propfind>`})
	for _, want := range []string{
		`<D:href>/history/alice/default/b.ics/</D:href><D:propstat><D:prop><X:operation xmlns:X="http://kalends.org/ns/">delete</X:operation>`,
		`<D:href>/history/alice/default/c.ics/</D:href><D:propstat><D:prop><X:operation xmlns:X="http://kalends.org/ns/">copy</X:operation><X:copied-from xmlns:X="http://kalends.org/ns/"><D:href>/calendars/alice/work/c.ics</D:href></X:copied-from>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %s\n%s", want, body)
		}
	}
	_, body = s.Do(testkit.Request{Method: "PROPFIND", Path: "/history/alice/default/b.ics/", User: "alice", Pass: "alice",
		Header: http.Header{"Depth": {"1"}},
		Body:   `<D:propfind xmlns:D="DAV:" xmlns:K="http://kalends.org/ns/"><D:prop><K:operation/><K:moved-from/></D:prop></D:propfind>`})
	if want := `<X:operation xmlns:X="http://kalends.org/ns/">move</X:operation><X:moved-from xmlns:X="http://kalends.org/ns/"><D:href>/calendars/alice/default/a.ics</D:href></X:moved-from>`; !strings.Contains(body, want) {
		t.Errorf("b.ics's first version lacks %s\n%s", want, body)
	}
}
