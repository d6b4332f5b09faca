package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/eventlog"
)

// export --calendar and import --calendar move a whole calendar as one .ics
// (dav.Backend.ExportCalendar and ImportCalendar): the file every calendar
// application exports and subscribes to. The import is one batch, one
// append to the calendar's stream attributed to the operator acting for
// the owner, so `kalends audit` shows it as one change and `kalends
// restore` to before it undoes it. Like restore, they go through the
// running server's admin socket when one serves the data directory, else
// over a node opened here.
//
//	GET  /v1/calendar/export?owner=&calendar=                → the .ics
//	POST /v1/calendar/import?owner=&calendar=[&skip-invalid=1], body the .ics
//	                                                         → importLine JSON lines
//
// export and import without --log are these; with --log, logio.go's.

const calendarIOUsage = `  kalends export --calendar OWNER/NAME [--out FILE]
                                        write a calendar as one .ics
  kalends import --calendar OWNER/NAME [--skip-invalid] FILE
                                        load an .ics into a calendar, one object per UID
`

const importHelp = `Usage:
  kalends import --calendar OWNER/NAME [--skip-invalid] FILE

FILE ("-" for stdin) is split into one object per UID, each validated like a
PUT; an object whose UID the calendar holds is replaced. Without
--skip-invalid one invalid object refuses the file and nothing is written.
Everything is one batch, attributed to the operator: restore to before it
undoes it.
`

// byLogFlag runs withLog when --log is among args, else without: export
// and import serve both the log and a calendar's .ics.
func byLogFlag(withLog, without func(context.Context, []string, cli) error) func(context.Context, []string, cli) error {
	return func(ctx context.Context, args []string, c cli) error {
		for _, a := range args {
			if a == "--" {
				break
			}
			name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if strings.HasPrefix(a, "-") && name == "log" && value != "false" {
				return withLog(ctx, args, c)
			}
		}
		return without(ctx, args, c)
	}
}

// calendarIO is what the two commands do: over a node or through the admin
// socket, the same backend code deciding.
type calendarIO interface {
	ExportCalendar(ctx context.Context, owner, cal string) ([]byte, error)
	ImportCalendar(ctx context.Context, owner, cal string, data []byte, skipInvalid bool, progress func(done, total int)) (dav.ImportResult, error)
}

type nodeCalendarIO struct{ n *node }

func (o nodeCalendarIO) ExportCalendar(_ context.Context, owner, cal string) ([]byte, error) {
	return o.n.backend.ExportCalendar(owner, cal)
}

func (o nodeCalendarIO) ImportCalendar(ctx context.Context, owner, cal string, data []byte, skipInvalid bool, progress func(done, total int)) (dav.ImportResult, error) {
	return o.n.backend.ImportCalendar(ctx, operatorMeta(ctx, owner), owner, cal, data, dav.ImportOptions{SkipInvalid: skipInvalid, Progress: progress})
}

// importLine is one line of the admin import's answer: progress, then
// the result or the refusal.
type importLine struct {
	Done   int               `json:"done,omitempty"`
	Total  int               `json:"total,omitempty"`
	Result *dav.ImportResult `json:"result,omitempty"`
	Error  *opError          `json:"refusal,omitempty"`
}

func calendarQuery(owner, cal string) url.Values {
	return url.Values{"owner": {owner}, "calendar": {cal}}
}

func (c *adminClient) ExportCalendar(ctx context.Context, owner, cal string) ([]byte, error) {
	resp, err := c.stream(ctx, "/v1/calendar/export?"+calendarQuery(owner, cal).Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (c *adminClient) ImportCalendar(ctx context.Context, owner, cal string, data []byte, skipInvalid bool, progress func(done, total int)) (dav.ImportResult, error) {
	q := calendarQuery(owner, cal)
	if skipInvalid {
		q.Set("skip-invalid", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://kalends/v1/calendar/import?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		return dav.ImportResult{}, err
	}
	req.Header.Set("User-Agent", "kalends-cli")
	req.Header.Set("Content-Type", "text/calendar")
	resp, err := c.hc.Do(req)
	if err != nil {
		return dav.ImportResult{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return dav.ImportResult{}, decodeRefusal(resp)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line importLine
		if err := dec.Decode(&line); err != nil {
			return dav.ImportResult{}, fmt.Errorf("import through the server: %w", err)
		}
		switch {
		case line.Error != nil:
			return dav.ImportResult{}, line.Error
		case line.Result != nil:
			return *line.Result, nil
		case progress != nil:
			progress(line.Done, line.Total)
		}
	}
}

// calendarIORoutes serves the two on the admin socket.
func calendarIORoutes(mux *http.ServeMux, n *node) {
	ops := nodeCalendarIO{n}
	mux.HandleFunc("GET /v1/calendar/export", func(w http.ResponseWriter, r *http.Request) {
		data, err := ops.ExportCalendar(r.Context(), r.URL.Query().Get("owner"), r.URL.Query().Get("calendar"))
		if err != nil {
			reply(w, 0, nil, err)
			return
		}
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Write(data)
	})
	mux.HandleFunc("POST /v1/calendar/import", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, dav.MaxCalendarFile))
		if err != nil {
			reply(w, 0, nil, refused(http.StatusRequestEntityTooLarge, "reading the file: %v", err))
			return
		}
		// From here the answer streams: progress as it comes, a line at
		// most every 100 ms, then the outcome.
		w.Header().Set("Content-Type", "application/jsonl")
		enc := json.NewEncoder(w)
		flusher, _ := w.(http.Flusher)
		// The decision may run on another request's goroutine (dav's
		// batches) and outlive this handler if the client goes away: the
		// writer is only touched under mu and never after the handler ends.
		var mu sync.Mutex
		var last time.Time
		ended := false
		progress := func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if now := time.Now(); !ended && (now.Sub(last) >= 100*time.Millisecond || done == total) {
				last = now
				enc.Encode(importLine{Done: done, Total: total})
				if flusher != nil {
					flusher.Flush()
				}
			}
		}
		q := r.URL.Query()
		res, err := ops.ImportCalendar(r.Context(), q.Get("owner"), q.Get("calendar"), data, q.Get("skip-invalid") == "1", progress)
		mu.Lock()
		defer mu.Unlock()
		ended = true
		if err != nil {
			enc.Encode(importLine{Error: asOpError(importRefusal(err))})
			return
		}
		enc.Encode(importLine{Result: &res})
	})
}

// importRefusal gives invalid objects the status of bad input: the
// message already lists them.
func importRefusal(err error) error {
	var ie *dav.ImportError
	if errors.As(err, &ie) {
		return refused(http.StatusUnprocessableEntity, "%s", ie.Error())
	}
	return err
}

func runExportCalendar(ctx context.Context, args []string, c cli) error {
	cfg, fs := timeTravelFlags("export", c)
	calendar := fs.String("calendar", "", "the calendar, OWNER/NAME")
	out := fs.String("out", "-", `file to write ("-" for stdout)`)
	fs.Usage = func() { fmt.Fprint(c.stderr, "Usage:\n"+calendarIOUsage+logIOUsage); fs.PrintDefaults() }
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	owner, cal, refErr := splitCalendar(*calendar)
	if refErr != nil || len(rest) != 0 {
		fs.Usage()
		return errUsage
	}
	ops, done, err := openOperatorAs(ctx, cfg, func(n *node) calendarIO { return nodeCalendarIO{n} })
	if err != nil {
		return err
	}
	data, err := ops.ExportCalendar(ctx, owner, cal)
	if err = errors.Join(err, done()); err != nil {
		return err
	}
	w, commit, err := createOutput(*out, c.stdout)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return commit(err)
}

func runImportCalendar(ctx context.Context, args []string, c cli) error {
	cfg, fs := timeTravelFlags("import", c)
	calendar := fs.String("calendar", "", "the calendar, OWNER/NAME")
	skipInvalid := fs.Bool("skip-invalid", false, "import the valid objects and list the others")
	fs.Usage = func() { fmt.Fprint(c.stderr, importHelp); fs.PrintDefaults() }
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	owner, cal, refErr := splitCalendar(*calendar)
	if refErr != nil || len(rest) != 1 {
		fs.Usage()
		return errUsage
	}
	data, err := readCalendarFile(rest[0], c.stdin)
	if err != nil {
		return err
	}
	ctx = withOrigin(ctx, origin{requestID: newRequestID(), userAgent: "kalends-cli", remoteAddr: "local"})
	ops, done, err := openOperatorAs(ctx, cfg, func(n *node) calendarIO { return nodeCalendarIO{n} })
	if err != nil {
		return err
	}
	p := newProgress("import "+*calendar, c.stderr, cfg.logger(c.stderr), 0)
	total := 0
	res, err := ops.ImportCalendar(ctx, owner, cal, data, *skipInvalid, func(done, all int) {
		total = all
		p.update(eventlog.Position(done), eventlog.Position(all))
	})
	elapsed, _ := p.finish(eventlog.Position(total))
	if err = errors.Join(err, done()); err != nil {
		return err
	}
	printImport(c.stdout, res, elapsed)
	return nil
}

// readCalendarFile reads FILE, or stdin for "-", up to the size a server
// takes.
func readCalendarFile(name string, stdin io.Reader) ([]byte, error) {
	in := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, dav.MaxCalendarFile+1))
	if err == nil && len(data) > dav.MaxCalendarFile {
		err = fmt.Errorf("%s is larger than %d bytes", name, dav.MaxCalendarFile)
	}
	return data, err
}

// printImport says what an import did.
func printImport(w io.Writer, r dav.ImportResult, elapsed time.Duration) {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(r.Objects) / s
	}
	fmt.Fprintf(w, "imported %d objects into %s in %v (%.0f objects/s): %d added, %d replaced, %d unchanged",
		r.Objects, r.Calendar, elapsed.Round(time.Millisecond), rate, len(r.Added), len(r.Replaced), r.Unchanged)
	if len(r.Invalid) > 0 {
		fmt.Fprintf(w, ", %d invalid skipped", len(r.Invalid))
	}
	fmt.Fprintln(w)
	for _, o := range r.Invalid {
		fmt.Fprintf(w, "  skipped #%d UID %q: %s\n", o.Index, o.UID, o.Reason)
	}
}
