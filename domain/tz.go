package domain

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // TZIDs must resolve the same on every host, with or without /usr/share/zoneinfo

	ical "github.com/emersion/go-ical"
)

// Zone maps wall-clock times to instants and back for one time zone: an IANA
// zone, or one computed from an object's own VTIMEZONE (which no
// *time.Location can express, since Go builds those only from TZif data).
//
// Wall-clock times are passed around as time.Time values in UTC whose fields
// read as the local clock ("wall-as-UTC"); that keeps recurrence arithmetic
// (add a day, add a month) free of any DST correction until the very end,
// where Instant applies RFC 5545 §3.3.5's rules once.
type Zone struct {
	name string
	loc  *time.Location // IANA (or fixed) zone; nil for a VTIMEZONE zone
	vtz  *vtzRules
}

// ZoneOf wraps a *time.Location, e.g. the floating-time zone a query names.
func ZoneOf(loc *time.Location) *Zone {
	if loc == nil {
		loc = time.UTC
	}
	return &Zone{name: loc.String(), loc: loc}
}

// UTCZone is the zone of UTC date-times ("Z" suffix).
var UTCZone = ZoneOf(time.UTC)

// Name is the zone's IANA name, or the TZID of the VTIMEZONE it came from.
func (z *Zone) Name() string { return z.name }

// Location is the zone as a *time.Location, when it is one (an IANA or
// fixed zone); a zone computed from VTIMEZONE rules has none.
func (z *Zone) Location() (*time.Location, bool) { return z.loc, z.loc != nil }

// offsetAt is the zone's UTC offset, in seconds, at a Unix instant.
func (z *Zone) offsetAt(unix int64) int {
	if z.vtz != nil {
		return z.vtz.offsetAt(unix)
	}
	_, off := time.Unix(unix, 0).In(z.loc).Zone()
	return off
}

// Wall is the local clock reading of instant t, as wall-as-UTC.
func (z *Zone) Wall(t time.Time) time.Time {
	return t.UTC().Add(time.Duration(z.offsetAt(t.Unix())) * time.Second)
}

// Instant is the instant at which the zone's clocks read wall (only wall's
// fields are used, not its location). RFC 5545 §3.3.5: a local time that a
// DST gap skips is read with the offset in force before the gap (so 02:30 on
// a spring-forward night is 03:30 daylight time), and a local time that an
// overlap repeats means its first occurrence.
func (z *Zone) Instant(wall time.Time) time.Time {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	w := time.Date(y, mo, d, h, mi, s, wall.Nanosecond(), time.UTC)
	if z.loc == time.UTC {
		return w
	}
	u := w.Unix()
	// Offsets in force a day either side bracket any single transition near
	// u; zones never change twice within two days.
	before := z.offsetAt(u - 86400)
	after := z.offsetAt(u + 86400)
	if before == after {
		// No transition within a day of u (nearly every reading): the one
		// offset applies, and u minus it lies within that day.
		return w.Add(-time.Duration(before) * time.Second)
	}
	tb := u - int64(before)
	ta := u - int64(after)
	okb := z.offsetAt(tb) == before
	oka := z.offsetAt(ta) == after
	var unix int64
	switch {
	case okb && oka:
		unix = min(tb, ta) // overlap (or no transition): the first occurrence
	case okb:
		unix = tb
	case oka:
		unix = ta
	default:
		unix = tb // gap: the offset before it
	}
	return w.Add(time.Duration(unix-u) * time.Second)
}

// ErrUnknownTimezone is returned when a TZID names no IANA zone, no known
// Windows zone and no VTIMEZONE in the object.
var ErrUnknownTimezone = errors.New("domain: unknown time zone")

// ResolveTZID finds the zone a TZID parameter means. vtimezones are the
// VTIMEZONE components of the same iCalendar object.
//
// IANA and CLDR-mapped Windows names win over the object's own VTIMEZONE:
// clients (Outlook above all) send VTIMEZONEs that hold only the current
// year's rules, and the IANA database knows every past and future change of
// the zone such a name denotes. The VTIMEZONE is evaluated only for names
// nobody else knows, as RFC 5545 §3.6.5 defines it.
func ResolveTZID(tzid string, vtimezones []*ical.Component) (*Zone, error) {
	if loc := lookupIANA(tzid); loc != nil {
		return &Zone{name: loc.String(), loc: loc}, nil
	}
	for _, c := range vtimezones {
		if id := c.Props.Get(ical.PropTimezoneID); id != nil && id.Value == tzid {
			rules, err := parseVTimezone(c)
			if err != nil {
				return nil, fmt.Errorf("domain: VTIMEZONE %q: %w", tzid, err)
			}
			return &Zone{name: tzid, vtz: rules}, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTimezone, tzid)
}

// lookupIANA resolves IANA names, Windows names, and the globally unique
// "/vendor/version/Area/City" form of RFC 5545 §3.2.19 (Mozilla and others
// prefix IANA names that way).
func lookupIANA(tzid string) *time.Location {
	tzid = strings.Trim(tzid, "\" ")
	if tzid == "" || tzid == "Local" {
		return nil // "Local" would leak the server's own zone into answers
	}
	if name, ok := windowsZones[tzid]; ok {
		tzid = name
	}
	if loc := ianaZone(tzid); loc != nil {
		return loc
	}
	for i := 0; i < len(tzid); i++ {
		if tzid[i] == '/' && i+1 < len(tzid) && strings.Contains(tzid[i+1:], "/") {
			if loc := ianaZone(tzid[i+1:]); loc != nil {
				return loc
			}
		}
	}
	return nil
}

// windowsZones maps Windows time zone names to IANA zones, from CLDR's
// windowsZones.xml (the "001" territory of each), which is what Exchange and
// Outlook put in TZID.
var windowsZones = map[string]string{
	"Dateline Standard Time":          "Etc/GMT+12",
	"UTC-11":                          "Etc/GMT+11",
	"Aleutian Standard Time":          "America/Adak",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Marquesas Standard Time":         "Pacific/Marquesas",
	"Alaskan Standard Time":           "America/Anchorage",
	"UTC-09":                          "Etc/GMT+9",
	"Pacific Standard Time (Mexico)":  "America/Tijuana",
	"UTC-08":                          "Etc/GMT+8",
	"Pacific Standard Time":           "America/Los_Angeles",
	"US Mountain Standard Time":       "America/Phoenix",
	"Mountain Standard Time (Mexico)": "America/Mazatlan",
	"Mountain Standard Time":          "America/Denver",
	"Yukon Standard Time":             "America/Whitehorse",
	"Central America Standard Time":   "America/Guatemala",
	"Central Standard Time":           "America/Chicago",
	"Easter Island Standard Time":     "Pacific/Easter",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"Canada Central Standard Time":    "America/Regina",
	"SA Pacific Standard Time":        "America/Bogota",
	"Eastern Standard Time (Mexico)":  "America/Cancun",
	"Eastern Standard Time":           "America/New_York",
	"Haiti Standard Time":             "America/Port-au-Prince",
	"Cuba Standard Time":              "America/Havana",
	"US Eastern Standard Time":        "America/Indiana/Indianapolis",
	"Turks And Caicos Standard Time":  "America/Grand_Turk",
	"Paraguay Standard Time":          "America/Asuncion",
	"Atlantic Standard Time":          "America/Halifax",
	"Venezuela Standard Time":         "America/Caracas",
	"Central Brazilian Standard Time": "America/Cuiaba",
	"SA Western Standard Time":        "America/La_Paz",
	"Pacific SA Standard Time":        "America/Santiago",
	"Newfoundland Standard Time":      "America/St_Johns",
	"Tocantins Standard Time":         "America/Araguaina",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"SA Eastern Standard Time":        "America/Cayenne",
	"Argentina Standard Time":         "America/Argentina/Buenos_Aires",
	"Greenland Standard Time":         "America/Nuuk",
	"Montevideo Standard Time":        "America/Montevideo",
	"Magallanes Standard Time":        "America/Punta_Arenas",
	"Saint Pierre Standard Time":      "America/Miquelon",
	"Bahia Standard Time":             "America/Bahia",
	"UTC-02":                          "Etc/GMT+2",
	"Azores Standard Time":            "Atlantic/Azores",
	"Cape Verde Standard Time":        "Atlantic/Cape_Verde",
	"UTC":                             "Etc/UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"Sao Tome Standard Time":          "Africa/Sao_Tome",
	"Morocco Standard Time":           "Africa/Casablanca",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Romance Standard Time":           "Europe/Paris",
	"Central European Standard Time":  "Europe/Warsaw",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"Jordan Standard Time":            "Asia/Amman",
	"GTB Standard Time":               "Europe/Bucharest",
	"Middle East Standard Time":       "Asia/Beirut",
	"Egypt Standard Time":             "Africa/Cairo",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"Syria Standard Time":             "Asia/Damascus",
	"West Bank Standard Time":         "Asia/Hebron",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"FLE Standard Time":               "Europe/Kyiv",
	"Israel Standard Time":            "Asia/Jerusalem",
	"South Sudan Standard Time":       "Africa/Juba",
	"Kaliningrad Standard Time":       "Europe/Kaliningrad",
	"Sudan Standard Time":             "Africa/Khartoum",
	"Libya Standard Time":             "Africa/Tripoli",
	"Namibia Standard Time":           "Africa/Windhoek",
	"Arabic Standard Time":            "Asia/Baghdad",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Arab Standard Time":              "Asia/Riyadh",
	"Belarus Standard Time":           "Europe/Minsk",
	"Russian Standard Time":           "Europe/Moscow",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Volgograd Standard Time":         "Europe/Volgograd",
	"Iran Standard Time":              "Asia/Tehran",
	"Arabian Standard Time":           "Asia/Dubai",
	"Astrakhan Standard Time":         "Europe/Astrakhan",
	"Azerbaijan Standard Time":        "Asia/Baku",
	"Russia Time Zone 3":              "Europe/Samara",
	"Mauritius Standard Time":         "Indian/Mauritius",
	"Saratov Standard Time":           "Europe/Saratov",
	"Georgian Standard Time":          "Asia/Tbilisi",
	"Caucasus Standard Time":          "Asia/Yerevan",
	"Afghanistan Standard Time":       "Asia/Kabul",
	"West Asia Standard Time":         "Asia/Tashkent",
	"Ekaterinburg Standard Time":      "Asia/Yekaterinburg",
	"Pakistan Standard Time":          "Asia/Karachi",
	"Qyzylorda Standard Time":         "Asia/Qyzylorda",
	"India Standard Time":             "Asia/Kolkata",
	"Sri Lanka Standard Time":         "Asia/Colombo",
	"Nepal Standard Time":             "Asia/Kathmandu",
	"Central Asia Standard Time":      "Asia/Bishkek",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"Omsk Standard Time":              "Asia/Omsk",
	"Myanmar Standard Time":           "Asia/Yangon",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"Altai Standard Time":             "Asia/Barnaul",
	"W. Mongolia Standard Time":       "Asia/Hovd",
	"North Asia Standard Time":        "Asia/Krasnoyarsk",
	"N. Central Asia Standard Time":   "Asia/Novosibirsk",
	"Tomsk Standard Time":             "Asia/Tomsk",
	"China Standard Time":             "Asia/Shanghai",
	"North Asia East Standard Time":   "Asia/Irkutsk",
	"Singapore Standard Time":         "Asia/Singapore",
	"W. Australia Standard Time":      "Australia/Perth",
	"Taipei Standard Time":            "Asia/Taipei",
	"Ulaanbaatar Standard Time":       "Asia/Ulaanbaatar",
	"Aus Central W. Standard Time":    "Australia/Eucla",
	"Transbaikal Standard Time":       "Asia/Chita",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"North Korea Standard Time":       "Asia/Pyongyang",
	"Korea Standard Time":             "Asia/Seoul",
	"Yakutsk Standard Time":           "Asia/Yakutsk",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"AUS Central Standard Time":       "Australia/Darwin",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"West Pacific Standard Time":      "Pacific/Port_Moresby",
	"Tasmania Standard Time":          "Australia/Hobart",
	"Vladivostok Standard Time":       "Asia/Vladivostok",
	"Lord Howe Standard Time":         "Australia/Lord_Howe",
	"Bougainville Standard Time":      "Pacific/Bougainville",
	"Russia Time Zone 10":             "Asia/Srednekolymsk",
	"Magadan Standard Time":           "Asia/Magadan",
	"Norfolk Standard Time":           "Pacific/Norfolk",
	"Sakhalin Standard Time":          "Asia/Sakhalin",
	"Central Pacific Standard Time":   "Pacific/Guadalcanal",
	"Russia Time Zone 11":             "Asia/Kamchatka",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"UTC+12":                          "Etc/GMT-12",
	"Fiji Standard Time":              "Pacific/Fiji",
	"Chatham Islands Standard Time":   "Pacific/Chatham",
	"UTC+13":                          "Etc/GMT-13",
	"Tonga Standard Time":             "Pacific/Tongatapu",
	"Samoa Standard Time":             "Pacific/Apia",
	"Line Islands Standard Time":      "Pacific/Kiritimati",
}

// vtzRules is a VTIMEZONE evaluated into its offset transitions.
type vtzRules struct {
	initial int // offset before the first onset: that observance's TZOFFSETFROM
	trans   []vtzTransition
}

type vtzTransition struct {
	at  int64 // Unix seconds of the onset
	off int   // TZOFFSETTO from then on
}

// vtzHorizon bounds the precomputed onsets of recurring observances. Beyond
// it the last known offset holds; real zones are only ever published for
// a few decades ahead, and an event in 2200 is evaluated as the rules of the
// horizon year stand.
var vtzHorizon = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// maxVTZTransitions stops an adversarial observance (FREQ=SECONDLY) from
// making a zone costlier than any real one.
const maxVTZTransitions = 4096

func (r *vtzRules) offsetAt(unix int64) int {
	i := sort.Search(len(r.trans), func(i int) bool { return r.trans[i].at > unix })
	if i == 0 {
		return r.initial
	}
	return r.trans[i-1].off
}

// parseVTimezone evaluates STANDARD and DAYLIGHT observances (RFC 5545
// §3.6.5): each onset is the observance's DTSTART, RRULE and RDATE local
// times, read in TZOFFSETFROM, the offset in force just before it.
func parseVTimezone(c *ical.Component) (*vtzRules, error) {
	r := &vtzRules{}
	first := int64(1<<63 - 1)
	for _, obs := range c.Children {
		if obs.Name != "STANDARD" && obs.Name != "DAYLIGHT" {
			continue
		}
		from, err := utcOffsetProp(obs, "TZOFFSETFROM")
		if err != nil {
			return nil, err
		}
		to, err := utcOffsetProp(obs, "TZOFFSETTO")
		if err != nil {
			return nil, err
		}
		dtstart := obs.Props.Get(ical.PropDateTimeStart)
		if dtstart == nil {
			return nil, errors.New("observance without DTSTART")
		}
		start, _, err := parseWall(dtstart.Value)
		if err != nil {
			return nil, err
		}
		onset := func(wall time.Time) {
			at := wall.Unix() - int64(from)
			r.trans = append(r.trans, vtzTransition{at: at, off: to})
			if at < first {
				first, r.initial = at, from
			}
		}
		walls := []time.Time{start}
		if p := obs.Props.Get(ical.PropRecurrenceRule); p != nil {
			rule, err := parseRRule(p.Value)
			if err != nil {
				return nil, err
			}
			// Observance UNTIL is in UTC (RFC 5545 §3.6.5); compare it as
			// the local time it was at the onset.
			if rule.untilUTC {
				rule.until = rule.until.Add(time.Duration(from) * time.Second)
				rule.untilUTC = false
			}
			walls = walls[:0]
			it, err := rule.iterate(nil, start, time.Time{}, vtzHorizon)
			if err != nil {
				return nil, err
			}
			for wall, ok := it(); ok && len(walls) < maxVTZTransitions; wall, ok = it() {
				walls = append(walls, wall)
			}
		}
		for _, p := range obs.Props.Values(ical.PropRecurrenceDates) {
			for _, v := range strings.Split(p.Value, ",") {
				wall, utc, err := parseWall(v)
				if err != nil {
					return nil, err
				}
				if utc {
					wall = wall.Add(time.Duration(from) * time.Second)
				}
				walls = append(walls, wall)
			}
		}
		for _, w := range walls {
			onset(w)
		}
		if len(r.trans) > maxVTZTransitions {
			return nil, errors.New("too many observance onsets")
		}
	}
	if len(r.trans) == 0 {
		return nil, errors.New("no STANDARD or DAYLIGHT observance")
	}
	sort.SliceStable(r.trans, func(i, j int) bool { return r.trans[i].at < r.trans[j].at })
	return r, nil
}

// utcOffsetProp parses a UTC-OFFSET value (RFC 5545 §3.3.14): ±HHMM[SS].
func utcOffsetProp(c *ical.Component, name string) (int, error) {
	p := c.Props.Get(name)
	if p == nil {
		return 0, fmt.Errorf("observance without %s", name)
	}
	v := strings.TrimSpace(p.Value)
	if (len(v) != 5 && len(v) != 7) || (v[0] != '+' && v[0] != '-') {
		return 0, fmt.Errorf("bad %s %q", name, v)
	}
	n := 0
	parts := []int{3600, 60, 1}
	for i := 1; i < len(v); i += 2 {
		d1, d2 := v[i]-'0', v[i+1]-'0'
		if d1 > 9 || d2 > 9 {
			return 0, fmt.Errorf("bad %s %q", name, v)
		}
		n += int(d1*10+d2) * parts[(i-1)/2]
	}
	if v[0] == '-' {
		n = -n
	}
	return n, nil
}
