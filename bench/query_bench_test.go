package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkQuery hands the query phases' requests to the handler of an
// in-process server holding KALENDS_BENCH_OBJECTS (default 10,000) objects
// of the realistic mix, for CPU profiles and allocation counts of the
// server's work alone with go test -bench: no client, no connection, the
// answer discarded as it is written. Each iteration queries the next of
// KALENDS_BENCH_WINDOWS (default 32) fixed random windows, few enough to
// measure a server whose caches hold what clients keep asking for; a large
// number measures mostly first sights, as the bench command's 60 random
// windows per phase do. Answers are not checked here (the bench command
// checks them). Figures to quote come from `go run ./bench`, whose server
// is a process of its own.
func BenchmarkQuery(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("KALENDS_BENCH_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	srv, err := startInProcess(b.TempDir(), "bench", "pw")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			b.Error(err)
		}
	}()
	c := newClient(srv.url, srv.user, srv.pass, "/calendars/bench/q/", 8)
	if _, _, _, _, err := c.do("MKCALENDAR", c.calendar, nil, []byte(mkcalendarBody)); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, err := c.put(c.href("bq", i), realistic("bq", 1, i).data); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	windows := 32
	if v, err := strconv.Atoi(os.Getenv("KALENDS_BENCH_WINDOWS")); err == nil && v > 0 {
		windows = v
	}
	weeks, months := make([]time.Time, windows), make([]time.Time, windows)
	for i := range weeks {
		weeks[i] = mixStart.AddDate(0, 0, r.IntN(mixDays-7))
		months[i] = time.Date(mixStart.Year(), mixStart.Month()+time.Month(1+r.IntN(46)), 1, 0, 0, 0, 0, time.UTC)
	}
	for _, k := range []struct {
		name           string
		month, expand  bool
		freeBusy, etag bool
	}{
		{name: "week+data"}, {name: "month+data", month: true},
		{name: "week+expand", expand: true}, {name: "month+expand", month: true, expand: true},
		{name: "week+etag", etag: true}, {name: "freebusy-month", month: true, freeBusy: true},
	} {
		b.Run(k.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				s, e := weeks[i%len(weeks)], weeks[i%len(weeks)].AddDate(0, 0, 7)
				if k.month {
					s, e = months[i%len(months)], months[i%len(months)].AddDate(0, 1, 0)
				}
				i++
				body := queryBody(s, e, k.expand)
				switch {
				case k.freeBusy:
					body = freeBusyBody(s, e)
				case k.etag:
					body = etagQueryBody(s, e)
				}
				req := httptest.NewRequest("REPORT", c.calendar, bytes.NewReader(body))
				req.SetBasicAuth(srv.user, srv.pass)
				for k, v := range xmlHdr {
					req.Header.Set(k, v)
				}
				w := discard{header: http.Header{}}
				srv.handler.ServeHTTP(&w, req)
				if w.status/100 != 2 {
					b.Fatalf("REPORT: status %d", w.status)
				}
			}
		})
	}
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}

func etagQueryBody(s, e time.Time) []byte {
	return fmt.Appendf(nil, `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="%s" end="%s"/>
</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`, s.Format(utcForm), e.Format(utcForm))
}
