package domain

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goldenV1 is what each fixture in testdata/events/v1 decodes to. The
// fixtures are logs written by schema 1 and must decode forever: never edit
// one to make a test pass; add an upcaster in Decode instead.
var goldenV1 = map[string]Event{
	TypePrincipalCreated:  &PrincipalCreated{Name: "alice", DisplayName: "Alice Liddell", Email: "alice@example.com"},
	TypePrincipalDisabled: &PrincipalDisabled{Name: "alice"},
	TypeCalendarCreated: &CalendarCreated{Owner: "alice", Name: "work", Components: []string{"VEVENT", "VTODO"}, Props: []Property{
		{Space: "DAV:", Local: "displayname", XML: "Work &amp; more"},
		{Space: "http://apple.com/ns/ical/", Local: "calendar-color", XML: "#FF2968FF"},
	}},
	TypeCalendarPropertiesChanged: &CalendarPropertiesChanged{
		Set:    []Property{{Space: NSCalDAV, Local: "calendar-description", XML: "Team meetings"}},
		Remove: []PropertyName{{Space: "http://apple.com/ns/ical/", Local: "calendar-order"}},
	},
	TypeCalendarDeleted: &CalendarDeleted{},
	TypeObjectPut: &ObjectPut{Name: "4f1c.ics", UID: "4f1c-uid@example.com", Component: "VEVENT",
		ETag: `"0123456789abcdef0123456789abcdef"`,
		Data: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:4f1c-uid@example.com\r\n" +
			"DTSTART:20240102T100000Z\r\nSUMMARY:Café ☕\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		CopiedFrom: "alice/home/4f1c.ics"},
	TypeObjectDeleted:    &ObjectDeleted{Name: "4f1c.ics", MovedTo: "alice/archive/4f1c.ics"},
	TypeCalendarRestored: &CalendarRestored{AsOf: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), Object: "4f1c.ics", Undelete: true},
	// Added to schema 1 as a new type, with its fixture, when the index
	// horizon became an event.
	TypeIndexHorizonAdvanced: &IndexHorizonAdvanced{Through: time.Date(2028, 5, 1, 8, 0, 0, 0, time.UTC)},
}

func TestDecodeGoldenV1(t *testing.T) {
	// Each fixture is an event's stored bytes at schema 1, as a log holds
	// them; they must decode forever.
	paths, err := filepath.Glob(filepath.Join("testdata", "events", "v1", "*.event"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(goldenV1) {
		t.Errorf("%d fixtures, %d expectations: every event type needs both", len(paths), len(goldenV1))
	}
	for _, p := range paths {
		typ := strings.TrimSuffix(filepath.Base(p), ".event")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(typ, 1, data)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if want := goldenV1[typ]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", typ, got, want)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for typ, want := range goldenV1 {
		gotTyp, schema, data, err := Encode(want)
		if err != nil || gotTyp != typ || schema != CurrentSchema {
			t.Errorf("%s: Encode gave %s v%d, %v", typ, gotTyp, schema, err)
			continue
		}
		got, err := Decode(gotTyp, schema, data)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", typ, got, want)
		}
	}
}

// TestFieldsAddedToSchema1 round-trips the optional fields added to
// schema 1 after its fixtures were written: omitted when empty, so old
// events keep their bytes, and kept when set.
func TestFieldsAddedToSchema1(t *testing.T) {
	for _, want := range []Event{
		&CalendarPropertiesChanged{Set: []Property{{Space: "urn:x", Local: "foo", XML: "v",
			Attrs: ` xmlns:a1="urn:x" a1:attr="1" xml:lang="en"`}}},
		&CalendarCreated{Owner: "alice", Name: "work", Props: []Property{{Space: "DAV:", Local: "displayname", XML: "Arbeit", Attrs: ` xml:lang="de"`}}},
		&ObjectPut{Name: "a.ics", UID: "a", Component: "VEVENT", ETag: `"e"`, Data: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
			CopiedFrom: "alice/home/a.ics", Moved: true},
	} {
		typ, schema, data, err := Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(typ, schema, data)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, %v\nwant %#v", typ, got, err, want)
		}
	}
	_, _, data, _ := Encode(&CalendarPropertiesChanged{Set: []Property{{Space: "urn:x", Local: "foo", XML: "v"}}})
	if strings.Contains(string(data), "attrs") {
		t.Errorf("an empty Attrs is written: %s", data)
	}
	_, _, data, _ = Encode(&ObjectPut{Name: "a.ics", CopiedFrom: "alice/home/a.ics"})
	if strings.Contains(string(data), "moved") {
		t.Errorf("a false Moved is written: %s", data)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		typ    string
		schema uint16
		data   string
	}{
		{"ObjectRenamed", 1, `{}`},
		{"", 1, `{}`},
		{TypeObjectPut, CurrentSchema + 1, "{\"name\":\"a.ics\"}\nBEGIN:VCALENDAR"},
		{TypeObjectPut, 0, "{\"name\":\"a.ics\"}\nBEGIN:VCALENDAR"},
		{TypeObjectPut, 1, "{\"name\":\nBEGIN:VCALENDAR"},
		{TypeObjectPut, 1, "{\"name\":42}\nBEGIN:VCALENDAR"},
		{TypeObjectPut, 1, `{"name":"a.ics"}`}, // the header without the data
	}
	for _, c := range cases {
		if e, err := Decode(c.typ, c.schema, []byte(c.data)); err == nil {
			t.Errorf("Decode(%q, %d, %s) = %#v, want an error", c.typ, c.schema, c.data, e)
		}
	}
}
