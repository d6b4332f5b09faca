package pebblelog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kalends/kalends/eventlog"
)

// These tests tamper with the stored bytes the way someone with write access
// to the data directory could, and show that eventlog.Verify finds every
// change and names the first bad position.

// tamperStreams are written round by round: positions 1..12 hold
// a0 b0 c0 a1 b1 c1 a2 b2 c2 a3 b3 c3, and a head is taken after each round
// (at 3, 6, 9 and 12), as a cron job running `verify --print-head` would.
var tamperStreams = []string{"cal:alice/a", "cal:bob/b", "principal:carol"}

func writeTamperLog(t *testing.T, dir string) []eventlog.Head {
	t.Helper()
	ctx := context.Background()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var heads []eventlog.Head
	for round := range 4 {
		for _, s := range tamperStreams {
			ev := eventlog.Event{Type: "ObjectPut", SchemaVersion: 1,
				Data: []byte(fmt.Sprintf("BEGIN:VCALENDAR\r\nSUMMARY:%s round %d\r\nEND:VCALENDAR\r\n", s, round)),
				Meta: eventlog.Metadata{Principal: "alice", Time: time.Date(2025, 1, 1, 0, round, 0, 0, time.UTC), UserAgent: "test"}}
			if _, err := l.Append(ctx, s, eventlog.Any, []eventlog.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := eventlog.Verify(ctx, l, eventlog.VerifyOptions{Dense: true})
		if err != nil || res.Problem != nil {
			t.Fatalf("round %d: %v %v", round, err, res.Problem)
		}
		heads = append(heads, res.Head)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return heads
}

// raw is the closed log's Pebble database, opened directly.
type raw struct {
	t  *testing.T
	db *pebble.DB
}

func openRaw(t *testing.T, dir string) *raw {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	return &raw{t, db}
}

func (r *raw) value(pos eventlog.Position) []byte {
	r.t.Helper()
	v, closer, err := r.db.Get(eventKey(pos))
	if err != nil {
		r.t.Fatalf("position %d: %v", pos, err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func (r *raw) record(pos eventlog.Position) eventlog.Record {
	r.t.Helper()
	var rec eventlog.Record
	var d decoder
	if err := d.decode(pos, r.value(pos), &rec); err != nil {
		r.t.Fatal(err)
	}
	return rec
}

// put stores rec at pos with its stream index entry, as the log would.
func (r *raw) put(pos eventlog.Position, rec eventlog.Record) {
	r.t.Helper()
	r.set(eventKey(pos), encodeRecord(nil, &rec))
	r.set(indexKey(rec.Stream, rec.Revision), binary.BigEndian.AppendUint64(nil, uint64(pos)))
}

func (r *raw) set(k, v []byte) {
	r.t.Helper()
	if err := r.db.Set(k, v, pebble.Sync); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) remove(pos eventlog.Position) {
	r.t.Helper()
	rec := r.record(pos)
	for _, k := range [][]byte{eventKey(pos), indexKey(rec.Stream, rec.Revision)} {
		if err := r.db.Delete(k, pebble.Sync); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *raw) close() {
	r.t.Helper()
	if err := r.db.Close(); err != nil {
		r.t.Fatal(err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(r *raw)
		pos    eventlog.Position
		reason eventlog.Reason
		after  eventlog.Position
	}{
		{"one byte of data", func(r *raw) {
			v := r.value(5)
			i := bytes.Index(v, []byte("round 1"))
			v[i] = 'R'
			r.set(eventKey(5), v)
		}, 5, eventlog.Modified, 0},
		{"event removed from the middle of a stream", func(r *raw) { r.remove(5) }, 5, eventlog.Removed, 0},
		{"two events of a stream swapped", func(r *raw) {
			a1, a2 := r.record(4), r.record(7)
			r.put(4, a2)
			r.put(7, a1)
		}, 4, eventlog.Reordered, 0},
		{"forged event inserted with its chain hash", func(r *raw) {
			// A new last event of stream a, chained correctly, slipped in
			// right after a3 (position 10); b3 and c3 move up one.
			a3 := r.record(10)
			forged := a3
			forged.Revision++
			forged.Data = []byte("BEGIN:VCALENDAR\r\nSUMMARY:forged\r\nEND:VCALENDAR\r\n")
			forged.PrevHash = a3.Hash
			forged.Hash = eventlog.ChainHash(forged.PrevHash, forged.Stream, forged.Revision, forged.Event)
			for pos := eventlog.Position(12); pos > 10; pos-- {
				r.put(pos+1, r.record(pos))
			}
			r.put(11, forged)
			r.set(headKey(forged.Stream), encodeHead(streamHead{exists: true, last: forged.Revision, hash: forged.Hash}))
		}, 12, eventlog.Rewritten, 9},
		{"tail truncated", func(r *raw) {
			r.remove(12)
			r.remove(11)
		}, 11, eventlog.Truncated, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			heads := writeTamperLog(t, dir)
			r := openRaw(t, dir)
			c.tamper(r)
			r.close()

			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			res, err := eventlog.Verify(context.Background(), l, eventlog.VerifyOptions{Heads: heads, Dense: true})
			if err != nil {
				t.Fatal(err)
			}
			p := res.Problem
			if p == nil || p.Position != c.pos || p.Reason != c.reason || p.After != c.after {
				t.Fatalf("got %+v, want %s at %d (after %d)", p, c.reason, c.pos, c.after)
			}
			t.Log(p)
		})
	}
}

func TestVerifyIntactStore(t *testing.T) {
	dir := t.TempDir()
	heads := writeTamperLog(t, dir)
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	res, err := eventlog.Verify(context.Background(), l, eventlog.VerifyOptions{Heads: heads, Dense: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problem != nil || res.Head != heads[len(heads)-1] || res.HeadsChecked != len(heads) || res.Records != 12 || res.Streams != 3 {
		t.Fatalf("intact store: %+v, problem %v, want head %v", res, res.Problem, heads[len(heads)-1])
	}
}
