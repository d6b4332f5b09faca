package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// rule is a parsed RRULE (RFC 5545 §3.3.10). rrule-go does the BYxxx
// arithmetic; this layer owns what rrule-go gets wrong for a server: it runs
// the engine on wall-clock times only (so DST is applied once, by Zone, as
// §3.3.5 says, instead of by Go's time.Date, which picks either side of a gap
// at random), it counts DTSTART as the first instance as §3.8.5.3 demands,
// it compares a UTC UNTIL with instants, not wall times, and it refuses rules
// on which rrule-go would spin forever.
type rule struct {
	opt      rrule.ROption
	count    int
	until    time.Time // wall-as-UTC, or an instant when untilUTC
	untilUTC bool
	hasUntil bool
}

// maxInterval keeps step arithmetic far from overflow; no real rule repeats
// less often than every 10,000 periods.
const maxInterval = 10000

var freqs = map[string]rrule.Frequency{
	"YEARLY": rrule.YEARLY, "MONTHLY": rrule.MONTHLY, "WEEKLY": rrule.WEEKLY,
	"DAILY": rrule.DAILY, "HOURLY": rrule.HOURLY, "MINUTELY": rrule.MINUTELY,
	"SECONDLY": rrule.SECONDLY,
}

var weekdays = map[string]rrule.Weekday{
	"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH,
	"FR": rrule.FR, "SA": rrule.SA, "SU": rrule.SU,
}

// parseRRule parses a recur value. Unknown X- parts are ignored (RFC 5545
// §3.3.10 lets recur carry x-name parts); anything else malformed is an error.
func parseRRule(value string) (*rule, error) {
	r := &rule{}
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimSpace(value), ";") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		if !ok || v == "" {
			return nil, fmt.Errorf("RRULE: malformed part %q", part)
		}
		if seen[k] {
			return nil, fmt.Errorf("RRULE: %s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "FREQ":
			f, ok := freqs[v]
			if !ok {
				return nil, fmt.Errorf("RRULE: FREQ %q", v)
			}
			r.opt.Freq = f
		case "INTERVAL":
			r.opt.Interval, err = strconv.Atoi(v)
			if err == nil && (r.opt.Interval < 1 || r.opt.Interval > maxInterval) {
				err = errors.New("out of range")
			}
		case "COUNT":
			r.count, err = strconv.Atoi(v)
			if err == nil && r.count < 1 {
				err = errors.New("must be positive")
			}
		case "UNTIL":
			r.until, r.untilUTC, err = parseWall(v)
			r.hasUntil = true
			if err == nil && len(v) == 8 {
				// A DATE UNTIL includes its whole day, whatever DTSTART's type.
				r.until = r.until.Add(24*time.Hour - time.Second)
			}
		case "WKST":
			wd, ok := weekdays[v]
			if !ok {
				err = errors.New("bad weekday")
			}
			r.opt.Wkst = wd
		case "BYDAY":
			for _, d := range strings.Split(v, ",") {
				wd, ok := weekdays[d[max(0, len(d)-2):]]
				if !ok {
					return nil, fmt.Errorf("RRULE: BYDAY %q", d)
				}
				if n := d[:len(d)-2]; n != "" {
					var nth int
					if nth, err = strconv.Atoi(n); err != nil || nth == 0 {
						return nil, fmt.Errorf("RRULE: BYDAY %q", d)
					}
					wd = wd.Nth(nth)
				}
				r.opt.Byweekday = append(r.opt.Byweekday, wd)
			}
		case "BYSETPOS":
			r.opt.Bysetpos, err = ints(v)
		case "BYMONTH":
			r.opt.Bymonth, err = ints(v)
		case "BYMONTHDAY":
			r.opt.Bymonthday, err = ints(v)
		case "BYYEARDAY":
			r.opt.Byyearday, err = ints(v)
		case "BYWEEKNO":
			r.opt.Byweekno, err = ints(v)
		case "BYHOUR":
			r.opt.Byhour, err = ints(v)
		case "BYMINUTE":
			r.opt.Byminute, err = ints(v)
		case "BYSECOND":
			r.opt.Bysecond, err = ints(v)
		default:
			if !strings.HasPrefix(k, "X-") {
				return nil, fmt.Errorf("RRULE: unknown part %q", k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("RRULE: %s=%s: %v", k, v, err)
		}
	}
	if !seen["FREQ"] {
		return nil, errors.New("RRULE: FREQ is required")
	}
	if r.count > 0 && r.hasUntil {
		return nil, errors.New("RRULE: COUNT and UNTIL together")
	}
	if r.opt.Interval == 0 {
		r.opt.Interval = 1
	}
	// Weekday ordinals only mean something in a month or a year (§3.3.10).
	if r.opt.Freq > rrule.MONTHLY || (r.opt.Freq == rrule.YEARLY && len(r.opt.Byweekno) > 0) {
		for i, wd := range r.opt.Byweekday {
			if wd.N() != 0 {
				day := weekdayList[wd.Day()]
				r.opt.Byweekday[i] = day
			}
		}
	}
	if _, err := rrule.NewRRule(r.opt); err != nil {
		return nil, fmt.Errorf("RRULE: %v", err)
	}
	return r, nil
}

var weekdayList = []rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}

func ints(v string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "+"))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// wallIter yields wall-as-UTC times in increasing order; ok is false at the end.
type wallIter func() (wall time.Time, ok bool)

// once yields a single wall time.
func once(w time.Time) wallIter {
	done := false
	return func() (time.Time, bool) {
		ok := !done
		done = true
		return w, ok
	}
}

// iterate yields the recurrence set the rule makes from dtstart (a wall
// time): DTSTART first, always, then the rule's instances after it. zone
// turns walls into instants for a UTC UNTIL (it may be nil otherwise).
// from and to (wall times, zero for open) only bound the work: instances
// before from may be skipped when COUNT doesn't need them counted, and the
// engine is told to stop after to.
func (r *rule) iterate(zone *Zone, dtstart, from, to time.Time) (wallIter, error) {
	if !r.feasible(dtstart) {
		return once(dtstart), nil
	}
	opt := r.opt
	opt.Dtstart = dtstart
	if r.count == 0 {
		opt.Dtstart = r.skipAhead(dtstart, from)
	}
	if !to.IsZero() {
		opt.Until = to
	}
	engine, err := rrule.NewRRule(opt)
	if err != nil {
		return nil, err
	}
	next := engine.Iterator()
	emitted := 0
	first := true
	return func() (time.Time, bool) {
		if r.count > 0 && emitted >= r.count {
			return time.Time{}, false
		}
		var w time.Time
		if first {
			first = false
			w = dtstart
		} else {
			var ok bool
			if w, ok = next(); !ok {
				return time.Time{}, false
			}
			if w.Equal(dtstart) {
				if w, ok = next(); !ok {
					return time.Time{}, false
				}
			}
		}
		if r.hasUntil {
			t := w
			if r.untilUTC && zone != nil {
				t = zone.Instant(w)
			}
			// DTSTART is in the set even past UNTIL (§3.8.5.3 counts it
			// first); the rule adds nothing after UNTIL.
			if t.After(r.until) && emitted > 0 {
				return time.Time{}, false
			}
		}
		emitted++
		return w, true
	}, nil
}

// skipAhead moves DTSTART forward by whole periods to just before from, so a
// daily rule begun in 1990 costs no more to query in 2030 than one begun last
// week. Only frequencies whose period has a fixed wall-clock length qualify:
// moving DTSTART by whole periods then leaves every later instance in place.
func (r *rule) skipAhead(dtstart, from time.Time) time.Time {
	var unit time.Duration
	switch r.opt.Freq {
	case rrule.WEEKLY:
		unit = 7 * 24 * time.Hour
	case rrule.DAILY:
		unit = 24 * time.Hour
	case rrule.HOURLY:
		unit = time.Hour
	case rrule.MINUTELY:
		unit = time.Minute
	case rrule.SECONDLY:
		unit = time.Second
	default:
		return dtstart
	}
	if from.IsZero() || !from.After(dtstart) {
		return dtstart
	}
	period := unit * time.Duration(r.opt.Interval)
	k := int64(from.Sub(dtstart)/period) - 1
	if k <= 0 || from.Sub(dtstart) < 0 { // Sub saturates past ~292 years
		return dtstart
	}
	// Whole periods in days go through AddDate so the clock reading is kept.
	if unit >= 24*time.Hour {
		return dtstart.AddDate(0, 0, int(k)*int(period/(24*time.Hour)))
	}
	return dtstart.Add(time.Duration(k) * period)
}

// feasible reports whether the engine can ever produce an instance after
// dtstart in bounded time. rrule-go has two ways to spin: HOURLY, MINUTELY
// and SECONDLY rules step until a time matches BYHOUR/BYMINUTE/BYSECOND, and
// never return when the interval never lands on one
// (FREQ=HOURLY;INTERVAL=24;BYHOUR=5 from midnight); and a rule whose day
// filters contradict each other (BYMONTH=2;BYMONTHDAY=30) is stepped period
// by period to year 9999, a second or more of CPU per query.
func (r *rule) feasible(dtstart time.Time) bool {
	return r.timeReachable(dtstart) && r.daysReachable(dtstart)
}

// timeReachable: the times of day a sub-daily rule can reach are those
// congruent to DTSTART's modulo gcd(interval, day length).
func (r *rule) timeReachable(dtstart time.Time) bool {
	var day, unit int
	switch r.opt.Freq {
	case rrule.HOURLY:
		day, unit = 24, 3600
	case rrule.MINUTELY:
		day, unit = 1440, 60
	case rrule.SECONDLY:
		day, unit = 86400, 1
	default:
		return true
	}
	g := gcd(r.opt.Interval, day)
	h, m, s := dtstart.Clock()
	pos := (h*3600 + m*60 + s) / unit
	for x := pos % g; x < day; x += g {
		sec := x * unit
		if allows(r.opt.Byhour, sec/3600) &&
			(unit > 60 || allows(r.opt.Byminute, sec/60%60)) &&
			(unit > 1 || allows(r.opt.Bysecond, sec%60)) {
			return true
		}
	}
	return false
}

func allows(list []int, v int) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// daysReachable runs the rule once from a date 400·k years later — the
// Gregorian calendar repeats every 400 years, in weekdays too, and every
// period length divides that span — close enough to rrule-go's year 9999
// stop that an impossible rule gives up after at most 800 years. A single
// day filter always matches some day, so only combinations and BYSETPOS are
// probed.
func (r *rule) daysReachable(dtstart time.Time) bool {
	o := r.opt
	filters := 0
	for _, n := range []int{len(o.Bymonth), len(o.Bymonthday), len(o.Byyearday), len(o.Byweekno), len(o.Byweekday)} {
		if n > 0 {
			filters++
		}
	}
	if filters < 2 && len(o.Bysetpos) == 0 {
		return true
	}
	y := dtstart.Year()
	if y < 9600 {
		y = 9600 - (9600-y)%400
	}
	o.Dtstart = dtstart.AddDate(y-dtstart.Year(), 0, 0)
	o.Until = time.Date(rrule.MAXYEAR, 12, 31, 23, 59, 59, 0, time.UTC)
	o.Count = 1
	engine, err := rrule.NewRRule(o)
	if err != nil {
		return false
	}
	_, ok := engine.Iterator()()
	return ok
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// parseWall parses a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z]) as
// wall-as-UTC; utc reports the Z form, whose wall is then the instant.
func parseWall(v string) (wall time.Time, utc bool, err error) {
	v = strings.TrimSpace(v)
	switch {
	case len(v) == 8:
		wall, err = time.Parse("20060102", v)
	case len(v) == 15:
		wall, err = time.Parse("20060102T150405", v)
	case len(v) == 16 && (v[15] == 'Z' || v[15] == 'z'):
		wall, err = time.Parse("20060102T150405", v[:15])
		utc = true
	default:
		err = fmt.Errorf("bad date or date-time %q", v)
	}
	if err == nil && wall.Year() == 0 {
		// RFC 5545 dates are Gregorian, which has no year 0 (1 BC is
		// followed by AD 1), and rrule-go panics on some rules from it.
		err = fmt.Errorf("date %q is in the year 0000", v)
	}
	return wall, utc, err
}
