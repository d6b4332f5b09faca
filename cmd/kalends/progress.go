package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// progress reports a long replay of the log: on a terminal one line that
// redraws itself, elsewhere (a pipe, a service manager's journal, the
// server's own log) a plain log line every few seconds, since a redrawn
// line there is only noise.
type progress struct {
	what   string
	tty    io.Writer // nil: log lines instead
	logger zerolog.Logger
	from   eventlog.Position
	start  time.Time
	last   time.Time
	every  time.Duration
}

// newProgress reports to w when it is a terminal, else to logger. from is
// the position the work starts after, so that rates count only this run.
func newProgress(what string, w io.Writer, logger zerolog.Logger, from eventlog.Position) *progress {
	p := &progress{what: what, logger: logger, from: from, start: time.Now(), every: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.every = w, 100*time.Millisecond
	}
	return p
}

// update is called as work advances; it reports at most every p.every.
func (p *progress) update(done, total eventlog.Position) {
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	rate := p.rate(done, now)
	eta := time.Duration(0)
	if rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	}
	if p.tty != nil {
		pct := 100.0
		if total > p.from {
			pct = 100 * float64(done-p.from) / float64(total-p.from)
		}
		fmt.Fprintf(p.tty, "\r\033[K%s: %d/%d events  %5.1f%%  %.0f events/s  ETA %s", p.what, done, total, pct, rate, eta)
		return
	}
	p.logger.Info().Uint64("done", uint64(done)).Uint64("total", uint64(total)).
		Float64("events_per_s", float64(int64(rate))).Dur("eta", eta).Msg(p.what)
}

func (p *progress) rate(done eventlog.Position, now time.Time) float64 {
	secs := now.Sub(p.start).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(done-p.from) / secs
}

// finish ends the display and returns the run's duration and rate.
func (p *progress) finish(done eventlog.Position) (time.Duration, float64) {
	now := time.Now()
	if p.tty != nil && !p.last.IsZero() {
		fmt.Fprintln(p.tty)
	}
	return now.Sub(p.start), p.rate(done, now)
}
