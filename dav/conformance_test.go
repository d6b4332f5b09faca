package dav_test

import (
	"encoding/xml"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// TestOptionsAllow: OPTIONS lists what the path serves (RFC 9110 §10.2.1).
// The views of the past are read-only, so their Allow offers no write; each
// lists exactly the methods its handler answers.
func TestOptionsAllow(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	const live = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCALENDAR, MKCOL, COPY, MOVE, REPORT, POST"
	for path, want := range map[string]string{
		"/calendars/alice/default/":                             live,
		"/calendars/alice/default/ev.ics":                       live,
		"/asof/20991231T235959Z/calendars/alice/default/":       "OPTIONS, GET, HEAD, PROPFIND, REPORT",
		"/asof/20991231T235959Z/calendars/alice/default/ev.ics": "OPTIONS, GET, HEAD, PROPFIND, REPORT",
		"/history/alice/default/":                               "OPTIONS, PROPFIND",
		"/history/alice/default/ev.ics/":                        "OPTIONS, PROPFIND",
		"/history/alice/default/ev.ics/3":                       "OPTIONS, GET, HEAD, PROPFIND",
		"/trash/alice/":                                         "OPTIONS, PROPFIND",
		"/trash/alice/default/":                                 "OPTIONS, PROPFIND, POST",
		"/trash/alice/default/ev.ics":                           "OPTIONS, GET, HEAD, POST",
	} {
		resp, body := s.Do(testkit.Request{Method: "OPTIONS", Path: path})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Allow") != want {
			t.Errorf("OPTIONS %s: %d, Allow %q, want %q\n%s", path, resp.StatusCode, resp.Header.Get("Allow"), want, body)
		}
	}
	// A method outside Allow is refused with the same Allow.
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/history/alice/default/ev.ics/", "OPTIONS, PROPFIND"},
		{"PROPFIND", "/trash/alice/default/ev.ics", "OPTIONS, GET, HEAD, POST"},
	} {
		resp, _ := s.Do(testkit.Request{Method: c.method, Path: c.path, User: "alice", Pass: "alice"})
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.want {
			t.Errorf("%s %s: %d, Allow %q, want 405 with %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.want)
		}
	}
}

// propElement finds the first element named space/local in an XML body and
// returns its attributes (namespace declarations left out) and the XML
// between its tags, as a client's namespace-aware parser sees them.
func propElement(t *testing.T, body, space, local string) (map[xml.Name]string, string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no %s %s in\n%s", space, local, body)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Space != space || start.Name.Local != local {
			continue
		}
		attrs := map[xml.Name]string{}
		for _, a := range start.Attr {
			if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
				attrs[a.Name] = a.Value
			}
		}
		var inner struct {
			Text string `xml:",innerxml"`
		}
		if err := d.DecodeElement(&inner, &start); err != nil {
			t.Fatal(err)
		}
		return attrs, inner.Text
	}
}

// TestDeadPropertyAttributes: a dead property comes back with the
// attributes of its own element, namespaces intact, and with the xml:lang
// in scope where it was set (RFC 4918 §4.3), through PROPPATCH, MKCALENDAR,
// PROPFIND by name and allprop.
func TestDeadPropertyAttributes(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	do := func(method, path, body string, want int) string {
		t.Helper()
		resp, text := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "alice",
			Header: http.Header{"Depth": {"0"}}, Body: body})
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, text)
		}
		return text
	}
	do("PROPPATCH", "/calendars/alice/default/", `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x" xmlns:Y="urn:y">
	  <D:set><D:prop><X:foo X:attr="1" Y:other="two" plain="3">v <X:b xml:lang="de">fett</X:b></X:foo></D:prop></D:set>
	  <D:set xml:lang="fr"><D:prop><X:said>bonjour</X:said><D:displayname>Agenda</D:displayname></D:prop></D:set>
	</D:propertyupdate>`, http.StatusMultiStatus)
	do("MKCALENDAR", "/calendars/alice/work/", `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:X="urn:x">
	  <D:set><D:prop><X:foo xml:lang="en" X:attr="9">w</X:foo></D:prop></D:set></C:mkcalendar>`, http.StatusCreated)

	xmlLang := xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: "lang"}
	cases := []struct {
		path, local string
		space       string
		attrs       map[xml.Name]string
		inner       string
	}{
		{"/calendars/alice/default/", "foo", "urn:x", map[xml.Name]string{
			{Space: "urn:x", Local: "attr"}: "1", {Space: "urn:y", Local: "other"}: "two", {Local: "plain"}: "3"}, "v "},
		{"/calendars/alice/default/", "said", "urn:x", map[xml.Name]string{xmlLang: "fr"}, "bonjour"},
		{"/calendars/alice/default/", "displayname", "DAV:", map[xml.Name]string{xmlLang: "fr"}, "Agenda"},
		{"/calendars/alice/work/", "foo", "urn:x", map[xml.Name]string{xmlLang: "en", {Space: "urn:x", Local: "attr"}: "9"}, "w"},
	}
	for _, c := range cases {
		for _, req := range []string{
			`<D:propfind xmlns:D="DAV:" xmlns:X="` + c.space + `"><D:prop><X:` + c.local + `/></D:prop></D:propfind>`,
			`<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
		} {
			attrs, inner := propElement(t, do("PROPFIND", c.path, req, http.StatusMultiStatus), c.space, c.local)
			if !reflect.DeepEqual(attrs, c.attrs) || !strings.HasPrefix(inner, c.inner) {
				t.Errorf("%s %s {%s}%s: attributes %v, content %q; want %v, %q", c.path, req, c.space, c.local, attrs, inner, c.attrs, c.inner)
			}
		}
	}
	// The nested element keeps its own xml:lang, written with the reserved
	// prefix rather than a declared one (which XML forbids).
	body := do("PROPFIND", "/calendars/alice/default/", `<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><X:foo/></D:prop></D:propfind>`, http.StatusMultiStatus)
	if attrs, _ := propElement(t, body, "urn:x", "b"); attrs[xmlLang] != "de" || strings.Contains(body, `="http://www.w3.org/XML/1998/namespace"`) {
		t.Errorf("nested xml:lang: %v\n%s", attrs, body)
	}
}

// TestReportsOnAnObject: calendar-query and calendar-multiget may target a
// calendar object resource itself (RFC 4791 §7.8, §7.9), and the object's
// supported-report-set says so. A multiget there answers only that object.
func TestReportsOnAnObject(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	do := func(method, path, body string, header http.Header) (int, string) {
		t.Helper()
		resp, text := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "alice", Header: header, Body: body})
		return resp.StatusCode, text
	}
	for _, name := range []string{"a", "b"} {
		if code, text := do("PUT", "/calendars/alice/default/"+name+".ics", ics("uid-"+name, "summary "+name),
			http.Header{"Content-Type": {"text/calendar"}}); code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, code, text)
		}
	}
	code, body := do("REPORT", "/calendars/alice/default/a.ics", `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
	  <D:prop><D:getetag/><C:calendar-data/></D:prop>
	  <D:href>/calendars/alice/default/a.ics</D:href>
	  <D:href>/calendars/alice/default/b.ics</D:href>
	</C:calendar-multiget>`, nil)
	if code != http.StatusMultiStatus || !strings.Contains(body, "SUMMARY:summary a") ||
		!strings.Contains(body, "<D:response><D:href>/calendars/alice/default/b.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>") {
		t.Errorf("multiget on an object: %d\n%s", code, body)
	}
	code, body = do("PROPFIND", "/calendars/alice/default/a.ics", `<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>`,
		http.Header{"Depth": {"0"}})
	if want := "<D:supported-report-set><D:supported-report><D:report><C:calendar-multiget/></D:report></D:supported-report>" +
		"<D:supported-report><D:report><C:calendar-query/></D:report></D:supported-report></D:supported-report-set>"; code != http.StatusMultiStatus || !strings.Contains(body, want) {
		t.Errorf("supported-report-set of an object: %d\n%s", code, body)
	}
}

// TestPrivilegesAreSupported: every privilege current-user-privilege-set
// names is a non-abstract one of supported-privilege-set (RFC 3744 §5.4),
// on every kind of resource, and none is write-acl or all, which the fixed
// ACLs here grant nobody.
func TestPrivilegesAreSupported(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	s.AddUser("bob", "bob")
	if resp, body := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/a.ics", User: "alice", Pass: "alice",
		Header: http.Header{"Content-Type": {"text/calendar"}}, Body: ics("uid-a", "A")}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	type privilege struct {
		Inner struct {
			XMLName xml.Name
		} `xml:",any"`
	}
	type supported struct {
		Privilege privilege   `xml:"DAV: privilege"`
		Abstract  *struct{}   `xml:"DAV: abstract"`
		Children  []supported `xml:"DAV: supported-privilege"`
	}
	var walk func(sp supported, into map[xml.Name]bool)
	walk = func(sp supported, into map[xml.Name]bool) {
		if sp.Abstract == nil {
			into[sp.Privilege.Inner.XMLName] = true
		}
		for _, c := range sp.Children {
			walk(c, into)
		}
	}
	for _, c := range []struct{ user, path string }{
		{"alice", "/"}, {"alice", "/calendars/alice/"}, {"alice", "/calendars/alice/default/"}, {"alice", "/calendars/alice/default/a.ics"},
		{"alice", "/principals/users/alice/"}, {"bob", "/principals/users/alice/"},
		{"alice", "/asof/20991231T235959Z/calendars/alice/default/"},
	} {
		resp, body := s.Do(testkit.Request{Method: "PROPFIND", Path: c.path, User: c.user, Pass: c.user, Header: http.Header{"Depth": {"0"}},
			Body: `<D:propfind xmlns:D="DAV:"><D:prop><D:supported-privilege-set/><D:current-user-privilege-set/></D:prop></D:propfind>`})
		var ms struct {
			Props []struct {
				Supported []supported `xml:"supported-privilege-set>supported-privilege"`
				Current   []privilege `xml:"current-user-privilege-set>privilege"`
			} `xml:"response>propstat>prop"`
		}
		if err := xml.Unmarshal([]byte(body), &ms); err != nil || resp.StatusCode != http.StatusMultiStatus || len(ms.Props) != 1 {
			t.Fatalf("%s as %s: %d %v\n%s", c.path, c.user, resp.StatusCode, err, body)
		}
		nonAbstract := map[xml.Name]bool{}
		for _, sp := range ms.Props[0].Supported {
			walk(sp, nonAbstract)
		}
		if len(ms.Props[0].Current) == 0 {
			t.Errorf("%s as %s: no current privileges\n%s", c.path, c.user, body)
		}
		for _, p := range ms.Props[0].Current {
			n := p.Inner.XMLName
			if !nonAbstract[n] || n.Local == "all" || n.Local == "write-acl" {
				t.Errorf("%s as %s: current privilege %v is not a grantable supported one\n%s", c.path, c.user, n, body)
			}
		}
	}
}

// TestConditionalGet: GET and HEAD evaluate If-Match as well as
// If-None-Match (RFC 9110 §13.2.2), on an object and on a calendar's
// whole file.
func TestConditionalGet(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	resp, body := s.Do(testkit.Request{Method: "PUT", Path: "/calendars/alice/default/a.ics", User: "alice", Pass: "alice",
		Header: http.Header{"Content-Type": {"text/calendar"}}, Body: ics("uid-a", "A")})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/calendars/alice/default/a.ics", "/calendars/alice/default/"} {
		resp, _ := s.Do(testkit.Request{Method: "GET", Path: path, User: "alice", Pass: "alice"})
		etag := resp.Header.Get("ETag")
		for _, c := range []struct {
			header, value string
			want          int
		}{
			{"If-Match", etag, http.StatusOK},
			{"If-Match", "*", http.StatusOK},
			{"If-Match", `"other", ` + etag, http.StatusOK},
			{"If-Match", `"other"`, http.StatusPreconditionFailed},
			{"If-None-Match", etag, http.StatusNotModified},
			{"If-None-Match", "*", http.StatusNotModified},
			{"If-None-Match", `"other"`, http.StatusOK},
		} {
			for _, method := range []string{"GET", "HEAD"} {
				resp, _ := s.Do(testkit.Request{Method: method, Path: path, User: "alice", Pass: "alice", Header: http.Header{c.header: {c.value}}})
				if resp.StatusCode != c.want {
					t.Errorf("%s %s with %s: %s: %d, want %d", method, path, c.header, c.value, resp.StatusCode, c.want)
				}
			}
		}
	}
}
