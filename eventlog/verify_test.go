package eventlog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

// recordsLog serves a fixed slice of records through ReadAll, so that tests
// can hand Verify any damage at the level of the port. Other methods are
// not needed by Verify and panic.
type recordsLog struct {
	eventlog.Log
	recs []eventlog.Record
}

func (l *recordsLog) ReadAll(ctx context.Context, after eventlog.Position, fn func(eventlog.Record) error) error {
	for _, r := range l.recs {
		if r.Position > after {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// sampleLog writes three interleaved streams through the embedded log and
// returns it with its records.
func sampleLog(t *testing.T) (*pebblelog.Log, []eventlog.Record) {
	t.Helper()
	l, err := pebblelog.Open("log", pebblelog.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx := context.Background()
	for i := range 4 {
		for _, s := range []string{"a", "b", "c"} {
			ev := eventlog.Event{Type: "T", SchemaVersion: 1, Data: []byte(fmt.Sprintf("%s%d", s, i)),
				Meta: eventlog.Metadata{Principal: "p", Time: time.Unix(1700000000+int64(i), 5).UTC()}}
			if _, err := l.Append(ctx, s, eventlog.Any, []eventlog.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var recs []eventlog.Record
	if err := l.ReadAll(ctx, 0, func(r eventlog.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return l, recs
}

func verify(t *testing.T, recs []eventlog.Record, opts eventlog.VerifyOptions) eventlog.VerifyResult {
	t.Helper()
	res, err := eventlog.Verify(context.Background(), &recordsLog{recs: recs}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// renumber gives records dense positions from 1, as a store rewritten by
// an attacker who shifted keys would.
func renumber(recs []eventlog.Record) []eventlog.Record {
	for i := range recs {
		recs[i].Position = eventlog.Position(i + 1)
	}
	return recs
}

// rehash recomputes every stream's revisions and hash chain, as an attacker
// who knows the algorithm would after changing records.
func rehash(recs []eventlog.Record) []eventlog.Record {
	last := map[string][32]byte{}
	next := map[string]eventlog.Revision{}
	for i := range recs {
		r := &recs[i]
		r.Revision = next[r.Stream]
		next[r.Stream]++
		r.PrevHash = last[r.Stream]
		r.Hash = eventlog.ChainHash(r.PrevHash, r.Stream, r.Revision, r.Event)
		last[r.Stream] = r.Hash
	}
	return recs
}

func TestVerifyIntactLog(t *testing.T) {
	l, recs := sampleLog(t)
	res, err := eventlog.Verify(context.Background(), l, eventlog.VerifyOptions{Dense: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problem != nil || res.Records != 12 || res.Streams != 3 || res.Head.Position != 12 {
		t.Fatalf("intact log: %+v problem %v", res, res.Problem)
	}
	// A head taken midway and the final head both match.
	mid := verify(t, recs[:5], eventlog.VerifyOptions{}).Head
	again, err := eventlog.Verify(context.Background(), l, eventlog.VerifyOptions{Heads: []eventlog.Head{res.Head, mid}, Dense: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Problem != nil || again.HeadsChecked != 2 || again.Head != res.Head {
		t.Fatalf("against its own heads: %+v problem %v", again, again.Problem)
	}
	// The digest depends on every record.
	if mid == res.Head || mid.Position != 5 {
		t.Fatalf("mid head %v, final %v", mid, res.Head)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	_, orig := sampleLog(t)
	head := verify(t, orig, eventlog.VerifyOptions{}).Head
	// Positions 1..12 hold a0 b0 c0 a1 b1 c1 a2 b2 c2 a3 b3 c3.
	cases := []struct {
		name   string
		tamper func([]eventlog.Record) []eventlog.Record
		dense  bool
		heads  bool
		pos    eventlog.Position
		reason eventlog.Reason
	}{
		{"modified data", func(r []eventlog.Record) []eventlog.Record { r[4].Data = []byte("x"); return r }, false, false, 5, eventlog.Modified},
		{"modified metadata", func(r []eventlog.Record) []eventlog.Record { r[6].Meta.UserAgent = "x"; return r }, false, false, 7, eventlog.Modified},
		{"removed, dense", func(r []eventlog.Record) []eventlog.Record { return slices.Delete(r, 4, 5) }, true, false, 5, eventlog.Removed},
		{"removed, sparse", func(r []eventlog.Record) []eventlog.Record { return slices.Delete(r, 4, 5) }, false, false, 8, eventlog.Removed},
		{"removed first of stream", func(r []eventlog.Record) []eventlog.Record { return slices.Delete(r, 1, 2) }, false, false, 5, eventlog.Removed},
		{"reordered in a stream", func(r []eventlog.Record) []eventlog.Record {
			r[3].Event, r[3].Revision, r[3].PrevHash, r[3].Hash, r[6].Event, r[6].Revision, r[6].PrevHash, r[6].Hash =
				r[6].Event, r[6].Revision, r[6].PrevHash, r[6].Hash, r[3].Event, r[3].Revision, r[3].PrevHash, r[3].Hash
			return r
		}, true, false, 4, eventlog.Reordered},
		{"positions out of order", func(r []eventlog.Record) []eventlog.Record { r[3], r[4] = r[4], r[3]; return r }, false, false, 4, eventlog.Reordered},
		{"inserted copy", func(r []eventlog.Record) []eventlog.Record { return renumber(slices.Insert(r, 5, r[3])) }, true, false, 6, eventlog.Inserted},
		{"rewritten record with its own hash", func(r []eventlog.Record) []eventlog.Record {
			r[3].Data = []byte("forged")
			r[3].Hash = eventlog.ChainHash(r[3].PrevHash, r[3].Stream, r[3].Revision, r[3].Event)
			return r
		}, false, false, 4, eventlog.Modified},
		{"forged insert, rehashed", func(r []eventlog.Record) []eventlog.Record {
			f := r[9] // a3 becomes a forged a3 and the real one a4
			f.Data = []byte("forged")
			return rehash(renumber(slices.Insert(r, 9, f)))
		}, true, true, 12, eventlog.Rewritten},
		{"swap across streams", func(r []eventlog.Record) []eventlog.Record { r[0], r[1] = r[1], r[0]; return renumber(r) }, true, true, 12, eventlog.Rewritten},
		{"whole stream removed", func(r []eventlog.Record) []eventlog.Record {
			return renumber(slices.DeleteFunc(r, func(x eventlog.Record) bool { return x.Stream == "b" }))
		}, true, true, 9, eventlog.Truncated},
		{"last of a stream removed", func(r []eventlog.Record) []eventlog.Record { return renumber(slices.Delete(r, 9, 10)) }, true, true, 12, eventlog.Truncated},
		{"truncated tail", func(r []eventlog.Record) []eventlog.Record { return r[:10] }, true, true, 11, eventlog.Truncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := c.tamper(slices.Clone(orig))
			opts := eventlog.VerifyOptions{Dense: c.dense}
			if !c.heads {
				// Chain damage is found without a head.
				res := verify(t, slices.Clone(recs), opts)
				if res.Problem == nil || res.Problem.Position != c.pos || res.Problem.Reason != c.reason {
					t.Fatalf("without head: got %v, want %s at %d", res.Problem, c.reason, c.pos)
				}
			} else if res := verify(t, slices.Clone(recs), opts); res.Problem != nil {
				t.Fatalf("chains should hold after %s: %v", c.name, res.Problem)
			}
			opts.Heads = []eventlog.Head{head}
			res := verify(t, recs, opts)
			if res.Problem == nil || res.Problem.Position != c.pos || res.Problem.Reason != c.reason {
				t.Fatalf("with head: got %v, want %s at %d", res.Problem, c.reason, c.pos)
			}
		})
	}
}

// Heads kept over time narrow a rewrite down to the span between the last
// head that still matches and the first that does not.
func TestVerifyHeadsLocateRewrite(t *testing.T) {
	_, orig := sampleLog(t)
	var heads []eventlog.Head
	for _, n := range []int{3, 6, 9, 12} {
		heads = append(heads, verify(t, orig[:n], eventlog.VerifyOptions{}).Head)
	}
	recs := slices.Clone(orig)
	recs[7].Data = []byte("forged") // b2 at position 8
	rehash(recs)
	res := verify(t, recs, eventlog.VerifyOptions{Heads: heads, Dense: true})
	p := res.Problem
	if p == nil || p.Reason != eventlog.Rewritten || p.Position != 9 || p.After != 6 || res.HeadsChecked != 4 {
		t.Fatalf("got %+v (checked %d), want rewritten in (6, 9]", p, res.HeadsChecked)
	}
	if !strings.Contains(p.Error(), "rewritten at position 9") {
		t.Fatalf("message %q", p.Error())
	}
}

func TestHeadText(t *testing.T) {
	_, recs := sampleLog(t)
	h := verify(t, recs, eventlog.VerifyOptions{}).Head
	got, err := eventlog.ParseHead(" " + h.String() + "\n")
	if err != nil || got != h {
		t.Fatalf("round trip of %v: %v, %v", h, got, err)
	}
	for _, bad := range []string{"", "12", "x:00", "12:abc", "12:" + strings.Repeat("0", 62)} {
		if _, err := eventlog.ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
	heads, err := eventlog.ReadHeads(strings.NewReader("# taken by cron\n\n0:" + strings.Repeat("0", 64) + "\n" + h.String() + "\n"))
	if err != nil || len(heads) != 2 || heads[1] != h {
		t.Fatalf("ReadHeads: %v, %v", heads, err)
	}
	if _, err := eventlog.ReadHeads(strings.NewReader("1:00\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("ReadHeads of a bad line: %v", err)
	}
}
