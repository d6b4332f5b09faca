package domain

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// NSCalDAV is the CalDAV XML namespace (RFC 4791).
const NSCalDAV = "urn:ietf:params:xml:ns:caldav"

// CalendarObject is what validation learns of a calendar object resource.
type CalendarObject struct {
	UID string
	// Component is one of CalendarComponents, and one the calendar supports.
	Component string
}

// CalendarComponents are the component types a calendar object resource can
// be made of, and so the only names a supported-calendar-component-set may
// hold. Other top-level components (X- and unknown IANA ones) are kept in the
// data but do not make an object.
var CalendarComponents = []string{"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY", "VPOLL"}

// maxParamValue bounds one parameter value. go-ical builds a parameter value a
// byte at a time by string concatenation, so its cost is quadratic in the
// value's length; every reader of the stored data parses it with go-ical
// again, so a long value would be a denial of service on each read. 4 KiB
// holds the longest values real clients send (Apple's base64
// X-APPLE-MAPKIT-HANDLE, long CN= of attendees).
const maxParamValue = 4096

// ValidateCalendarObject checks data against RFC 4791 §4.1 and §5.3.2.1 and
// returns its UID and component type. allowed is the calendar's
// supported-calendar-component-set.
//
// Syntax errors (data that is not iCalendar) are ValidCalendarData; broken
// rules of iCalendar or of CalDAV's calendar object resources are
// ValidCalendarObjectResource. Where major clients are sloppy but the data is
// unambiguous we accept it: missing PRODID, bare LF line endings, DTEND equal
// to DTSTART, IANA TZIDs without a VTIMEZONE.
func ValidateCalendarObject(data []byte, allowed []string) (*CalendarObject, error) {
	cal, err := parseCalendar(data)
	if err != nil {
		return nil, err
	}
	if v := cal.Props["VERSION"]; len(v) != 1 || v[0].Value != "2.0" {
		return nil, refuse(ValidCalendarData, "VERSION:2.0 is required")
	}
	if cal.Props["METHOD"] != nil {
		return nil, refuse(ValidCalendarObjectResource, "METHOD is not allowed in a stored calendar object (RFC 4791 §4.1)")
	}
	timezones := map[string]bool{}
	var comps []*ical.Component
	for _, c := range cal.Children {
		switch {
		case c.Name == ical.CompTimezone:
			tzid := c.Props.Get(ical.PropTimezoneID)
			if tzid == nil || tzid.Value == "" {
				return nil, refuse(ValidCalendarObjectResource, "VTIMEZONE without TZID")
			}
			timezones[tzid.Value] = true
		case slices.Contains(CalendarComponents, c.Name):
			if len(comps) > 0 && comps[0].Name != c.Name {
				return nil, refuse(ValidCalendarObjectResource, "%s and %s in one object", comps[0].Name, c.Name)
			}
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 {
		return nil, refuse(ValidCalendarObjectResource, "no calendar component (VEVENT, VTODO, VJOURNAL, ...)")
	}
	kind := comps[0].Name
	if !slices.Contains(allowed, kind) {
		return nil, refuse(SupportedCalendarComponent, "%s is not supported by this calendar", kind)
	}
	uid, err := checkInstances(comps)
	if err != nil {
		return nil, err
	}
	if tzid, ok := missingTimezone(cal.Children, timezones); ok {
		return nil, refuse(ValidCalendarObjectResource, "TZID %q has no VTIMEZONE", tzid)
	}
	return &CalendarObject{UID: uid, Component: kind}, nil
}

// checkInstances checks that comps, all of one type, are one master and/or
// overrides of a single UID, each valid on its own, and returns the UID.
// Only overrides and no master is valid: Apple stores an invitation to some
// instances of a series that way.
func checkInstances(comps []*ical.Component) (string, error) {
	uid := ""
	master := false
	overrides := make(map[string]bool, len(comps))
	for _, c := range comps {
		u, err := singleProp(c, ical.PropUID)
		if err != nil {
			return "", err
		}
		if u == nil || u.Value == "" {
			return "", refuse(ValidCalendarObjectResource, "%s without UID", c.Name)
		}
		if uid != "" && u.Value != uid {
			return "", refuse(ValidCalendarObjectResource, "several UIDs in one object (%q, %q)", uid, u.Value)
		}
		uid = u.Value
		rid, err := singleTime(c, ical.PropRecurrenceID)
		if err != nil {
			return "", err
		}
		if rid == nil {
			if master {
				return "", refuse(ValidCalendarObjectResource, "two %s without RECURRENCE-ID", c.Name)
			}
			master = true
		} else {
			// An instance is named by its start in its zone; the same
			// instant written in two zones is too rare a client bug to
			// resolve zones for.
			key := rid.tzid + ";" + rid.value
			if overrides[key] {
				return "", refuse(ValidCalendarObjectResource, "two overrides with RECURRENCE-ID %s", rid.value)
			}
			overrides[key] = true
		}
		if err := checkTimes(c); err != nil {
			return "", err
		}
	}
	return uid, nil
}

// checkTimes checks a component's start, end and duration. A DTEND equal to
// DTSTART breaks RFC 5545's "later than", but clients create such events and
// RFC 4791 §9.9 gives them a meaning, so only an end before the start is
// refused. VTODO's DUE before DTSTART is left alone: task apps write it, and
// refusing would lose the user's task.
func checkTimes(c *ical.Component) error {
	start, err := singleTime(c, ical.PropDateTimeStart)
	if err != nil {
		return err
	}
	switch c.Name {
	case ical.CompEvent:
		// RFC 5545 §3.6.1 makes DTSTART optional only when METHOD is
		// present, and stored objects never have one.
		if start == nil {
			return refuse(ValidCalendarObjectResource, "VEVENT without DTSTART")
		}
		end, err := singleTime(c, ical.PropDateTimeEnd)
		if err != nil {
			return err
		}
		if end != nil && c.Props[ical.PropDuration] != nil {
			return refuse(ValidCalendarObjectResource, "VEVENT with both DTEND and DURATION")
		}
		if end != nil {
			return checkOrder(start, end)
		}
	case ical.CompToDo:
		if c.Props[ical.PropDuration] != nil {
			if c.Props[ical.PropDue] != nil {
				return refuse(ValidCalendarObjectResource, "VTODO with both DUE and DURATION")
			}
			if start == nil {
				return refuse(ValidCalendarObjectResource, "VTODO with DURATION but no DTSTART")
			}
		}
	}
	return nil
}

func checkOrder(start, end *icalTime) error {
	if start.date != end.date {
		return refuse(ValidCalendarObjectResource, "DTSTART and DTEND differ in value type (DATE vs DATE-TIME)")
	}
	s, e, ok := orderable(start, end)
	if ok && e.Before(s) {
		return refuse(ValidCalendarObjectResource, "DTEND %s is before DTSTART %s", end.value, start.value)
	}
	return nil
}

// orderable gives two times as instants that can be ordered, or ok=false
// when their zones cannot be resolved (a VTIMEZONE-only TZID, or floating
// against zoned): such data is not wrong, only beyond a cheap check.
//
// Two times of one known zone are compared as instants, not as clock
// readings: a start in a DST gap is read an hour later (RFC 5545 §3.3.5),
// so 02:30–03:15 on a spring-forward night in New York ends before it
// starts, and expansion would give every instance a negative length.
func orderable(a, b *icalTime) (time.Time, time.Time, bool) {
	ia, oka := a.instant()
	ib, okb := b.instant()
	if oka && okb {
		return ia, ib, true
	}
	if a.utc == b.utc && a.tzid == b.tzid {
		// Floating, or one zone only its VTIMEZONE defines: one clock.
		return a.wall, b.wall, true
	}
	return ia, ib, false
}

// icalTime is a DATE or DATE-TIME value: wall is its clock reading as if
// in UTC, whatever its zone.
type icalTime struct {
	value string
	tzid  string
	date  bool
	utc   bool
	wall  time.Time
}

func (t *icalTime) instant() (time.Time, bool) {
	switch {
	case t.utc:
		return t.wall, true
	case t.tzid == "":
		return time.Time{}, false
	}
	// The zone expansion reads the TZID as (IANA, Windows or vendor-prefixed
	// names), and its reading of skipped and repeated local times.
	loc := lookupIANA(t.tzid)
	if loc == nil {
		return time.Time{}, false
	}
	return ZoneOf(loc).Instant(t.wall), true
}

// singleTime parses the DATE or DATE-TIME property name of c, which may
// appear at most once; nil if absent.
func singleTime(c *ical.Component, name string) (*icalTime, error) {
	p, err := singleProp(c, name)
	if p == nil || err != nil {
		return nil, err
	}
	t := &icalTime{value: p.Value, tzid: p.Params.Get(ical.PropTimezoneID)}
	switch vt := p.Params.Get(ical.ParamValue); {
	case len(p.Value) == 8 && (vt == "" || strings.EqualFold(vt, "DATE")):
		t.date = true
	case len(p.Value) == 15 && (vt == "" || strings.EqualFold(vt, "DATE-TIME")):
	case len(p.Value) == 16 && (vt == "" || strings.EqualFold(vt, "DATE-TIME")) && p.Value[15] == 'Z':
		t.utc = true
	default:
		return nil, refuse(ValidCalendarData, "%s:%s is not a DATE or DATE-TIME", name, p.Value)
	}
	// The parser that evaluation uses, so that whatever passes here can be
	// evaluated.
	wall, _, err := parseWall(p.Value)
	if err != nil {
		return nil, refuse(ValidCalendarData, "%s: %v", name, err)
	}
	t.wall = wall
	if t.utc || t.date {
		// RFC 5545 §3.3.5 forbids TZID on UTC times and dates; it says
		// nothing then, so dropping it keeps comparisons sound.
		t.tzid = ""
	}
	return t, nil
}

func singleProp(c *ical.Component, name string) (*ical.Prop, error) {
	switch ps := c.Props[name]; len(ps) {
	case 0:
		return nil, nil
	case 1:
		return &ps[0], nil
	default:
		return nil, refuse(ValidCalendarObjectResource, "%s has %d %s properties", c.Name, len(ps), name)
	}
}

// missingTimezone finds a TZID parameter in comps (and their alarms and
// other subcomponents) that neither names a VTIMEZONE of the object nor is
// an IANA zone. RFC 4791 §4.1 requires the VTIMEZONE, but real clients (some
// Android sync adapters, tsdav-based web clients) send IANA TZIDs bare; we
// follow CalendarServer and SabreDAV in accepting them, as the zone is
// unambiguous.
//
// Unknown TZIDs are looked up in sorted order and the first miss ends the
// search: the refusal does not depend on map order, and one request cannot
// make us search the zone database for thousands of made-up names.
func missingTimezone(comps []*ical.Component, timezones map[string]bool) (string, bool) {
	var unknown []string
	var walk func(cs []*ical.Component)
	walk = func(cs []*ical.Component) {
		for _, c := range cs {
			if c.Name == ical.CompTimezone {
				continue
			}
			for _, ps := range c.Props {
				for _, p := range ps {
					for _, tzid := range p.Params[ical.PropTimezoneID] {
						if !timezones[tzid] {
							unknown = append(unknown, tzid)
						}
					}
				}
			}
			walk(c.Children)
		}
	}
	walk(comps)
	slices.Sort(unknown)
	for _, tzid := range slices.Compact(unknown) {
		if ianaZone(tzid) == nil {
			return tzid, true
		}
	}
	return "", false
}

var ianaZones sync.Map // TZID → *time.Location; only zones that loaded

// ianaZone is the IANA zone named tzid, or nil. Loaded zones are cached:
// time.LoadLocation parses the zone file on every call. Failures are not,
// so that clients' made-up TZIDs cannot grow the cache.
func ianaZone(tzid string) *time.Location {
	if loc, ok := ianaZones.Load(tzid); ok {
		return loc.(*time.Location)
	}
	// "Local" is the server's own zone, and "" is UTC to LoadLocation:
	// neither is a zone the client named.
	if tzid == "" || tzid == "Local" {
		return nil
	}
	loc, err := time.LoadLocation(tzid)
	if err != nil {
		return nil
	}
	ianaZones.Store(tzid, loc)
	return loc
}

// parseCalendar parses data as exactly one VCALENDAR.
func parseCalendar(data []byte) (cal *ical.Calendar, err error) {
	if err := checkLexical(data); err != nil {
		return nil, err
	}
	dec, done := newDecoder(data)
	defer done()
	cal, err = decodeNext(dec)
	if errors.Is(err, io.EOF) {
		return nil, refuse(ValidCalendarData, "data ends before END:VCALENDAR")
	}
	if err != nil {
		return nil, refuse(ValidCalendarData, "%v", err)
	}
	// go-ical stops after the first component; RFC 4791 §4.1 allows one
	// VCALENDAR per resource, and anything after it would be stored unseen.
	// go-ical reports an unfinished trailing component as a clean end of
	// input, so the VCALENDARs begun are counted too.
	if _, err := decodeNext(dec); !errors.Is(err, io.EOF) || vcalendarsBegun(data) != 1 {
		return nil, refuse(ValidCalendarData, "data after END:VCALENDAR")
	}
	return cal, nil
}

// errMalformedLine is what decodeNext reports for input go-ical panics on.
var errMalformedLine = errors.New("malformed content line")

// decodeNext decodes dec's next component. go-ical panics instead of
// erroring on some malformed parameters (`X;P="a"b:`, `X;P=a` without a
// colon, `X;P=` at the end of the input); that is still just bad data,
// and every parse of outside text goes through here.
func decodeNext(dec *ical.Decoder) (cal *ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, errMalformedLine
		}
	}()
	return dec.Decode()
}

// lineReaders recycles the 4 KB read buffer that go-ical's decoder would
// otherwise allocate, and zero, for every object parsed: a sizeable share
// of parsing a typical 1 KB object. go-ical copies what it reads out of the
// buffer, so nothing decoded keeps it.
var lineReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, lineBufferSize) }}

// lineBufferSize is bufio's default: a *bufio.Reader at least this large is
// used by ical.NewDecoder as it is instead of being wrapped in a new one.
const lineBufferSize = 4096

// newDecoder returns a go-ical decoder over data and the function that
// gives its buffer back once decoding is over.
func newDecoder(data []byte) (*ical.Decoder, func()) {
	br := lineReaders.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(data))
	return ical.NewDecoder(br), func() {
		br.Reset(nil)
		lineReaders.Put(br)
	}
}

// vcalendarsBegun counts the lines that begin a VCALENDAR. A folded
// continuation line starts with white space, so it cannot be one.
func vcalendarsBegun(data []byte) int {
	n := 0
	for line := range bytes.Lines(data) {
		if bytes.EqualFold(bytes.TrimRight(line, "\r\n"), []byte("BEGIN:VCALENDAR")) {
			n++
		}
	}
	return n
}

// checkLexical refuses, in one pass before parsing, what go-ical would
// accept but must not be stored: invalid UTF-8, control characters (RFC 5545
// §3.1 forbids them, and XML, which carries calendar-data in REPORTs, cannot
// represent them), CR other than before LF (XML parsers turn it into LF, so
// clients would read back different data), and over-long parameter values
// (see maxParamValue).
func checkLexical(data []byte) error {
	if !utf8.Valid(data) {
		return refuse(ValidCalendarData, "not UTF-8")
	}
	// The states follow go-ical's lexer, not RFC 5545's grammar: a
	// parameter name runs to the next '=' even across ':' and '"', so
	// `X;a:b=AAAA...` is a long parameter value to go-ical.
	const (
		inName = iota
		inParamName
		inParamValue
		inQuoted
		inValue
	)
	state, paramLen := inName, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\r':
			if i+1 == len(data) || data[i+1] != '\n' {
				return refuse(ValidCalendarData, "CR not followed by LF")
			}
			continue
		case c == '\n':
			// A line starting with a space or tab continues the last one.
			if i+1 < len(data) && (data[i+1] == ' ' || data[i+1] == '\t') {
				i++
			} else {
				state = inName
			}
			continue
		case c < 0x20 && c != '\t' || c == 0x7f:
			return refuse(ValidCalendarData, "control character %#x", c)
		}
		switch state {
		case inName:
			switch c {
			case ';':
				state = inParamName
			case ':':
				state = inValue
			}
		case inParamName:
			if c == '=' {
				state, paramLen = inParamValue, 0
			}
		case inParamValue:
			switch c {
			case '"':
				state = inQuoted
			case ',':
				paramLen = 0
			case ';':
				state = inParamName
			case ':':
				state = inValue
			default:
				paramLen++
			}
		case inQuoted:
			if c == '"' {
				state = inParamValue
			} else {
				paramLen++
			}
		}
		if paramLen > maxParamValue {
			return refuse(ValidCalendarData, "a parameter value is longer than %d bytes", maxParamValue)
		}
	}
	return nil
}

// validateCalendarProperty checks the values of properties with calendar
// semantics.
func validateCalendarProperty(p Property) error {
	if p.Space == NSCalDAV && p.Local == "calendar-timezone" {
		return validateTimezone(p.XML)
	}
	return nil
}

// validateTimezone checks a calendar-timezone value: RFC 4791 §5.2.2 wants
// an iCalendar object with exactly one VTIMEZONE.
func validateTimezone(content string) error {
	text, err := xmlText(content)
	if err != nil {
		return refuse(ValidTimezone, "%v", err)
	}
	return checkOneVTimezone(text, ValidTimezone)
}

// ValidateQueryTimezone checks the text of a calendar-query's
// CALDAV:timezone, which RFC 4791 §7.8 also wants to be an iCalendar object
// with exactly one VTIMEZONE, refused as valid-calendar-data.
func ValidateQueryTimezone(text string) error {
	return checkOneVTimezone(text, ValidCalendarData)
}

func checkOneVTimezone(text string, c Condition) error {
	cal, err := parseCalendar([]byte(text))
	if err != nil {
		reason := err.Error()
		if pe, ok := err.(*PreconditionError); ok {
			reason = pe.Reason
		}
		return refuse(c, "%s", reason)
	}
	n := 0
	for _, comp := range cal.Children {
		if comp.Name != ical.CompTimezone {
			continue
		}
		if tzid := comp.Props.Get(ical.PropTimezoneID); tzid == nil || tzid.Value == "" {
			return refuse(c, "VTIMEZONE without TZID")
		}
		n++
	}
	if n != 1 {
		return refuse(c, "%d VTIMEZONE components; exactly one is required", n)
	}
	return nil
}

// xmlText is the character data of an element's XML content, which must
// hold no elements.
func xmlText(content string) (string, error) {
	d := xml.NewDecoder(strings.NewReader(content))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", errors.New("an element where text was expected")
		}
	}
}
