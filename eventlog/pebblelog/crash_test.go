package pebblelog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kalends/kalends/eventlog"
)

func evs(tag string, n int) []eventlog.Event {
	out := make([]eventlog.Event, n)
	for i := range out {
		out[i] = eventlog.Event{Type: "T", Data: fmt.Appendf(nil, "%s/%d", tag, i), Meta: eventlog.Metadata{Time: time.Unix(0, int64(i))}}
	}
	return out
}

type ack struct {
	stream string
	res    eventlog.AppendResult
	events []eventlog.Event
}

type streamRev struct {
	stream string
	rev    eventlog.Revision
}

// verify checks what every reopened log must show: positions 1..n without a
// gap, dense revisions per stream, and an intact hash chain. It returns the
// records by stream and revision.
func verify(t *testing.T, l eventlog.Log) map[streamRev]eventlog.Record {
	t.Helper()
	byKey := map[streamRev]eventlog.Record{}
	last := map[string]eventlog.Record{}
	var pos eventlog.Position
	err := l.ReadAll(context.Background(), 0, func(r eventlog.Record) error {
		pos++
		if r.Position != pos {
			return fmt.Errorf("position %d where %d was due", r.Position, pos)
		}
		prev, ok := last[r.Stream]
		switch {
		case !ok && (r.Revision != 0 || r.PrevHash != [32]byte{}):
			return fmt.Errorf("%q starts at revision %d, prev hash %x", r.Stream, r.Revision, r.PrevHash)
		case ok && (r.Revision != prev.Revision+1 || r.PrevHash != prev.Hash):
			return fmt.Errorf("%q@%d follows revision %d with a broken chain", r.Stream, r.Revision, prev.Revision)
		case r.Hash != eventlog.ChainHash(r.PrevHash, r.Stream, r.Revision, r.Event):
			return fmt.Errorf("%q@%d: hash does not match its content", r.Stream, r.Revision)
		}
		last[r.Stream] = r
		byKey[streamRev{r.Stream, r.Revision}] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := l.Head(context.Background()); err != nil || h != pos {
		t.Fatalf("Head %d, %v; the log ends at %d", h, err, pos)
	}
	return byKey
}

// TestCrash takes a crash image of the filesystem while appenders run and
// checks that every append acknowledged before it survives intact.
func TestCrash(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { crashOnce(t, seed) })
	}
}

func crashOnce(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6b616c656e6473))
	fs := vfs.NewCrashableMem()
	l := open(t, "log", fs)

	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			own, ownExp := fmt.Sprint("own", w), eventlog.NoStream
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				stream, exp := "shared", eventlog.Any
				if i%2 == 0 {
					stream, exp = own, ownExp
				}
				e := evs(fmt.Sprintf("w%d-%d", w, i), 1+i%3)
				res, err := l.Append(context.Background(), stream, exp, e)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if stream == own {
					ownExp = eventlog.Exactly(res.LastRevision)
				}
				mu.Lock()
				acks = append(acks, ack{stream, res, e})
				mu.Unlock()
			}
		})
	}
	// The crash comes after a random number of acknowledgements (not a
	// random time, which a loaded machine would stretch to nothing), at a
	// random moment of the appenders' cycle.
	target := 1 + rng.IntN(500)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= target {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("%d of %d appends acknowledged after 10s", n, target)
		}
	}
	time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	mu.Lock()
	acked := slices.Clone(acks)
	mu.Unlock()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
	close(stop)
	wg.Wait()
	before := verify(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := open(t, "log", crashed)
	defer l2.Close()
	after := verify(t, l2)
	for _, a := range acked {
		for i, e := range a.events {
			k := streamRev{a.stream, a.res.FirstRevision + eventlog.Revision(i)}
			r, ok := after[k]
			if !ok {
				t.Fatalf("acknowledged %v lost in the crash (%d of %d acks, %d records survived)", k, len(acked), len(acks), len(after))
			}
			if !bytes.Equal(r.Data, e.Data) || r.Hash != before[k].Hash {
				t.Fatalf("%v changed in the crash", k)
			}
		}
		if got := after[streamRev{a.stream, a.res.LastRevision}].Position; got != a.res.Position {
			t.Fatalf("%s@%d at position %d, acknowledged at %d", a.stream, a.res.LastRevision, got, a.res.Position)
		}
	}

	// The reopened log carries on from what survived.
	exp := eventlog.NoStream
	for k := range after {
		if k.stream == "own0" && (exp == eventlog.NoStream || eventlog.Revision(exp) < k.rev) {
			exp = eventlog.Exactly(k.rev)
		}
	}
	res, err := l2.Append(context.Background(), "own0", exp, evs("after", 1))
	if err != nil {
		t.Fatalf("append after reopening: %v", err)
	}
	if res.Position != eventlog.Position(len(after)+1) {
		t.Fatalf("first position after reopening %d, want %d", res.Position, len(after)+1)
	}
	verify(t, l2)
}

func TestReopen(t *testing.T) {
	fs := vfs.NewMem()
	l := open(t, "log", fs)
	ctx := context.Background()
	for _, s := range []string{"a", "b", "a"} {
		if _, err := l.Append(ctx, s, eventlog.Any, evs(s, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, "log", fs)
	defer l.Close()
	if h, _ := l.Head(ctx); h != 6 {
		t.Fatalf("head after reopening: %d", h)
	}
	if _, err := l.Append(ctx, "b", eventlog.NoStream, evs("b", 1)); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("NoStream on a stream written before reopening: %v", err)
	}
	res, err := l.Append(ctx, "a", eventlog.Exactly(3), evs("a2", 1))
	if err != nil || res.FirstRevision != 4 || res.Position != 7 {
		t.Fatalf("append after reopening: %+v, %v", res, err)
	}
	verify(t, l)
}
