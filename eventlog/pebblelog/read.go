package pebblelog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kalends/kalends/eventlog"
)

// withDB runs f while the database is guaranteed to stay open.
func (l *Log) withDB(f func(db *pebble.DB) error) error {
	l.readers.RLock()
	defer l.readers.RUnlock()
	if l.dbClosed {
		return eventlog.ErrClosed
	}
	return f(l.db)
}

// readEvents appends to dst up to limit records with after < Position <= upto.
// The database is held only for one chunk, never while callers' functions run.
func (l *Log) readEvents(dst []eventlog.Record, after, upto eventlog.Position, limit int) ([]eventlog.Record, error) {
	err := l.withDB(func(db *pebble.DB) error {
		it, err := db.NewIter(&pebble.IterOptions{
			LowerBound: eventKey(after + 1),
			UpperBound: eventKey(upto + 1),
		})
		if err != nil {
			return err
		}
		var d decoder
		for ok := it.First(); ok && len(dst) < limit; ok = it.Next() {
			dst = append(dst, eventlog.Record{})
			pos := eventlog.Position(binary.BigEndian.Uint64(it.Key()[1:]))
			v, err := it.ValueAndErr()
			if err == nil {
				err = d.decode(pos, v, &dst[len(dst)-1])
			}
			if err != nil {
				return errors.Join(err, it.Close())
			}
		}
		return it.Close()
	})
	return dst, err
}

// ReadAll implements eventlog.Log. It stops at the durable head as of the
// call, so a reader racing appenders still terminates.
func (l *Log) ReadAll(ctx context.Context, after eventlog.Position, fn func(eventlog.Record) error) error {
	head := eventlog.Position(l.durable.Load())
	var buf []eventlog.Record
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.isClosed() {
			return eventlog.ErrClosed
		}
		if after >= head {
			return nil
		}
		var err error
		// fn gets each record by value and no Data is shared between
		// records, so the slice itself can be reused.
		if buf, err = l.readEvents(buf[:0], after, head, chunk); err != nil {
			return err
		}
		if len(buf) == 0 {
			return fmt.Errorf("pebblelog: events %d..%d missing", after+1, head)
		}
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		after = buf[len(buf)-1].Position
	}
}

// ReadStream implements eventlog.Log.
func (l *Log) ReadStream(ctx context.Context, stream string, from eventlog.Revision, fn func(eventlog.Record) error) error {
	head := eventlog.Position(l.durable.Load())
	var buf []eventlog.Record
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.isClosed() {
			return eventlog.ErrClosed
		}
		var err error
		if buf, err = l.readStreamChunk(buf[:0], stream, from, head); err != nil {
			return err
		}
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(buf) < chunk {
			return nil
		}
		from = buf[len(buf)-1].Revision + 1
	}
}

func (l *Log) readStreamChunk(dst []eventlog.Record, stream string, from eventlog.Revision, head eventlog.Position) ([]eventlog.Record, error) {
	err := l.withDB(func(db *pebble.DB) error {
		prefix := appendStream(nil, prefixIndex, stream)
		it, err := db.NewIter(&pebble.IterOptions{
			LowerBound: binary.BigEndian.AppendUint64(prefix, uint64(from)),
			// Nine bytes: above every 8-byte revision of this stream, and no
			// other stream shares the length-prefixed prefix.
			UpperBound: append(prefix[:len(prefix):len(prefix)], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		})
		if err != nil {
			return err
		}
		var d decoder
		for ok := it.First(); ok && len(dst) < chunk; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err == nil && len(v) != 8 {
				err = fmt.Errorf("pebblelog: index entry %x", it.Key())
			}
			if err != nil {
				return errors.Join(err, it.Close())
			}
			pos := eventlog.Position(binary.BigEndian.Uint64(v))
			if pos > head {
				break
			}
			dst = append(dst, eventlog.Record{})
			if err := l.getEvent(db, &d, pos, &dst[len(dst)-1]); err != nil {
				return errors.Join(err, it.Close())
			}
		}
		return it.Close()
	})
	return dst, err
}

func (l *Log) getEvent(db *pebble.DB, d *decoder, pos eventlog.Position, r *eventlog.Record) error {
	v, closer, err := db.Get(eventKey(pos))
	if err != nil {
		return fmt.Errorf("pebblelog: event %d: %w", pos, err)
	}
	err = d.decode(pos, v, r)
	return errors.Join(err, closer.Close())
}

// Subscribe implements eventlog.Log.
func (l *Log) Subscribe(ctx context.Context, after eventlog.Position) (eventlog.Subscription, error) {
	if l.isClosed() {
		return nil, eventlog.ErrClosed
	}
	return &subscription{l: l, after: after, done: make(chan struct{})}, nil
}

type subscription struct {
	l         *Log
	after     eventlog.Position
	done      chan struct{}
	closeOnce sync.Once
}

// Next implements eventlog.Subscription. It is not safe for concurrent use
// with itself; Close may be called from any goroutine.
func (s *subscription) Next(ctx context.Context) ([]eventlog.Record, error) {
	l := s.l
	for {
		select {
		case <-s.done:
			return nil, eventlog.ErrClosed
		case <-l.closing:
			return nil, eventlog.ErrClosed
		default:
		}
		// Taken before reading the head, so that a commit landing in
		// between still wakes us.
		l.notifyMu.Lock()
		notify := l.notify
		l.notifyMu.Unlock()
		if head := eventlog.Position(l.durable.Load()); head > s.after {
			recs, err := l.readEvents(nil, s.after, head, chunk)
			if err != nil {
				return nil, err
			}
			if len(recs) == 0 {
				return nil, fmt.Errorf("pebblelog: events %d..%d missing", s.after+1, head)
			}
			s.after = recs[len(recs)-1].Position
			return recs, nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, eventlog.ErrClosed
		case <-l.closing:
			return nil, eventlog.ErrClosed
		}
	}
}

// Close implements eventlog.Subscription.
func (s *subscription) Close() error {
	err := eventlog.ErrClosed
	s.closeOnce.Do(func() {
		close(s.done)
		err = nil
	})
	return err
}
