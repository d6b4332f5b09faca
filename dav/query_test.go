package dav_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// TestCalendarQueryIndexDecides: a VEVENT time-range query answers the same
// objects whether the index proves a match (an opaque instance in range)
// or the object must be evaluated (transparent, cancelled, zero-length,
// floating, all-day), with ETags alone (candidates read without data) and
// with calendar-data.
func TestCalendarQueryIndexDecides(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	objects := map[string]string{
		"opaque":      "DTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\n",
		"transparent": "DTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\nTRANSP:TRANSPARENT\r\n",
		"cancelled":   "DTSTART:20260303T090000Z\r\nDTEND:20260303T100000Z\r\nSTATUS:CANCELLED\r\n",
		"instant":     "DTSTART:20260304T090000Z\r\n",
		"floating":    "DTSTART:20260304T090000\r\nDTEND:20260304T100000\r\n",
		"allday":      "DTSTART;VALUE=DATE:20260305\r\n",
		"series":      "DTSTART:20260201T090000Z\r\nDTEND:20260201T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\n",
		"before":      "DTSTART:20260220T090000Z\r\nDTEND:20260220T100000Z\r\n",
		"boundary":    "DTSTART:20260301T000000Z\r\nDTEND:20260302T000000Z\r\nTRANSP:TRANSPARENT\r\n",
		"after":       "DTSTART:20260309T000000Z\r\nDTEND:20260309T010000Z\r\n",
	}
	for name, times := range objects {
		body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + name +
			"\r\nDTSTAMP:20260101T000000Z\r\n" + times + "SUMMARY:" + name + " <&>\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		resp, got := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/" + name + ".ics", User: "alice", Pass: "pw",
			Header: http.Header{"Content-Type": {"text/calendar"}}, Body: body})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, got)
		}
	}
	// Every object but "before", "boundary" (it ends where the range
	// starts) and "after" has an instance in [03-02, 03-09).
	want := []string{"allday", "cancelled", "floating", "instant", "opaque", "series", "transparent"}
	href := regexp.MustCompile(`<D:href>/calendars/alice/default/([a-z]+)\.ics</D:href>`)
	for _, prop := range []string{"<D:getetag/>", "<D:getetag/><C:calendar-data/>"} {
		resp, body := s.Do(testkit.Request{Method: "REPORT", Path: "/calendars/alice/default/", User: "alice", Pass: "pw",
			Header: http.Header{"Depth": {"1"}, "Content-Type": {"application/xml"}},
			Body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>` + prop + `</D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="20260302T000000Z" end="20260309T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`})
		if resp.StatusCode != http.StatusMultiStatus {
			t.Fatalf("%s: %d %s", prop, resp.StatusCode, body)
		}
		var got []string
		for _, m := range href.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: answered %v, want %v", prop, got, want)
		}
		if data := strings.Contains(prop, "calendar-data"); data != (strings.Count(body, "SUMMARY:opaque &lt;&amp;&gt;&#13;\n") == 1) {
			t.Errorf("%s: calendar-data of the proven match missing or unescaped:\n%s", prop, body)
		}
	}
}
