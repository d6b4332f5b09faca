package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// asOfBatch bounds how many records one Apply of an as-of replay holds, so
// that replaying a long calendar stream does not build one giant batch.
const asOfBatch = 1024

// errAfterInstant stops a stream read at the first record past the instant.
var errAfterInstant = errors.New("projections: past the instant")

// OpenAsOf builds a throwaway store holding what the given streams said at
// instant at: of each stream, every record up to the first one whose
// Meta.Time is after at, applied in log order into an in-memory Pebble. The
// projector is the live one, so an as-of view answers exactly as the live
// store would have at that instant; the caller closes the store.
//
// A stream is cut at its first later record rather than filtered, so that
// what is applied is always a gap-free prefix (the projector refuses gaps)
// even if clocks of several nodes disagreed by a little.
//
// Every stream but the last is held in memory while the last one is read as
// it goes: pass the small ones (a principal's) first and the calendar last,
// and memory stays O(batch), not O(calendar).
func OpenAsOf(ctx context.Context, log eventlog.Log, at time.Time, streams ...string) (*Store, error) {
	if len(streams) == 0 {
		return nil, errors.New("projections: as-of of no stream")
	}
	upTo := func(fn func(eventlog.Record) error) func(eventlog.Record) error {
		return func(r eventlog.Record) error {
			if r.Meta.Time.After(at) {
				return errAfterInstant
			}
			return fn(r)
		}
	}
	read := func(stream string, fn func(eventlog.Record) error) error {
		err := log.ReadStream(ctx, stream, 0, upTo(fn))
		if err != nil && !errors.Is(err, errAfterInstant) {
			return fmt.Errorf("projections: as-of read %s: %w", stream, err)
		}
		return nil
	}
	last := len(streams) - 1
	var held []eventlog.Record
	for _, st := range streams[:last] {
		if err := read(st, func(r eventlog.Record) error {
			held = append(held, r)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(held, func(a, b eventlog.Record) int {
		return cmp.Compare(a.Position, b.Position)
	})

	s, err := Open("asof", Options{Logger: zerolog.Nop(), FS: vfs.NewMem()})
	if err != nil {
		return nil, err
	}
	batch := make([]eventlog.Record, 0, asOfBatch)
	add := func(r eventlog.Record) error {
		batch = append(batch, r)
		if len(batch) < asOfBatch {
			return nil
		}
		err := s.Apply(batch)
		batch = batch[:0]
		return err
	}
	err = read(streams[last], func(r eventlog.Record) error {
		for len(held) > 0 && held[0].Position < r.Position {
			if err := add(held[0]); err != nil {
				return err
			}
			held = held[1:]
		}
		return add(r)
	})
	for _, r := range held {
		if err != nil {
			break
		}
		err = add(r)
	}
	if err == nil {
		err = s.Apply(batch)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
