package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

const auditUsage = `  kalends audit [filters] [--json]      who changed what, when, from where (docs/audit.md)
`

func init() {
	registerCommand("audit", operatorCommand{usage: auditUsage, run: runAudit, routes: auditRoutes})
}

// auditFilter selects events. Every set field must match; an empty filter
// selects the whole log. Its URL form (query) is what the admin route takes,
// so the CLI and the server parse the same strings.
type auditFilter struct {
	Principal string // actor or acted-for
	Calendar  string // stream of OWNER/NAME
	Object    string // name within Calendar, from an href
	UID       string
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	Client    string    // case-insensitive substring of the user agent
	Types     []string
}

// auditFlags are the filter's flags, named as its query parameters.
var auditFlags = [][2]string{
	{"principal", "events done by or on behalf of this principal"},
	{"calendar", "events of calendar OWNER/NAME"},
	{"href", "events of one object, e.g. /calendars/alice/default/x.ics, including its deletion"},
	{"uid", "events of the object(s) with this iCalendar UID, including their deletion"},
	{"since", "events at or after this time (RFC 3339, or YYYY-MM-DD in local time)"},
	{"until", "events before this time (RFC 3339, or YYYY-MM-DD: up to the end of that day)"},
	{"client", "events whose user agent contains this text (case-insensitive)"},
	{"type", "events of this type, e.g. ObjectPut (repeatable)"},
}

// parseAuditFilter reads a filter from the flags' values (or the admin
// route's query, which carries the same names).
func parseAuditFilter(q url.Values) (auditFilter, error) {
	f := auditFilter{Principal: q.Get("principal"), UID: q.Get("uid"), Client: strings.ToLower(q.Get("client")), Types: q["type"]}
	if cal := q.Get("calendar"); cal != "" {
		owner, name, ok := strings.Cut(strings.Trim(cal, "/"), "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return f, fmt.Errorf("--calendar %q: want OWNER/NAME", cal)
		}
		f.Calendar = domain.CalendarStream(owner, name)
	}
	if href := q.Get("href"); href != "" {
		// /calendars/OWNER/NAME/OBJECT, as clients and the server's logs
		// show it; the prefix and a full URL's scheme and host are optional.
		p := href
		if u, err := url.Parse(href); err == nil && u.Path != "" {
			p = u.Path
		}
		p = strings.TrimPrefix(strings.Trim(p, "/"), "calendars/")
		parts := strings.Split(p, "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return f, fmt.Errorf("--href %q: want /calendars/OWNER/NAME/OBJECT", href)
		}
		if f.Calendar != "" && f.Calendar != domain.CalendarStream(parts[0], parts[1]) {
			return f, errors.New("--href names another calendar than --calendar")
		}
		f.Calendar, f.Object = domain.CalendarStream(parts[0], parts[1]), parts[2]
	}
	var err error
	if f.Since, err = parseAuditTime(q.Get("since"), false); err != nil {
		return f, fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseAuditTime(q.Get("until"), true); err != nil {
		return f, fmt.Errorf("--until: %w", err)
	}
	return f, nil
}

func (f auditFilter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("principal", f.Principal)
	if f.Object != "" {
		set("href", "/calendars/"+strings.TrimPrefix(f.Calendar, "cal:")+"/"+f.Object)
	} else {
		set("calendar", strings.TrimPrefix(f.Calendar, "cal:"))
	}
	set("uid", f.UID)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	set("client", f.Client)
	q["type"] = f.Types
	return q
}

// parseAuditTime takes RFC 3339 or a bare date in the local zone. A date
// as --until means the end of that day, so that --since D --until D is the
// whole day D.
func parseAuditTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return t, fmt.Errorf("%q is neither RFC 3339 (2025-03-01T09:00:00Z) nor a date (2025-03-01)", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// auditEntry is one event as audit shows it: everything in the record but
// the payload's bulk (the iCalendar text, which `kalends export` gives).
type auditEntry struct {
	Position      eventlog.Position `json:"position"`
	Stream        string            `json:"stream"`
	Revision      eventlog.Revision `json:"revision"`
	Type          string            `json:"type"`
	SchemaVersion uint16            `json:"schemaVersion"`
	Time          time.Time         `json:"time"`
	Principal     string            `json:"principal,omitempty"`
	OnBehalfOf    string            `json:"onBehalfOf,omitempty"`
	UserAgent     string            `json:"userAgent,omitempty"`
	RequestID     string            `json:"requestId,omitempty"`
	RemoteAddr    string            `json:"remoteAddr,omitempty"`
	Calendar      string            `json:"calendar,omitempty"` // OWNER/NAME
	Object        string            `json:"object,omitempty"`
	UID           string            `json:"uid,omitempty"`
	ETag          string            `json:"etag,omitempty"`
	MovedTo       string            `json:"movedTo,omitempty"`
	MovedFrom     string            `json:"movedFrom,omitempty"`
	CopiedFrom    string            `json:"copiedFrom,omitempty"`
	// Through is where an IndexHorizonAdvanced moved the time-range index's
	// horizon.
	Through *time.Time `json:"through,omitempty"`
	// Undecodable is set when the payload did not decode (a type this
	// version does not know): the metadata is still worth showing.
	Undecodable string `json:"undecodable,omitempty"`
	Hash        string `json:"hash"`
	PrevHash    string `json:"prevHash"`
	// Error, on the admin route only, is a last line saying why the stream
	// stopped early: the status line was long sent.
	Error string `json:"error,omitempty"`
}

// auditor applies a filter to the log in order. To match an object by UID
// or href it must also catch the object's deletion, move and its calendar's
// deletion, which carry only the name or nothing: it tracks which names
// currently hold a matching object, per calendar. That set holds only the
// matching objects, so memory stays flat however long the log.
type auditor struct {
	f     auditFilter
	types map[string]bool
	live  map[string]map[string]bool // stream → names holding a matching object
	// uidNeedle is the UID as it appears in an event's JSON header, when
	// JSON leaves it unescaped: a record without it can be passed over
	// undecoded unless its calendar holds a tracked name. Decoding every
	// put halved the rate of a --uid audit.
	uidNeedle []byte
}

func newAuditor(f auditFilter) *auditor {
	a := &auditor{f: f, live: map[string]map[string]bool{}}
	if quoted, _ := json.Marshal(f.UID); f.UID != "" && f.Object == "" && string(quoted) == `"`+f.UID+`"` {
		a.uidNeedle = quoted
	}
	if len(f.Types) > 0 {
		a.types = map[string]bool{}
		for _, t := range f.Types {
			a.types[strings.ToLower(t)] = true
		}
	}
	return a
}

func (a *auditor) objectFilter() bool { return a.f.UID != "" || a.f.Object != "" }

// match reports whether r is selected, and its entry if so. The cheap
// checks come first; the payload is decoded only when needed.
func (a *auditor) match(r *eventlog.Record) (auditEntry, bool) {
	if a.f.Calendar != "" && r.Stream != a.f.Calendar {
		return auditEntry{}, false
	}
	// Object tracking must see every event of the calendars it follows,
	// even those the other filters drop.
	e, ok := auditEntry{}, true
	decoded := false
	if a.uidNeedle != nil && len(a.live[r.Stream]) == 0 && !bytes.Contains(r.Data, a.uidNeedle) {
		return auditEntry{}, false
	}
	if a.objectFilter() && strings.HasPrefix(r.Stream, "cal:") {
		e, decoded = entryOf(r), true
		ok = a.track(r.Stream, &e)
	}
	m := r.Meta
	ok = ok && (a.f.Principal == "" || m.Principal == a.f.Principal || m.OnBehalfOf == a.f.Principal) &&
		(a.f.Since.IsZero() || !m.Time.Before(a.f.Since)) &&
		(a.f.Until.IsZero() || m.Time.Before(a.f.Until)) &&
		(a.types == nil || a.types[strings.ToLower(r.Type)]) &&
		(a.f.Client == "" || strings.Contains(strings.ToLower(m.UserAgent), a.f.Client)) &&
		(!a.objectFilter() || decoded)
	if ok && !decoded {
		e = entryOf(r)
	}
	return e, ok
}

// track updates the set of names holding a matching object and reports
// whether e concerns one.
func (a *auditor) track(stream string, e *auditEntry) bool {
	names := a.live[stream]
	switch e.Type {
	case domain.TypeObjectPut:
		if (a.f.UID == "" || e.UID == a.f.UID) && (a.f.Object == "" || e.Object == a.f.Object) {
			if names == nil {
				names = map[string]bool{}
				a.live[stream] = names
			}
			names[e.Object] = true
			return true
		}
		// Another object now has this name: a later delete is not ours.
		delete(names, e.Object)
	case domain.TypeObjectDeleted:
		if names[e.Object] {
			delete(names, e.Object)
			return true
		}
	case domain.TypeCalendarDeleted:
		delete(a.live, stream)
		return len(names) > 0
	}
	return false
}

func entryOf(r *eventlog.Record) auditEntry {
	e := auditEntry{
		Position: r.Position, Stream: r.Stream, Revision: r.Revision, Type: r.Type, SchemaVersion: r.SchemaVersion,
		Time: r.Meta.Time, Principal: r.Meta.Principal, OnBehalfOf: r.Meta.OnBehalfOf, UserAgent: r.Meta.UserAgent,
		RequestID: r.Meta.RequestID, RemoteAddr: r.Meta.RemoteAddr,
		Hash: hex.EncodeToString(r.Hash[:]), PrevHash: hex.EncodeToString(r.PrevHash[:]),
	}
	e.Calendar, _ = strings.CutPrefix(r.Stream, "cal:")
	if e.Calendar == r.Stream {
		e.Calendar = ""
	}
	ev, err := domain.Decode(r.Type, r.SchemaVersion, r.Data)
	if err != nil {
		e.Undecodable = err.Error()
		return e
	}
	switch ev := ev.(type) {
	case *domain.ObjectPut:
		e.Object, e.UID, e.ETag = ev.Name, ev.UID, ev.ETag
		if ev.Moved {
			e.MovedFrom = ev.CopiedFrom
		} else {
			e.CopiedFrom = ev.CopiedFrom
		}
	case *domain.ObjectDeleted:
		e.Object, e.MovedTo = ev.Name, ev.MovedTo
	case *domain.IndexHorizonAdvanced:
		e.Through = &ev.Through
	}
	return e
}

// audit streams the entries of log that f selects to emit, in log order.
// It holds one record at a time: the log may be as long as it likes.
func audit(ctx context.Context, log eventlog.Log, f auditFilter, emit func(*auditEntry) error) error {
	a := newAuditor(f)
	return log.ReadAll(ctx, 0, func(r eventlog.Record) error {
		if e, ok := a.match(&r); ok {
			return emit(&e)
		}
		return nil
	})
}

func runAudit(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("audit", c)
	cfg := commandConfig(fs, []string{"data"})
	q := url.Values{}
	for _, fl := range auditFlags {
		fs.Func(fl[0], fl[1], func(v string) error { q.Add(fl[0], v); return nil })
	}
	asJSON := fs.Bool("json", false, "one JSON object per line with every field, instead of a table")
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		fmt.Fprintf(c.stderr, "kalends audit takes no arguments\n")
		return errUsage
	}
	f, err := parseAuditFilter(q)
	if err != nil {
		fmt.Fprintf(c.stderr, "kalends audit: %v\n", err)
		return errUsage
	}
	out := bufio.NewWriterSize(c.stdout, 64<<10)
	var emit func(*auditEntry) error
	if *asJSON {
		enc := json.NewEncoder(out)
		emit = func(e *auditEntry) error { return enc.Encode(e) }
	} else {
		t := newAuditTable(out)
		emit = t.row
	}
	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		defer client.close()
		err = client.audit(ctx, f, emit)
		return errors.Join(err, out.Flush())
	}
	log, err := openLogOffline(cfg.Data)
	if err != nil {
		return err
	}
	err = audit(ctx, log, f, emit)
	return errors.Join(err, out.Flush(), log.Close())
}

// openLogOffline opens the embedded log of a data directory that no server
// serves, refusing to create one where there is none.
func openLogOffline(data string) (*pebblelog.Log, error) {
	dir := filepath.Join(data, logDir)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no event log in %s: %w", data, err)
	}
	log, err := pebblelog.Open(dir, pebblelog.Options{})
	if err != nil {
		return nil, fmt.Errorf("open the log (is a server starting on %s?): %w", data, err)
	}
	return log, nil
}

// auditRoutes serves GET /v1/audit?<filter>: the selected entries as JSON
// lines, streamed as they are found, so that a long audit neither waits
// for the end nor holds it in memory on either side.
func auditRoutes(mux *http.ServeMux, n *node) {
	mux.HandleFunc("GET /v1/audit", func(w http.ResponseWriter, r *http.Request) {
		f, err := parseAuditFilter(r.URL.Query())
		if err != nil {
			reply(w, http.StatusBadRequest, nil, refused(http.StatusBadRequest, "%v", err))
			return
		}
		w.Header().Set("Content-Type", "application/jsonl")
		w.WriteHeader(http.StatusOK)
		out := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(out)
		flusher, _ := w.(http.Flusher)
		lastFlush := time.Now()
		err = audit(r.Context(), n.log, f, func(e *auditEntry) error {
			if err := enc.Encode(e); err != nil {
				return err
			}
			// A sparse match in a long log should not sit in the buffer.
			if time.Since(lastFlush) > 200*time.Millisecond {
				lastFlush = time.Now()
				if err := out.Flush(); err != nil {
					return err
				}
				if flusher != nil {
					flusher.Flush()
				}
			}
			return nil
		})
		if err != nil && r.Context().Err() == nil {
			_ = enc.Encode(auditEntry{Error: err.Error()})
		}
		_ = out.Flush()
	})
}

// audit reads the admin route's stream back into entries.
func (c *adminClient) audit(ctx context.Context, f auditFilter, emit func(*auditEntry) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://kalends/v1/audit?"+f.query().Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kalends-cli")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		oe := &opError{Status: resp.StatusCode}
		if json.NewDecoder(resp.Body).Decode(oe) != nil || oe.Message == "" {
			oe.Message = resp.Status
		}
		return oe
	}
	dec := json.NewDecoder(bufio.NewReaderSize(resp.Body, 64<<10))
	for {
		var e auditEntry
		if err := dec.Decode(&e); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("audit through the server: %w", err)
		}
		if e.Error != "" {
			return fmt.Errorf("audit through the server: %s", e.Error)
		}
		if err := emit(&e); err != nil {
			return err
		}
	}
}

// auditTable prints entries as aligned columns without holding them:
// tabwriter would buffer the whole output to measure it. Columns start as
// wide as their usual values (a timestamp, a principal name, the longest
// event type, a move between two short owner/calendar/object names, a cut
// client) and only widen past that for an unusually long value, so they
// rarely shift. The client, the one long field, is cut.
type auditTable struct {
	w      io.Writer
	widths []int
}

var auditColumns = []string{"TIME", "ACTOR", "ON BEHALF OF", "EVENT", "CALENDAR/OBJECT", "CLIENT", "REQUEST"}

const auditClientWidth = 32

const auditTimeFormat = "2006-01-02 15:04:05Z"

func newAuditTable(w io.Writer) *auditTable {
	t := &auditTable{w: w, widths: []int{20, 12, 12, len(domain.TypeCalendarPropertiesChanged), 48, auditClientWidth, 0}}
	t.line(auditColumns)
	return t
}

func (t *auditTable) row(e *auditEntry) error {
	what := e.Calendar
	if e.Object != "" {
		what += "/" + e.Object
	}
	if e.Calendar == "" {
		what = e.Stream
	}
	switch {
	case e.MovedTo != "":
		what += " → moved to " + e.MovedTo
	case e.MovedFrom != "":
		what += " ← moved from " + e.MovedFrom
	case e.CopiedFrom != "":
		what += " ← copied from " + e.CopiedFrom
	case e.Through != nil:
		what += " → through " + e.Through.UTC().Format(auditTimeFormat)
	}
	client := e.UserAgent
	if utf8.RuneCountInString(client) > auditClientWidth {
		client = string([]rune(client)[:auditClientWidth-1]) + "…"
	}
	return t.line([]string{e.Time.UTC().Format(auditTimeFormat), dash(e.Principal), dash(e.OnBehalfOf),
		e.Type, what, dash(client), dash(e.RequestID)})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (t *auditTable) line(cols []string) error {
	var b strings.Builder
	for i, c := range cols {
		if i == len(cols)-1 {
			b.WriteString(c)
			break
		}
		n := utf8.RuneCountInString(c)
		t.widths[i] = max(t.widths[i], n)
		b.WriteString(c)
		b.WriteString(strings.Repeat(" ", t.widths[i]-n+2))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}
