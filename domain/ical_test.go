package domain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // as in the binary: IANA TZIDs must not depend on the host's zoneinfo
)

// validExpect is what each file in testdata/ical/valid must give. A file
// without an entry fails the test, so that nobody adds a case that checks
// nothing.
var validExpect = map[string]CalendarObject{
	"allday-multiday-no-dtend.ics":        {UID: "vacation-2024-08@example.net", Component: "VEVENT"},
	"allday-single.ics":                   {UID: "4n7l2kq1m0p9r8s7t6u5v4w3x2@google.com", Component: "VEVENT"},
	"apple-event-vtimezone-valarm.ics":    {UID: "6A4C3B2E-9F1D-4E8A-B3C7-2D5E8F1A0B9C", Component: "VEVENT"},
	"apple-invitation-overrides-only.ics": {UID: "040000008200E00074C5B7101A82E00800000000B0D1E2F3", Component: "VEVENT"},
	"bare-iana-tzid-no-vtimezone.ics":     {UID: "tsdav-1713350000000-abc", Component: "VEVENT"},
	"crlf-folded-mixed-zones.ics":         {UID: "crlf-folded@example.com", Component: "VEVENT"},
	"davx5-recurring-exdate-override.ics": {UID: "7f0b7c0e-ae2c-4f4e-9d6a-51c9a7a7f6c1", Component: "VEVENT"},
	// 02:30 is skipped and read as 03:30 EDT (RFC 5545 §3.3.5), so DTEND
	// 03:30 is the same instant: zero length, which is allowed. 03:15 is
	// refused (invalid/.../dtend-before-dtstart-in-dst-gap.ics).
	"dtstart-in-dst-gap.ics":                  {UID: "dst-gap@example.org", Component: "VEVENT"},
	"no-prodid-x-props-unknown-component.ics": {UID: "minimal-1@example.org", Component: "VEVENT"},
	"thunderbird-event.ics":                   {UID: "a8e1f2c4-5b6d-4e7f-8a9b-0c1d2e3f4a5b", Component: "VEVENT"},
	"vjournal.ics":                            {UID: "journal-2024-04-07@example.org", Component: "VJOURNAL"},
	"vtodo.ics":                               {UID: "5c9d3f0e-1234-4bcd-9abc-0f1e2d3c4b5a", Component: "VTODO"},
}

func readFiles(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "ical", pattern))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = b
	}
	return files
}

// lineEndings gives data with CRLF and with bare LF line endings: clients
// send both and both must validate alike.
func lineEndings(data []byte) map[string][]byte {
	lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	return map[string][]byte{"LF": lf, "CRLF": bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))}
}

func TestValidateCalendarObjectValidFiles(t *testing.T) {
	files := readFiles(t, "valid/*.ics")
	if len(files) != len(validExpect) {
		t.Errorf("%d files in testdata/ical/valid, %d expectations", len(files), len(validExpect))
	}
	for path, data := range files {
		want, ok := validExpect[filepath.Base(path)]
		if !ok {
			t.Errorf("%s: no expectation in validExpect", path)
			continue
		}
		for ending, data := range lineEndings(data) {
			got, err := ValidateCalendarObject(data, DefaultComponents)
			if err != nil {
				t.Errorf("%s (%s): %v", path, ending, err)
			} else if *got != want {
				t.Errorf("%s (%s): got %+v, want %+v", path, ending, *got, want)
			}
		}
	}
}

func TestValidateCalendarObjectInvalidFiles(t *testing.T) {
	files := readFiles(t, "invalid/*/*.ics")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for path, data := range files {
		want := Condition(filepath.Base(filepath.Dir(path)))
		for ending, data := range lineEndings(data) {
			_, err := ValidateCalendarObject(data, DefaultComponents)
			var pe *PreconditionError
			if !errors.As(err, &pe) || pe.Condition != want {
				t.Errorf("%s (%s): got %v, want %s", path, ending, err, want)
			}
		}
	}
}

func TestValidateCalendarObjectComponentSet(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "ical", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		file    string
		allowed []string
		want    Condition // "" is accepted
	}{
		{"invalid/supported-calendar-component/vfreebusy.ics", []string{"VEVENT", "VFREEBUSY"}, ""},
		{"invalid/supported-calendar-component/vavailability.ics", []string{"VAVAILABILITY"}, ""},
		{"valid/vtodo.ics", []string{"VEVENT"}, SupportedCalendarComponent},
		{"valid/vtodo.ics", []string{"VTODO"}, ""},
		{"valid/thunderbird-event.ics", []string{"VTODO", "VJOURNAL"}, SupportedCalendarComponent},
		{"valid/thunderbird-event.ics", nil, SupportedCalendarComponent},
	}
	for _, c := range cases {
		_, err := ValidateCalendarObject(read(c.file), c.allowed)
		var pe *PreconditionError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s in %v: %v", c.file, c.allowed, err)
		case c.want != "" && (!errors.As(err, &pe) || pe.Condition != c.want):
			t.Errorf("%s in %v: got %v, want %s", c.file, c.allowed, err, c.want)
		}
	}
}

// TestValidateCalendarObjectParameterLimit guards readers that parse stored
// data with go-ical, whose cost is quadratic in a parameter value's length:
// the limit must hold however go-ical splits the line.
func TestValidateCalendarObjectParameterLimit(t *testing.T) {
	withLine := func(line string) []byte {
		return []byte(strings.Replace(string(event("uid-p")), "SUMMARY:Test", line, 1))
	}
	long := strings.Repeat("A", maxParamValue+1)
	for name, line := range map[string]string{
		"unquoted":             "X-P;P=" + long + ":v",
		"quoted":               `X-P;P="` + long + `":v`,
		"second value":         "X-P;P=a," + long + ":v",
		"name across a colon":  "X-P;a:b=" + long,
		"folded":               "X-P;P=" + long[:2000] + "\r\n " + long[2000:] + ":v",
		"unterminated quoted":  `X-P;P="` + long,
		"after a short one":    "X-P;Q=x;P=" + long + ":v",
		"quote then unquoted":  `X-P;Q="x";P=` + long + ":v",
		"colon inside a quote": `X-P;P="a:` + long + `":v`,
	} {
		_, err := ValidateCalendarObject(withLine(line), DefaultComponents)
		var pe *PreconditionError
		if !errors.As(err, &pe) || pe.Condition != ValidCalendarData || !strings.Contains(pe.Reason, "parameter value") {
			t.Errorf("%s: got %v, want the parameter limit", name, err)
		}
	}
	atLimit := withLine(`X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-APPLE-MAPKIT-HANDLE="` +
		strings.Repeat("A", maxParamValue) + `";X-TITLE=Home:geo:52.5,13.4`)
	if _, err := ValidateCalendarObject(atLimit, DefaultComponents); err != nil {
		t.Errorf("value of %d bytes: %v", maxParamValue, err)
	}
}

const berlinTimezone = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:19961027T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\nEND:VCALENDAR\r\n"

func TestValidateCalendarProperty(t *testing.T) {
	tz := func(xml string) Property { return Property{Space: NSCalDAV, Local: "calendar-timezone", XML: xml} }
	escaped := strings.NewReplacer("\r", "&#13;").Replace(berlinTimezone)
	twoZones := strings.Replace(berlinTimezone, "END:VCALENDAR", "BEGIN:VTIMEZONE\r\nTZID:UTC\r\n"+
		"BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\n"+
		"END:VTIMEZONE\r\nEND:VCALENDAR", 1)
	cases := []struct {
		name string
		p    Property
		ok   bool
	}{
		{"escaped text", tz(escaped), true},
		{"CDATA", tz("<![CDATA[" + berlinTimezone + "]]>"), true},
		{"entities", tz(strings.ReplaceAll(berlinTimezone, "Europe/Berlin", "Europe&#x2F;Berlin")), true},
		{"empty", tz(""), false},
		{"not iCalendar", tz("Europe/Berlin"), false},
		{"element content", tz("<x>" + berlinTimezone + "</x>"), false},
		{"bad XML", tz("BEGIN:VCALENDAR &bogus;"), false},
		{"no VTIMEZONE", tz("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"), false},
		{"two VTIMEZONEs", tz(twoZones), false},
		{"VTIMEZONE without TZID", tz(strings.Replace(berlinTimezone, "TZID:Europe/Berlin\r\n", "", 1)), false},
		{"other property is not checked", Property{Space: "DAV:", Local: "displayname", XML: "Work"}, true},
	}
	for _, c := range cases {
		err := validateCalendarProperty(c.p)
		var pe *PreconditionError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &pe) || pe.Condition != ValidTimezone):
			t.Errorf("%s: got %v, want %s", c.name, err, ValidTimezone)
		}
	}
}

func FuzzValidateCalendarObject(f *testing.F) {
	for _, data := range readFiles(f, "valid/*.ics") {
		f.Add(data)
	}
	for _, data := range readFiles(f, "invalid/*/*.ics") {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := ValidateCalendarObject(data, DefaultComponents)
		if err != nil {
			var pe *PreconditionError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PreconditionError: %v", err)
			}
			return
		}
		if obj.UID == "" || !slices.Contains(DefaultComponents, obj.Component) {
			t.Fatalf("accepted with %+v", *obj)
		}
		again, err := ValidateCalendarObject(bytes.Clone(data), DefaultComponents)
		if err != nil || *again != *obj {
			t.Fatalf("accepted as %+v, then %v, %v", *obj, again, err)
		}
		// What is stored is indexed and queried: it must parse, and its
		// instances must be computable without the engine failing.
		o, err := ParseObject(data)
		if err != nil {
			t.Fatalf("accepted but does not parse: %v", err)
		}
		window := TimeRange{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		if _, err := o.Instances(window, time.UTC, ExpandLimits{MaxInstances: 5000}); errors.Is(err, ErrUnevaluable) {
			t.Fatalf("accepted but cannot be expanded: %v", err)
		}
	})
}

func BenchmarkValidateCalendarObject(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "ical", "valid", "apple-event-vtimezone-valarm.ics"))
	if err != nil {
		b.Fatal(err)
	}
	data = lineEndings(data)["CRLF"]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ValidateCalendarObject(data, DefaultComponents); err != nil {
			b.Fatal(err)
		}
	}
}
