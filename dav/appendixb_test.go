package dav_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// TestRFC4791AppendixB replays RFC 4791's example queries (§7.8, §7.10)
// over HTTP against its Appendix B calendar, stored in a calendar that also
// accepts VFREEBUSY as the appendix needs. The sample objects are the
// domain's own fixtures, so both layers are tested on the same data.
func TestRFC4791AppendixB(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("bernard", "bernard")
	resp, body := s.Do(testkit.Request{Method: "MKCALENDAR", Path: "/calendars/bernard/work/", User: "bernard", Pass: "bernard",
		Header: http.Header{"Content-Type": {"application/xml"}},
		Body: `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/><C:comp name="VFREEBUSY"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("abcd%d.ics", i)
		resp, body := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/bernard/work/" + name, User: "bernard", Pass: "bernard",
			Header: http.Header{"Content-Type": {"text/calendar"}}, Body: testkit.ReadFile(t, "../domain/testdata/filter/"+name)})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, body)
		}
	}
	testkit.RunGolden(t, s, "testdata/appendixb.txt")
}
