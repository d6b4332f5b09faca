package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

// export --log and import --log ship a log as JSON lines (the form is
// described in eventlog/jsonl.go): a bug report can carry its log, and the
// importing machine replays it into an empty data directory and answers every
// DAV request as the source did. Passwords are not events and do not travel:
// after an import, set them with `kalends user passwd`.

const logIOUsage = `  kalends export --log [--calendar OWNER/NAME] [--out FILE]
                                        write the log (or one calendar's) as JSON lines
  kalends import --log FILE             replay an exported log into an empty data directory
`

func init() {
	// The usage sits on one of the two so that it is listed once. Without
	// --log, the two move a calendar's .ics (ics.go).
	registerCommand("export", operatorCommand{usage: logIOUsage + calendarIOUsage, run: byLogFlag(runExport, runExportCalendar), routes: exportRoutes})
	registerCommand("import", operatorCommand{run: byLogFlag(runImport, runImportCalendar), routes: calendarIORoutes})
}

// exportTrailer carries an error that struck after the export's stream began,
// when the status has long been sent.
const exportTrailer = "Kalends-Error"

// logSettings are what the log commands take: just the data directory.
var logSettings = []string{"data"}

func runExport(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("export", c)
	cfg := commandConfig(fs, logSettings)
	asLog := fs.Bool("log", false, "export the event log as JSON lines")
	calendar := fs.String("calendar", "", "only this calendar (OWNER/NAME) and its owner's principal")
	out := fs.String("out", "-", `file to write ("-" for stdout)`)
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if !*asLog || len(rest) != 0 {
		fmt.Fprint(c.stderr, "Usage:\n"+logIOUsage)
		return errUsage
	}
	if *calendar != "" {
		if _, _, err := splitCalendar(*calendar); err != nil {
			fmt.Fprintf(c.stderr, "kalends export: %v\n", err)
			return errUsage
		}
	}

	w, commit, err := createOutput(*out, c.stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		defer client.close()
		err = client.export(ctx, *calendar, bw)
		return commit(errors.Join(err, bw.Flush()))
	}
	log, err := openLogOffline(cfg.Data)
	if err != nil {
		return commit(err)
	}
	err = exportLog(ctx, log, *calendar, bw)
	return commit(errors.Join(err, bw.Flush(), log.Close()))
}

// createOutput opens where an export goes. commit closes it and, if the
// export failed, removes the file, so that a half export is never mistaken
// for a whole one.
func createOutput(name string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if name == "-" || name == "" {
		return stdout, func(err error) error { return err }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func(err error) error {
		err = errors.Join(err, f.Close())
		if err != nil {
			os.Remove(name)
		}
		return err
	}, nil
}

// splitCalendar reads OWNER/NAME.
func splitCalendar(s string) (owner, name string, err error) {
	owner, name, obj, err := parseRef(s)
	if err != nil || obj != "" {
		return "", "", fmt.Errorf("--calendar %q: want OWNER/NAME", s)
	}
	return owner, name, nil
}

// exportLog writes the whole log, or with a calendar its stream and its
// owner's principal stream (what the DAV tree needs to serve it), in log
// order. Nothing is written if the calendar does not exist.
func exportLog(ctx context.Context, log eventlog.Log, calendar string, w io.Writer) error {
	if calendar == "" {
		return log.ReadAll(ctx, 0, func(r eventlog.Record) error { return eventlog.WriteJSONL(w, r) })
	}
	owner, name, err := splitCalendar(calendar)
	if err != nil {
		return refused(http.StatusBadRequest, "%v", err)
	}
	// A principal stream holds a handful of events; the calendar's may be
	// long, so it is the one streamed, the other merged in by position.
	var principal []eventlog.Record
	err = log.ReadStream(ctx, domain.PrincipalStream(owner), 0, func(r eventlog.Record) error {
		principal = append(principal, r)
		return nil
	})
	if err != nil {
		return err
	}
	found := false
	err = log.ReadStream(ctx, domain.CalendarStream(owner, name), 0, func(r eventlog.Record) error {
		found = true
		for len(principal) > 0 && principal[0].Position < r.Position {
			if err := eventlog.WriteJSONL(w, principal[0]); err != nil {
				return err
			}
			principal = principal[1:]
		}
		return eventlog.WriteJSONL(w, r)
	})
	if err != nil {
		return err
	}
	if !found {
		return refused(http.StatusNotFound, "no calendar %s in the log", calendar)
	}
	for _, r := range principal {
		if err := eventlog.WriteJSONL(w, r); err != nil {
			return err
		}
	}
	return nil
}

// exportRoutes serves GET /v1/export[?calendar=OWNER/NAME]: the JSON lines,
// streamed. A failure before the first line has its status; one after it is
// the Kalends-Error trailer.
func exportRoutes(mux *http.ServeMux, n *node) {
	mux.HandleFunc("GET /v1/export", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", exportTrailer)
		w.Header().Set("Content-Type", "application/jsonl")
		out := &startedWriter{w: w}
		bw := bufio.NewWriterSize(out, 64<<10)
		err := exportLog(r.Context(), n.log, r.URL.Query().Get("calendar"), bw)
		if err == nil {
			err = bw.Flush()
		}
		switch {
		case err == nil:
		case !out.started && bw.Buffered() == 0:
			reply(w, 0, nil, err)
		default:
			w.Header().Set(exportTrailer, err.Error())
		}
	})
}

// startedWriter says whether anything was written, hence sent the status.
type startedWriter struct {
	w       io.Writer
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}

// export copies the server's export stream to w.
func (c *adminClient) export(ctx context.Context, calendar string, w io.Writer) error {
	q := url.Values{}
	if calendar != "" {
		q.Set("calendar", calendar)
	}
	resp, err := c.stream(ctx, "/v1/export?"+q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export through the server: %w", err)
	}
	if msg := resp.Trailer.Get(exportTrailer); msg != "" {
		return fmt.Errorf("export through the server: %s", msg)
	}
	return nil
}

// stream sends a GET whose answer is read as it comes, for the routes that
// stream, and turns a refusal into its opError.
func (c *adminClient) stream(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://kalends"+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "kalends-cli")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeRefusal(resp)
	}
	return resp, nil
}

func runImport(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("import", c)
	cfg := commandConfig(fs, logSettings)
	file := fs.String("log", "", `exported log to replay ("-" for stdin)`)
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if *file == "" || len(rest) != 0 {
		fmt.Fprint(c.stderr, "Usage:\n"+logIOUsage)
		return errUsage
	}
	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		client.close()
		return fmt.Errorf("a server is serving %s: import needs an empty data directory and no server", cfg.Data)
	}
	var in io.Reader = c.stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if entries, err := os.ReadDir(cfg.Data); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: import only into a new data directory", cfg.Data)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	dir := filepath.Join(cfg.Data, logDir)
	log, err := pebblelog.Open(dir, pebblelog.Options{})
	if err != nil {
		return err
	}
	res, err := eventlog.ImportJSONL(ctx, bufio.NewReaderSize(in, 64<<10), log)
	if err = errors.Join(err, log.Close()); err != nil {
		// The directory was empty: leave it so, for a retry.
		return errors.Join(err, os.RemoveAll(dir))
	}
	fmt.Fprintf(c.stdout, "imported %d records in %d streams into %s\n", res.Records, res.Streams, cfg.Data)
	fmt.Fprintf(c.stdout, "passwords are not part of the log: set them with kalends user passwd NAME\n")
	return nil
}

// decodeRefusal turns a refused admin answer into its opError.
func decodeRefusal(resp *http.Response) error {
	oe := &opError{Status: resp.StatusCode}
	if json.NewDecoder(resp.Body).Decode(oe) != nil || oe.Message == "" {
		oe.Message = resp.Status
	}
	return oe
}
