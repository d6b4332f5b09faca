package dav_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// FuzzReport sends any body as a REPORT to a calendar holding a recurring
// event with an override, a floating all-day event and a task. Whatever the
// body (calendar-query filters, expand and limit elements, timezones,
// free-busy windows, multiget hrefs, sync tokens), the server answers with
// a multistatus, a free-busy calendar or a client error; never a 5xx, which
// is how a panic or an unhandled case in parsing or evaluation shows.
func FuzzReport(f *testing.F) {
	s := testkit.NewServer(f, testkit.Options{})
	s.AddUser("alice", "alice")
	for name, data := range map[string]string{
		"weekly.ics": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20261101T120000Z\r\n" +
			"DTSTART;TZID=Europe/Berlin:20261102T090000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY;COUNT=6\r\n" +
			"EXDATE;TZID=Europe/Berlin:20261116T090000\r\nSUMMARY:Team sync\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n" +
			"TRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20261101T120000Z\r\n" +
			"RECURRENCE-ID;TZID=Europe/Berlin:20261123T090000\r\nDTSTART;TZID=Europe/Berlin:20261123T140000\r\n" +
			"DURATION:PT1H\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"allday.ics": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T120000Z\r\n" +
			"DTSTART;VALUE=DATE:20261124\r\nSUMMARY:Holiday\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"task.ics": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20261101T120000Z\r\n" +
			"DUE:20261125T170000Z\r\nSUMMARY:File report\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
	} {
		resp, body := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/" + name, User: "alice", Pass: "alice",
			Header: http.Header{"Content-Type": {"text/calendar"}}, Body: data})
		if resp.StatusCode != http.StatusCreated {
			f.Fatalf("PUT %s: %s %s", name, resp.Status, body)
		}
	}
	const head = `<?xml version="1.0" encoding="utf-8"?>` + "\n"
	for _, body := range []string{
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data><C:expand start="20261101T000000Z" end="20261201T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261101T000000Z" end="20261201T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="SUMMARY"/></C:comp></C:comp><C:limit-recurrence-set start="20261110T000000Z" end="20261120T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;unicode-casemap" negate-condition="yes">sync</C:text-match></C:prop-filter><C:comp-filter name="VALARM"><C:time-range start="20261101T000000Z" end="20261102T000000Z"/></C:comp-filter></C:comp-filter></C:comp-filter></C:filter><C:timezone>BEGIN:VCALENDAR&#13;
VERSION:2.0&#13;
PRODID:x&#13;
BEGIN:VTIMEZONE&#13;
TZID:Europe/Berlin&#13;
END:VTIMEZONE&#13;
END:VCALENDAR&#13;
</C:timezone></C:calendar-query>`,
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:prop-filter name="DUE"><C:time-range start="20261125T000000Z"/></C:prop-filter><C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20261101T000000Z" end="20261201T000000Z"/></C:free-busy-query>`,
		`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>/calendars/alice/default/weekly.ics</D:href><D:href>/calendars/alice/default/nope.ics</D:href></C:calendar-multiget>`,
		`<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop><D:limit><D:nresults>1</D:nresults></D:limit></D:sync-collection>`,
	} {
		f.Add(head + body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := http.NewRequest("REPORT", s.URL+"/calendars/alice/default/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Depth", "1")
		req.Header.Set("Content-Type", "application/xml")
		req.SetBasicAuth("alice", "alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s for\n%s\n→ %s", resp.Status, body, answer)
		}
	})
}
