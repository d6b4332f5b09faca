package eventlog

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// The JSON lines form of the log: one record per line, in log order, so that
// a log can be shipped (with a bug report, to another machine, to another
// engine) and replayed with ImportJSONL. A line is one object:
//
//	{"position":1,"stream":"principal:alice","revision":0,"type":"PrincipalCreated",
//	 "schemaVersion":1,"data":"…","dataBase64":false,
//	 "meta":{"principal":"@operator","onBehalfOf":"","time":"2025-01-02T03:04:05.123456789Z",
//	         "requestId":"…","userAgent":"…","remoteAddr":"…"},
//	 "prevHash":"00…","hash":"9f…"}
//
// Event data is opaque bytes. It is written as a JSON string when it is valid
// UTF-8, which keeps the common case (JSON or iCalendar text) readable and
// greppable, and as standard base64 with "dataBase64":true otherwise, so that
// every byte sequence round-trips exactly. The time is RFC 3339 with
// nanoseconds, in UTC as the log stores it. Hashes are lower-case hex. Every
// field is always present, so a line says everything the hash covers.

// jsonRecord is a record's line.
type jsonRecord struct {
	Position      Position `json:"position"`
	Stream        string   `json:"stream"`
	Revision      Revision `json:"revision"`
	Type          string   `json:"type"`
	SchemaVersion uint16   `json:"schemaVersion"`
	Data          string   `json:"data"`
	DataBase64    bool     `json:"dataBase64"`
	Meta          jsonMeta `json:"meta"`
	PrevHash      string   `json:"prevHash"`
	Hash          string   `json:"hash"`
}

type jsonMeta struct {
	Principal  string `json:"principal"`
	OnBehalfOf string `json:"onBehalfOf"`
	Time       string `json:"time"`
	RequestID  string `json:"requestId"`
	UserAgent  string `json:"userAgent"`
	RemoteAddr string `json:"remoteAddr"`
}

// WriteJSONL writes r as one line of the JSON lines form.
func WriteJSONL(w io.Writer, r Record) error {
	line := jsonRecord{
		Position: r.Position, Stream: r.Stream, Revision: r.Revision,
		Type: r.Type, SchemaVersion: r.SchemaVersion,
		Meta: jsonMeta{
			Principal: r.Meta.Principal, OnBehalfOf: r.Meta.OnBehalfOf,
			Time:      r.Meta.Time.UTC().Format(time.RFC3339Nano),
			RequestID: r.Meta.RequestID, UserAgent: r.Meta.UserAgent, RemoteAddr: r.Meta.RemoteAddr,
		},
		PrevHash: hex.EncodeToString(r.PrevHash[:]),
		Hash:     hex.EncodeToString(r.Hash[:]),
	}
	if utf8.Valid(r.Data) {
		line.Data = string(r.Data)
	} else {
		line.Data, line.DataBase64 = base64.StdEncoding.EncodeToString(r.Data), true
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // iCalendar text stays readable
	return enc.Encode(line)  // Encode ends the line with '\n'
}

// JSONLReader reads records written by WriteJSONL, one at a time, so that a
// log of any size streams through.
type JSONLReader struct {
	dec  *json.Decoder
	line int
}

// NewJSONLReader reads the JSON lines form from r.
func NewJSONLReader(r io.Reader) *JSONLReader {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return &JSONLReader{dec: dec}
}

// Next returns the next record, or io.EOF after the last.
func (jr *JSONLReader) Next() (Record, error) {
	var line jsonRecord
	if err := jr.dec.Decode(&line); err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("eventlog: record %d: %w", jr.line+1, err)
	}
	jr.line++
	r, err := line.record()
	if err != nil {
		return Record{}, fmt.Errorf("eventlog: record %d: %w", jr.line, err)
	}
	return r, nil
}

func (l *jsonRecord) record() (Record, error) {
	r := Record{Stream: l.Stream, Revision: l.Revision, Position: l.Position, Event: Event{
		Type: l.Type, SchemaVersion: l.SchemaVersion,
		Meta: Metadata{Principal: l.Meta.Principal, OnBehalfOf: l.Meta.OnBehalfOf,
			RequestID: l.Meta.RequestID, UserAgent: l.Meta.UserAgent, RemoteAddr: l.Meta.RemoteAddr},
	}}
	var err error
	if l.DataBase64 {
		r.Data, err = base64.StdEncoding.DecodeString(l.Data)
	} else {
		r.Data = []byte(l.Data)
	}
	if err != nil {
		return r, fmt.Errorf("data: %w", err)
	}
	if r.Meta.Time, err = time.Parse(time.RFC3339Nano, l.Meta.Time); err != nil {
		return r, err
	}
	r.Meta.Time = r.Meta.Time.UTC()
	if err := parseHash(&r.PrevHash, l.PrevHash); err != nil {
		return r, fmt.Errorf("prevHash: %w", err)
	}
	if err := parseHash(&r.Hash, l.Hash); err != nil {
		return r, fmt.Errorf("hash: %w", err)
	}
	return r, nil
}

func parseHash(dst *[32]byte, s string) error {
	b, err := hex.DecodeString(s)
	if err == nil && len(b) != len(dst) {
		err = fmt.Errorf("%d bytes, want %d", len(b), len(dst))
	}
	copy(dst[:], b)
	return err
}

// ImportResult says what ImportJSONL replayed.
type ImportResult struct {
	Records uint64
	Streams int
}

// importBatch bounds one append: large enough that a calendar's history
// goes in with few fsyncs, small enough to hold in memory.
const (
	importBatchEvents = 1000
	importBatchBytes  = 8 << 20
)

// ImportJSONL replays an exported log into an empty one. Every record is
// appended to its stream at exactly its exported revision, with its
// original metadata, in the exported order; consecutive records of one
// stream go in as one append. Each exported record must match its own hash
// and chain to its stream predecessor, and the hashes the target computes
// must equal the exported ones (positions are not hashed, so a partial
// export lands at other positions with the same hashes). Any mismatch stops
// the import with an error.
func ImportJSONL(ctx context.Context, r io.Reader, log Log) (ImportResult, error) {
	var res ImportResult
	head, err := log.Head(ctx)
	if err != nil {
		return res, err
	}
	if head != 0 {
		return res, fmt.Errorf("eventlog: import needs an empty log; this one has events up to position %d", head)
	}
	next := map[string]Record{} // each stream's last imported record
	var batch []Record
	var size int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := appendImported(ctx, log, batch)
		next[batch[0].Stream] = batch[len(batch)-1]
		batch, size = batch[:0], 0
		return err
	}
	jr := NewJSONLReader(r)
	for {
		rec, err := jr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		if len(batch) > 0 && (batch[0].Stream != rec.Stream || len(batch) == importBatchEvents || size+len(rec.Data) > importBatchBytes) {
			if err := flush(); err != nil {
				return res, err
			}
		}
		prev, seen := next[rec.Stream]
		if len(batch) > 0 {
			prev, seen = batch[len(batch)-1], true
		}
		if err := checkImported(rec, prev, seen); err != nil {
			return res, err
		}
		batch = append(batch, rec)
		size += len(rec.Data)
		res.Records++
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.Streams = len(next)
	return res, nil
}

// checkImported checks an exported record against its stream predecessor
// (seen=false: none), before anything is appended.
func checkImported(rec, prev Record, seen bool) error {
	var want Revision
	if seen {
		want = prev.Revision + 1
	}
	switch {
	case rec.Revision != want:
		return fmt.Errorf("eventlog: import: stream %q has revision %d at position %d, want %d", rec.Stream, rec.Revision, rec.Position, want)
	case rec.PrevHash != prev.Hash:
		return fmt.Errorf("eventlog: import: stream %q revision %d does not chain to its predecessor", rec.Stream, rec.Revision)
	case rec.Hash != ChainHash(rec.PrevHash, rec.Stream, rec.Revision, rec.Event):
		return fmt.Errorf("eventlog: import: stream %q revision %d does not match its hash (the export was changed)", rec.Stream, rec.Revision)
	}
	return nil
}

// appendImported appends one stream's consecutive records and checks that
// the log computed the same hashes.
func appendImported(ctx context.Context, log Log, batch []Record) error {
	first := batch[0]
	expected := NoStream
	if first.Revision > 0 {
		expected = Exactly(first.Revision - 1)
	}
	events := make([]Event, len(batch))
	for i, r := range batch {
		events[i] = r.Event
	}
	if _, err := log.Append(ctx, first.Stream, expected, events); err != nil {
		return fmt.Errorf("eventlog: import: stream %q from revision %d: %w", first.Stream, first.Revision, err)
	}
	i := 0
	err := log.ReadStream(ctx, first.Stream, first.Revision, func(got Record) error {
		if i == len(batch) {
			return errStop
		}
		want := batch[i]
		i++
		if got.Revision != want.Revision || got.Hash != want.Hash {
			return fmt.Errorf("eventlog: import: stream %q revision %d: the log computed hash %x, the export says %x", want.Stream, want.Revision, got.Hash, want.Hash)
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && i != len(batch) {
		err = fmt.Errorf("eventlog: import: stream %q: %d of %d appended records read back", first.Stream, i, len(batch))
	}
	return err
}

// errStop ends a read early.
var errStop = errors.New("stop")
