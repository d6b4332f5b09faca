package dav

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestEscapeKeepsCRLFAndQuotes(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\nSUMMARY:\"a\" & <b> é\x01\xff\r\n"
	got := escapeString(in)
	want := "BEGIN:VCALENDAR&#13;\nSUMMARY:\"a\" &amp; &lt;b&gt; é\uFFFD\uFFFD&#13;\n"
	if got != want {
		t.Fatalf("escape:\n got %q\nwant %q", got, want)
	}
	var v struct {
		Text string `xml:",chardata"`
	}
	if err := xml.Unmarshal([]byte("<x>"+got+"</x>"), &v); err != nil || !strings.Contains(v.Text, "\r\n") {
		t.Fatalf("escaped text does not parse back with CRLF: %q, %v", v.Text, err)
	}
}

func TestParseXMLRefusesDTDAndBounds(t *testing.T) {
	bomb := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><D:propfind xmlns:D="DAV:">&a;</D:propfind>`
	if _, err := parseXML(strings.NewReader(bomb)); err != errXMLDTD {
		t.Errorf("DTD: %v", err)
	}
	if _, err := parseXML(strings.NewReader(`<D:propfind xmlns:D="DAV:">&undeclared;</D:propfind>`)); err == nil {
		t.Error("undeclared entity accepted")
	}
	big := "<a>" + strings.Repeat("x", maxXMLBody) + "</a>"
	if _, err := parseXML(strings.NewReader(big)); err != errXMLTooLarge {
		t.Errorf("oversize: %v", err)
	}
	deep := strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1)
	if _, err := parseXML(strings.NewReader(deep)); err == nil {
		t.Error("deep nesting accepted")
	}
}

func TestParseXMLInnerIsSelfContained(t *testing.T) {
	n, err := parseXML(strings.NewReader(`<D:set xmlns:D="DAV:" xmlns:X="urn:x"><X:color X:kind="rgb">#ff0000 &amp; <X:b/></X:color></D:set>`))
	if err != nil {
		t.Fatal(err)
	}
	got := n.Children[0].Inner
	want := `#ff0000 &amp; <b xmlns="urn:x"></b>`
	if got != want {
		t.Fatalf("inner %q, want %q", got, want)
	}
}

func FuzzParseXML(f *testing.F) {
	f.Add(`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`)
	f.Add(`<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseXML(strings.NewReader(s))
		if err != nil || n == nil {
			return
		}
		// Inner XML must always be well-formed on its own: it is written
		// back into responses verbatim.
		var walk func(*node)
		walk = func(n *node) {
			if _, err := parseXML(strings.NewReader("<w>" + n.Inner + "</w>")); err != nil {
				t.Fatalf("inner of %v not well-formed: %q: %v", n.Name, n.Inner, err)
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(n)
	})
}

func TestParseXMLRefusesUndeclaredPrefix(t *testing.T) {
	for _, doc := range []string{
		`<c:mkcalendar xmlns:c="urn:ietf:params:xml:ns:caldav"><ical:calendar-color>#336699FF</ical:calendar-color></c:mkcalendar>`,
		`<D:prop xmlns:D="DAV:"><D:x zz:attr="1"/></D:prop>`,
	} {
		if _, err := parseXML(strings.NewReader(doc)); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
	ok := `<D:prop xmlns:D="DAV:" xml:lang="en"><x xmlns="urn:x"><y/></x><z xmlns=""/></D:prop>`
	if _, err := parseXML(strings.NewReader(ok)); err != nil {
		t.Errorf("refused well-formed document: %v", err)
	}
}

// TestQueryTimezoneByWindowsName: a CALDAV:timezone whose TZID is an
// Outlook name floats times in the zone it names, not in UTC.
func TestQueryTimezoneByWindowsName(t *testing.T) {
	vtz := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
	if got := zoneOfVTimezone(vtz).String(); got == "UTC" {
		t.Fatalf("Windows TZID resolved to %s", got)
	}
}
