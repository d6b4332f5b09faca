package eventlog_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

func memLog(t *testing.T) *pebblelog.Log {
	t.Helper()
	l, err := pebblelog.Open("log", pebblelog.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func exportAll(t *testing.T, l eventlog.Log) (string, []eventlog.Record) {
	t.Helper()
	var b bytes.Buffer
	var recs []eventlog.Record
	err := l.ReadAll(context.Background(), 0, func(r eventlog.Record) error {
		recs = append(recs, r)
		return eventlog.WriteJSONL(&b, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), recs
}

func TestJSONLRoundTrip(t *testing.T) {
	recs := []eventlog.Record{{
		Stream: "cal:alice/work", Revision: 3, Position: 42,
		Event: eventlog.Event{Type: "ObjectPut", SchemaVersion: 2, Data: []byte("BEGIN:VCALENDAR\r\nSUMMARY:<b>&\"é\"\r\n"),
			Meta: eventlog.Metadata{Principal: "bob", OnBehalfOf: "alice", Time: time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC),
				RequestID: "r1", UserAgent: "DAVx5", RemoteAddr: "10.0.0.1"}},
		PrevHash: [32]byte{1, 2}, Hash: [32]byte{0xff, 3},
	}, {
		Stream: "bin\x00ary", Event: eventlog.Event{Data: []byte{0xff, 0xfe, 0, 'a'}},
	}, {
		Stream: "empty",
	}}
	var b bytes.Buffer
	for _, r := range recs {
		if err := eventlog.WriteJSONL(&b, r); err != nil {
			t.Fatal(err)
		}
	}
	text := b.String()
	if n := strings.Count(text, "\n"); n != len(recs) {
		t.Fatalf("%d lines for %d records:\n%s", n, len(recs), text)
	}
	for _, want := range []string{`"data":"BEGIN:VCALENDAR\r\nSUMMARY:<b>&\"é\"\r\n","dataBase64":false`,
		`"dataBase64":true`, `"time":"2025-03-04T05:06:07.123456789Z"`, `"hash":"ff03000000`, `"remoteAddr":"10.0.0.1"`} {
		if !strings.Contains(text, want) {
			t.Errorf("export lacks %s:\n%s", want, text)
		}
	}
	jr := eventlog.NewJSONLReader(&b)
	for i, want := range recs {
		got, err := jr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, want.Data) {
			t.Errorf("record %d data %q, want %q", i, got.Data, want.Data)
		}
		got.Data, want.Data = nil, nil
		if !got.Meta.Time.Equal(want.Meta.Time) {
			t.Errorf("record %d time %v, want %v", i, got.Meta.Time, want.Meta.Time)
		}
		got.Meta.Time, want.Meta.Time = time.Time{}, time.Time{}
		if got.Stream != want.Stream || got.Revision != want.Revision || got.Position != want.Position ||
			got.Type != want.Type || got.SchemaVersion != want.SchemaVersion || got.Meta != want.Meta ||
			got.PrevHash != want.PrevHash || got.Hash != want.Hash {
			t.Errorf("record %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, err := jr.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
}

func TestJSONLReaderRefusesBadLines(t *testing.T) {
	_, recs := sampleLog(t)
	var b bytes.Buffer
	if err := eventlog.WriteJSONL(&b, recs[0]); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for _, bad := range []string{
		strings.Replace(good, `"hash":"`, `"hash":"zz`, 1),
		strings.Replace(good, `"prevHash":"00`, `"prevHash":"`, 1),
		strings.Replace(good, `"dataBase64":false`, `"dataBase64":true`, 1),
		strings.Replace(good, `"time":"`, `"time":"x`, 1),
		strings.Replace(good, `"stream"`, `"streams"`, 1),
		good[:len(good)/2],
	} {
		jr := eventlog.NewJSONLReader(strings.NewReader(good + bad))
		if _, err := jr.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := jr.Next(); err == nil || !strings.Contains(err.Error(), "record 2") {
			t.Errorf("bad line accepted or not located (%v):\n%s", err, bad)
		}
	}
}

func TestImportJSONLReplaysTheLog(t *testing.T) {
	src, recs := sampleLog(t)
	// Longer runs of one stream, so that batching is exercised.
	ctx := context.Background()
	evs := make([]eventlog.Event, 5)
	for i := range evs {
		evs[i] = eventlog.Event{Type: "U", Data: []byte{byte(i), 0xff}, Meta: eventlog.Metadata{Time: time.Unix(0, int64(i))}}
	}
	if _, err := src.Append(ctx, "b", eventlog.Any, evs); err != nil {
		t.Fatal(err)
	}
	text, recs := exportAll(t, src)

	dst := memLog(t)
	res, err := eventlog.ImportJSONL(ctx, strings.NewReader(text), dst)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != uint64(len(recs)) || res.Streams != 3 {
		t.Fatalf("import: %+v", res)
	}
	again, _ := exportAll(t, dst)
	if again != text {
		t.Fatalf("re-export differs:\n%s\nwant\n%s", again, text)
	}
	a, _ := eventlog.Verify(ctx, src, eventlog.VerifyOptions{})
	b, _ := eventlog.Verify(ctx, dst, eventlog.VerifyOptions{Heads: []eventlog.Head{a.Head}})
	if b.Problem != nil || b.Head != a.Head {
		t.Fatalf("imported head %v (%v), source %v", b.Head, b.Problem, a.Head)
	}

	// A second import into the now non-empty log is refused.
	if _, err := eventlog.ImportJSONL(ctx, strings.NewReader(text), dst); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("import into a non-empty log: %v", err)
	}
}

// A partial export (some streams) lands at other positions but with the
// same hashes, because positions are not hashed.
func TestImportJSONLOfSomeStreams(t *testing.T) {
	src, _ := sampleLog(t)
	text, _ := exportAll(t, src)
	var some strings.Builder
	for line := range strings.Lines(text) {
		if !strings.Contains(line, `"stream":"b"`) {
			some.WriteString(line)
		}
	}
	dst := memLog(t)
	res, err := eventlog.ImportJSONL(context.Background(), strings.NewReader(some.String()), dst)
	if err != nil || res.Records != 8 || res.Streams != 2 {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

func TestImportJSONLRefusesAChangedExport(t *testing.T) {
	src, _ := sampleLog(t)
	text, _ := exportAll(t, src)
	lines := strings.SplitAfter(text, "\n")
	for name, bad := range map[string]string{
		"data changed":     strings.Replace(text, `"data":"b1"`, `"data":"b9"`, 1),
		"record removed":   strings.Join(append(lines[:4:4], lines[5:]...), ""),
		"stream truncated": strings.Replace(text, lines[0], "", 1),
		"hash changed":     flipHash(lines[0]) + strings.Join(lines[1:], ""),
	} {
		dst := memLog(t)
		if _, err := eventlog.ImportJSONL(context.Background(), strings.NewReader(bad), dst); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
}

// flipHash changes the first digit of a line's hash.
func flipHash(line string) string {
	i := strings.Index(line, `"hash":"`) + len(`"hash":"`)
	d := byte('0')
	if line[i] == '0' {
		d = '1'
	}
	return line[:i] + string(d) + line[i+1:]
}

// FuzzJSONLReader: an exported log arrives from elsewhere (a bug report, an
// other machine), so any bytes either fail as a located error or give
// records that export again to the very line they were read from.
func FuzzJSONLReader(f *testing.F) {
	var b bytes.Buffer
	for _, r := range []eventlog.Record{{
		Stream: "cal:alice/work", Revision: 3, Position: 42,
		Event: eventlog.Event{Type: "ObjectPut", SchemaVersion: 2, Data: []byte("BEGIN:VCALENDAR\r\n"),
			Meta: eventlog.Metadata{Principal: "bob", OnBehalfOf: "alice", Time: time.Date(2025, 3, 4, 5, 6, 7, 1, time.UTC)}},
		PrevHash: [32]byte{1}, Hash: [32]byte{2},
	}, {Stream: "bin\x00ary", Event: eventlog.Event{Data: []byte{0xff, 0}}}} {
		if err := eventlog.WriteJSONL(&b, r); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		jr := eventlog.NewJSONLReader(bytes.NewReader(data))
		for {
			rec, err := jr.Next()
			if err != nil {
				return
			}
			var once, twice bytes.Buffer
			if err := eventlog.WriteJSONL(&once, rec); err != nil {
				t.Fatalf("a record read does not export: %v", err)
			}
			again, err := eventlog.NewJSONLReader(bytes.NewReader(once.Bytes())).Next()
			if err != nil {
				t.Fatalf("an exported record does not read back: %v\n%s", err, once.Bytes())
			}
			if err := eventlog.WriteJSONL(&twice, again); err != nil || !bytes.Equal(once.Bytes(), twice.Bytes()) {
				t.Fatalf("export → read → export changed the line (%v):\n%s%s", err, once.Bytes(), twice.Bytes())
			}
		}
	})
}
