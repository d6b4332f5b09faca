package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The query phases (issue 3) run on a calendar of their own, made with
// MKCALENDAR and filled with -objects objects of the realistic mix (see
// mix.go), so that the issue-2 phases keep their objects and figures. The
// generator gives every object's instances, so each answer is checked
// exactly against what the client computes:
//
//   - calendar-query with a VEVENT time-range: exactly the objects with an
//     instance overlapping the window (RFC 4791 §9.9), each with an ETag
//     and calendar-data;
//   - with <C:expand>: per object, exactly as many VEVENTs as instances
//     overlap the window, and no RRULE;
//   - free-busy-query: the union of the FREEBUSY periods equals the union
//     of the window's busy instances (TRANSP:TRANSPARENT left out).
//
// Windows are random (from -seed) within the populated range: a week from
// any day at 00:00Z, a calendar month.

type queryCal struct {
	c     *client
	objs  []genObj // data dropped once PUT
	ok    []bool
	day0  int64     // Unix day of days[0]
	days  [][]int32 // per UTC day: the objects with an instance touching it
	kinds map[string]int
}

// dayOf is the Unix day (UTC) of a Unix time.
func dayOf(t int64) int64 {
	d := t / 86400
	if t%86400 != 0 && t < 0 {
		d--
	}
	return d
}

// index builds the per-day lists of the objects that were stored.
func (q *queryCal) index() {
	q.day0 = dayOf(mixStart.Unix()) - 100
	q.days = make([][]int32, mixDays+300)
	q.kinds = map[string]int{}
	for i, o := range q.objs {
		if !q.ok[i] {
			continue
		}
		q.kinds[o.kind]++
		last := int64(-1)
		for _, s := range o.spans {
			for d := max(dayOf(s.s), last+1); d <= dayOf(s.e-1); d++ {
				k := d - q.day0
				if k < 0 || k >= int64(len(q.days)) {
					continue
				}
				q.days[k] = append(q.days[k], int32(i))
				last = d
			}
		}
	}
}

// expected returns, for a window [s, e), each matching object's number of
// instances overlapping it.
func (q *queryCal) expected(s, e int64) map[int]int {
	want := map[int]int{}
	seen := map[int32]bool{}
	for d := dayOf(s); d <= dayOf(e-1); d++ {
		k := d - q.day0
		if k < 0 || k >= int64(len(q.days)) {
			panic("bench: query window outside the indexed days")
		}
		for _, i := range q.days[k] {
			if seen[i] {
				continue
			}
			seen[i] = true
			n := 0
			for _, sp := range q.objs[i].spans {
				if sp.s < e && sp.e > s {
					n++
				}
			}
			if n > 0 {
				want[int(i)] = n
			}
		}
	}
	return want
}

// busy is the merged busy time in [s, e).
func (q *queryCal) busy(s, e int64) []span {
	var out []span
	seen := map[int32]bool{}
	for d := dayOf(s); d <= dayOf(e-1); d++ {
		for _, i := range q.days[d-q.day0] {
			if seen[i] || !q.objs[i].busy {
				continue
			}
			seen[i] = true
			for _, sp := range q.objs[i].spans {
				if sp.s < e && sp.e > s {
					out = append(out, span{max(sp.s, s), min(sp.e, e)})
				}
			}
		}
	}
	return merge(out)
}

func merge(in []span) []span {
	slices.SortFunc(in, func(a, b span) int { return int(a.s - b.s) })
	var out []span
	for _, sp := range in {
		if n := len(out); n > 0 && sp.s <= out[n-1].e {
			out[n-1].e = max(out[n-1].e, sp.e)
			continue
		}
		out = append(out, sp)
	}
	return out
}

const utcForm = "20060102T150405Z"

func queryBody(s, e time.Time, expand bool) []byte {
	data := `<C:calendar-data/>`
	if expand {
		data = `<C:calendar-data><C:expand start="` + s.Format(utcForm) + `" end="` + e.Format(utcForm) + `"/></C:calendar-data>`
	}
	return []byte(`<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/>` + data + `</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="` + s.Format(utcForm) + `" end="` + e.Format(utcForm) + `"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`)
}

func freeBusyBody(s, e time.Time) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="` + s.Format(utcForm) + `" end="` + e.Format(utcForm) + `"/>
</C:free-busy-query>`)
}

var xmlHdr = map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}

// between returns the text between the first open and the next close in
// s, and what follows.
func between(s, open, close string) (string, string, bool) {
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		return "", s, false
	}
	in, rest, ok := strings.Cut(rest, close)
	return in, rest, ok
}

// objectOf maps an href back to the object number.
func (b *runner) objectOf(q *queryCal, href string) (int, bool) {
	rest, ok := strings.CutPrefix(href, q.c.calendar+b.prefix+"-")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "@")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0 && i < len(q.objs)
}

// checkQuery checks a calendar-query answer (a scan of the server's
// multistatus, cheaper than encoding/xml so that the client takes little
// CPU from the server) against the expected objects.
func (b *runner) checkQuery(q *queryCal, body []byte, want map[int]int, expand bool) error {
	got := map[int]bool{}
	rest := string(body)
	for {
		resp, r, ok := between(rest, "<D:response>", "</D:response>")
		if !ok {
			break
		}
		rest = r
		href, _, ok := between(resp, "<D:href>", "</D:href>")
		if !ok {
			return fmt.Errorf("a response without href: %.200s", resp)
		}
		i, ok := b.objectOf(q, href)
		if !ok {
			return fmt.Errorf("unexpected href %s", href)
		}
		if got[i] {
			return fmt.Errorf("%s answered twice", href)
		}
		got[i] = true
		n, isWanted := want[i]
		if !isWanted {
			return fmt.Errorf("%s (%s) has no instance in the window", href, q.objs[i].kind)
		}
		if !strings.Contains(resp, "HTTP/1.1 200") || !strings.Contains(resp, "<D:getetag>") || strings.Contains(resp, "HTTP/1.1 4") {
			return fmt.Errorf("%s: no 200 propstat with an ETag: %.300s", href, resp)
		}
		data, _, ok := between(resp, "<C:calendar-data>", "</C:calendar-data>")
		if !ok || !strings.Contains(data, "BEGIN:VCALENDAR") {
			return fmt.Errorf("%s: no calendar-data", href)
		}
		if expand {
			if c := strings.Count(data, "BEGIN:VEVENT"); c != n {
				return fmt.Errorf("%s (%s): expand gave %d VEVENTs, want %d instances in the window", href, q.objs[i].kind, c, n)
			}
			if strings.Contains(data, "RRULE") {
				return fmt.Errorf("%s: expanded calendar-data still has an RRULE", href)
			}
		}
	}
	if len(got) != len(want) {
		var missing []string
		for i := range want {
			if !got[i] {
				missing = append(missing, fmt.Sprintf("%d (%s)", i, q.objs[i].kind))
				if len(missing) == 5 {
					break
				}
			}
		}
		return fmt.Errorf("%d objects in the answer, want %d; missing e.g. %s", len(got), len(want), strings.Join(missing, ", "))
	}
	return nil
}

// checkFreeBusy compares the union of the FREEBUSY periods with the union
// of the busy instances.
func checkFreeBusy(body []byte, want []span) error {
	if !bytes.Contains(body, []byte("BEGIN:VFREEBUSY")) {
		return fmt.Errorf("no VFREEBUSY in %.200s", body)
	}
	var got []span
	for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n ", ""), "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || !(name == "FREEBUSY" || strings.HasPrefix(name, "FREEBUSY;")) {
			continue
		}
		if strings.Contains(name, "FBTYPE=FREE") && !strings.Contains(name, "FBTYPE=FREE-") {
			continue
		}
		for _, p := range strings.Split(val, ",") {
			a, z, ok := strings.Cut(p, "/")
			s, err1 := time.Parse(utcForm, a)
			e, err2 := time.Parse(utcForm, z)
			if !ok || err1 != nil || err2 != nil {
				return fmt.Errorf("FREEBUSY period %q: only start/end in UTC is checked", p)
			}
			got = append(got, span{s.Unix(), e.Unix()})
		}
	}
	got = merge(got)
	if slices.Equal(got, want) {
		return nil
	}
	show := func(s []span) string {
		var parts []string
		for _, p := range s[:min(len(s), 3)] {
			parts = append(parts, time.Unix(p.s, 0).UTC().Format(utcForm)+"/"+time.Unix(p.e, 0).UTC().Format(utcForm))
		}
		return strings.Join(parts, ",")
	}
	// Point at the first difference.
	k := 0
	for k < len(got) && k < len(want) && got[k] == want[k] {
		k++
	}
	return fmt.Errorf("free-busy: %d merged periods, want %d; first difference: got %s, want %s", len(got), len(want), show(got[k:]), show(want[k:]))
}

// window picks a random week (from any day at 00:00Z) or calendar month
// within the populated range.
func (b *runner) window(month bool) (time.Time, time.Time) {
	if month {
		m := 1 + b.intn(46) // Feb 2024 … Nov 2027: wholly inside
		s := time.Date(mixStart.Year(), mixStart.Month()+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 1, 0)
	}
	s := mixStart.AddDate(0, 0, b.intn(mixDays-7))
	return s, s.AddDate(0, 0, 7)
}

const mkcalendarBody = `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>bench queries (realistic mix)</D:displayname></D:prop></D:set></C:mkcalendar>`

// queryPhases makes and fills the query calendar, then measures.
func (b *runner) queryPhases() error {
	n := b.o.objects
	qc := *b.c
	qc.calendar = strings.TrimSuffix(b.o.calendar, "/")
	qc.calendar = qc.calendar[:strings.LastIndexByte(qc.calendar, '/')+1] + "q-" + b.prefix + "/"
	if _, _, _, _, err := qc.do("MKCALENDAR", qc.calendar, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(mkcalendarBody)); err != nil {
		return fmt.Errorf("the query calendar: %w", err)
	}
	q := &queryCal{c: &qc, objs: make([]genObj, n), ok: make([]bool, n)}
	var bytesPut atomic.Int64
	if err := b.profiled(fmt.Sprintf("qput-%d", n), func() error {
		r := run("PUT (fill, realistic mix)", b.o.concurrency, limit{ops: n}, b.pid, func(_, i int) (time.Duration, error) {
			o := realistic(b.prefix, b.o.seed, i)
			bytesPut.Add(int64(len(o.data)))
			d, err := qc.put(qc.href(b.prefix, i), o.data)
			o.data = nil
			q.objs[i], q.ok[i] = o, err == nil
			return d, err
		})
		b.record(r, n)
		return nil
	}); err != nil {
		return err
	}
	q.index()
	var kinds []string
	for _, k := range []string{"single", "tz", "floating", "allday", "daily", "weekly", "monthly", "yearly-unbounded", "weekly-unbounded", "monthly-unbounded"} {
		kinds = append(kinds, fmt.Sprintf("%s %.1f%%", k, 100*float64(q.kinds[k])/float64(n)))
	}
	b.cond = append(b.cond,
		fmt.Sprintf("query calendar %s: %d objects of the realistic mix (seed %d), ~%d bytes each, over %s … %s: %s",
			qc.calendar, n, b.o.seed, bytesPut.Load()/int64(n), mixStart.Format("2006-01-02"), mixEnd.Format("2006-01-02"), strings.Join(kinds, ", ")),
		fmt.Sprintf("query phases: serial ones %d queries at random windows, 8-client ones %s; every answer checked exactly against the generator's instances", b.o.queries, b.limitText()))

	type kind struct {
		name          string
		month, expand bool
		freeBusy      bool
		conc          int
	}
	kinds2 := []kind{
		{name: "calendar-query week+data (serial)"},
		{name: "calendar-query month+data (serial)", month: true},
		{name: "calendar-query week expand (serial)", expand: true},
		{name: "calendar-query month expand (serial)", month: true, expand: true},
		{name: "free-busy-query month (serial)", month: true, freeBusy: true},
		{name: fmt.Sprintf("calendar-query week+data, %d clients", b.o.concurrency), conc: b.o.concurrency},
		{name: fmt.Sprintf("free-busy-query month, %d clients", b.o.concurrency), month: true, freeBusy: true, conc: b.o.concurrency},
	}
	for _, k := range kinds2 {
		var objects, size, empty atomic.Int64
		lim := limit{ops: b.o.queries}
		conc := max(k.conc, 1)
		if k.conc > 0 {
			lim = b.limit()
		}
		tag := strings.NewReplacer(" ", "-", "+", "-", "(", "", ")", "", ",", "").Replace(k.name)
		if err := b.profiled(tag, func() error {
			r := run(k.name, conc, lim, b.pid, func(_, _ int) (time.Duration, error) {
				s, e := b.window(k.month)
				if k.freeBusy {
					want := q.busy(s.Unix(), e.Unix())
					status, _, body, d, err := qc.do("REPORT", qc.calendar, xmlHdr, freeBusyBody(s, e))
					if err != nil {
						return d, err
					}
					if status != 200 {
						return d, fmt.Errorf("free-busy-query: status %d, want 200", status)
					}
					size.Add(int64(len(body)))
					objects.Add(int64(len(want)))
					if len(want) == 0 {
						empty.Add(1)
					}
					if err := checkFreeBusy(body, want); err != nil {
						return d, fmt.Errorf("free-busy-query %s/%s: %w", s.Format(utcForm), e.Format(utcForm), err)
					}
					return d, nil
				}
				want := q.expected(s.Unix(), e.Unix())
				status, _, body, d, err := qc.do("REPORT", qc.calendar, xmlHdr, queryBody(s, e, k.expand))
				if err != nil {
					return d, err
				}
				if status != 207 {
					return d, fmt.Errorf("calendar-query: status %d, want 207", status)
				}
				size.Add(int64(len(body)))
				objects.Add(int64(len(want)))
				if len(want) == 0 {
					empty.Add(1)
				}
				if err := b.checkQuery(q, body, want, k.expand); err != nil {
					return d, fmt.Errorf("calendar-query %s/%s expand=%v: %w", s.Format(utcForm), e.Format(utcForm), k.expand, err)
				}
				return d, nil
			})
			b.record(r, n)
			if ops := int64(len(r.lats) + r.errors); ops > 0 {
				unit := "objects"
				if k.freeBusy {
					unit = "busy periods"
				}
				note := fmt.Sprintf("%s @%d: answers held %.0f %s and %.0f KB on average; %d of %d windows empty", k.name, n,
					float64(objects.Load())/float64(ops), unit, float64(size.Load())/float64(ops)/1024, empty.Load(), ops)
				fmt.Println("    " + note)
				b.notes = append(b.notes, note)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
