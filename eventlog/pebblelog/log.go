package pebblelog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/kalends/kalends/eventlog"
)

const (
	// cacheSize is Pebble's block cache: enough to keep a rebuild's recent
	// blocks and the stream index warm without dominating a small server.
	cacheSize = 64 << 20
	// maxGroup bounds one group commit so that a flood of appenders cannot
	// make the first of them wait for an unbounded batch.
	maxGroup = 1024
	// chunk is how many records a read holds the database for at a time, and
	// the most a subscription's Next returns.
	chunk = 1000
	// maxCachedHeads bounds the stream head cache. It is a copy of persisted
	// keys, so forgetting it all is always correct, just slower for a moment.
	maxCachedHeads = 100_000
)

// Options configures Open.
type Options struct {
	// FS is the filesystem Pebble uses; nil means vfs.Default. Tests pass
	// vfs.NewMem() or vfs.NewCrashableMem().
	FS vfs.FS
	// Logger receives the adapter's and Pebble's own messages (Pebble's
	// informational chatter at debug level). The zero value discards them.
	Logger zerolog.Logger
}

// Log is the embedded event log. It implements eventlog.Log and
// eventlog.MultiStreamAppender.
type Log struct {
	db  *pebble.DB
	log zerolog.Logger

	// durable is the position of the last fsynced event; reads stop there.
	durable atomic.Uint64

	// mu guards the append queue and closed.
	mu     sync.Mutex
	queue  []*request
	closed bool
	wake   chan struct{} // capacity 1: "the queue may be non-empty"

	closing chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer has returned

	// notifyMu guards notify, which is closed and replaced after each commit
	// to wake every waiting subscriber at once.
	notifyMu sync.Mutex
	notify   chan struct{}

	// readers holds the database open: reads take it shared, Close takes it
	// exclusively so that Pebble is never closed under an open iterator.
	readers  sync.RWMutex
	dbClosed bool

	// Owned by the committer goroutine (and Open, before it starts).
	heads   map[string]streamHead
	lastPos eventlog.Position
	scratch []byte
}

var (
	_ eventlog.Log                 = (*Log)(nil)
	_ eventlog.MultiStreamAppender = (*Log)(nil)
)

// request is one Append or AppendMulti waiting for the committer.
type request struct {
	ctx     context.Context
	appends []eventlog.StreamAppend
	results []eventlog.AppendResult
	err     error
	done    chan struct{}
}

// Open opens (creating if needed) the log stored in dir.
func Open(dir string, opts Options) (*Log, error) {
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                 opts.FS,
		Cache:              cache,
		Logger:             pebbleLogger{opts.Logger},
		FormatMajorVersion: pebble.FormatNewest,
	}
	if po.FS == nil {
		po.FS = vfs.Default
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblelog: open %s: %w", dir, err)
	}
	l := &Log{
		db:      db,
		log:     opts.Logger,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		notify:  make(chan struct{}),
		heads:   make(map[string]streamHead),
	}
	if l.lastPos, err = lastPosition(db); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	l.durable.Store(uint64(l.lastPos))
	l.log.Debug().Str("dir", dir).Uint64("head", uint64(l.lastPos)).Msg("eventlog opened")
	go l.commitLoop()
	return l, nil
}

func lastPosition(db *pebble.DB) (eventlog.Position, error) {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixEvent},
		UpperBound: []byte{prefixEvent + 1},
	})
	if err != nil {
		return 0, err
	}
	var pos eventlog.Position
	if it.Last() {
		if len(it.Key()) != 9 {
			err = fmt.Errorf("pebblelog: event key %x", it.Key())
		} else {
			pos = eventlog.Position(binary.BigEndian.Uint64(it.Key()[1:]))
		}
	}
	return pos, errors.Join(err, it.Close())
}

// Append implements eventlog.Log.
func (l *Log) Append(ctx context.Context, stream string, expected eventlog.ExpectedRevision, events []eventlog.Event) (eventlog.AppendResult, error) {
	res, err := l.AppendMulti(ctx, []eventlog.StreamAppend{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return eventlog.AppendResult{}, err
	}
	return res[0], nil
}

// AppendMulti implements eventlog.MultiStreamAppender. The appends are applied
// in order, so a stream named twice sees its own earlier part.
//
// Once queued, a request is always carried through to a definite outcome: if
// ctx ends while it waits for the committer it fails with ctx's error, but
// once the committer has taken it, Append waits for the commit (bounded by one
// fsync) rather than leave the caller unsure whether it was written.
func (l *Log) AppendMulti(ctx context.Context, appends []eventlog.StreamAppend) ([]eventlog.AppendResult, error) {
	if len(appends) == 0 {
		return nil, errors.New("pebblelog: append to no stream")
	}
	for _, a := range appends {
		if a.Stream == "" {
			return nil, errors.New("pebblelog: append to an empty stream name")
		}
		if len(a.Events) == 0 {
			return nil, fmt.Errorf("pebblelog: append of no events to stream %q", a.Stream)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &request{ctx: ctx, appends: appends, done: make(chan struct{})}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, eventlog.ErrClosed
	}
	l.queue = append(l.queue, r)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-r.done
	if r.err != nil {
		return nil, r.err
	}
	return r.results, nil
}

func (l *Log) commitLoop() {
	defer close(l.stopped)
	for {
		select {
		case <-l.wake:
		case <-l.closing:
			return
		}
		for {
			group := l.take()
			if len(group) == 0 {
				break
			}
			l.commit(group)
		}
	}
}

func (l *Log) take() []*request {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(len(l.queue), maxGroup)
	group := l.queue[:n:n]
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil
	}
	return group
}

// commit writes one group of requests in one synced batch.
func (l *Log) commit(group []*request) {
	b := l.db.NewBatch()
	defer b.Close()
	pending := make(map[string]streamHead) // heads as of the requests accepted so far
	pos := l.lastPos
	var accepted []*request
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := l.check(r, pending); err != nil {
			r.err = err
			continue
		}
		if err := l.stage(b, r, pending, &pos); err != nil {
			// stage only fails on a Pebble error, after it may have written
			// part of r: the batch can no longer be trusted.
			for _, a := range group {
				if a.err == nil {
					a.err = err
				}
			}
			l.finish(group)
			return
		}
		accepted = append(accepted, r)
	}
	if len(accepted) > 0 {
		if err := b.Commit(pebble.Sync); err != nil {
			err = fmt.Errorf("pebblelog: commit: %w", err)
			l.log.Error().Err(err).Int("requests", len(accepted)).Msg("eventlog commit failed")
			for _, r := range accepted {
				r.err = err
				r.results = nil
			}
			l.finish(group)
			return
		}
		if len(l.heads)+len(pending) > maxCachedHeads {
			clear(l.heads)
		}
		for s, h := range pending {
			l.heads[s] = h
		}
		l.lastPos = pos
		l.durable.Store(uint64(pos))
	}
	l.finish(group)
	if len(accepted) > 0 {
		l.notifyMu.Lock()
		close(l.notify)
		l.notify = make(chan struct{})
		l.notifyMu.Unlock()
	}
}

func (l *Log) finish(group []*request) {
	for _, r := range group {
		close(r.done)
	}
}

// head is a stream's head as the committer currently sees it.
func (l *Log) head(stream string, pending map[string]streamHead) (streamHead, error) {
	if h, ok := pending[stream]; ok {
		return h, nil
	}
	if h, ok := l.heads[stream]; ok {
		return h, nil
	}
	v, closer, err := l.db.Get(headKey(stream))
	if errors.Is(err, pebble.ErrNotFound) {
		return streamHead{}, nil
	}
	if err != nil {
		return streamHead{}, fmt.Errorf("pebblelog: read head of %q: %w", stream, err)
	}
	h, err := decodeHead(v)
	return h, errors.Join(err, closer.Close())
}

// check decides all of r's expectations without writing anything, so that a
// failing request leaves the batch untouched.
func (l *Log) check(r *request, pending map[string]streamHead) error {
	for i, a := range r.appends {
		h, err := l.head(a.Stream, pending)
		if err != nil {
			return err
		}
		// An earlier part of r naming the same stream moves its head.
		for _, prev := range r.appends[:i] {
			if prev.Stream == a.Stream {
				if h.exists {
					h.last += eventlog.Revision(len(prev.Events))
				} else {
					h = streamHead{exists: true, last: eventlog.Revision(len(prev.Events) - 1)}
				}
			}
		}
		if err := eventlog.CheckExpected(a.Stream, a.Expected, h.last, h.exists); err != nil {
			return err
		}
	}
	return nil
}

// stage writes r, already checked, into b and advances pending and pos.
func (l *Log) stage(b *pebble.Batch, r *request, pending map[string]streamHead, pos *eventlog.Position) error {
	r.results = make([]eventlog.AppendResult, len(r.appends))
	for i, a := range r.appends {
		h, err := l.head(a.Stream, pending)
		if err != nil {
			return err
		}
		rec := eventlog.Record{Stream: a.Stream, PrevHash: h.hash}
		if h.exists {
			rec.Revision = h.last + 1
		}
		r.results[i].FirstRevision = rec.Revision
		for _, ev := range a.Events {
			*pos++
			rec.Position = *pos
			rec.Event = ev
			rec.Hash = eventlog.ChainHash(rec.PrevHash, rec.Stream, rec.Revision, ev)
			l.scratch = encodeRecord(l.scratch[:0], &rec)
			if err := b.Set(eventKey(rec.Position), l.scratch, nil); err != nil {
				return err
			}
			if err := b.Set(indexKey(rec.Stream, rec.Revision), binary.BigEndian.AppendUint64(nil, uint64(rec.Position)), nil); err != nil {
				return err
			}
			h = streamHead{exists: true, last: rec.Revision, hash: rec.Hash}
			rec.PrevHash = rec.Hash
			rec.Revision++
		}
		if err := b.Set(headKey(a.Stream), encodeHead(h), nil); err != nil {
			return err
		}
		pending[a.Stream] = h
		r.results[i].LastRevision = h.last
		r.results[i].Position = *pos
	}
	return nil
}

// Head implements eventlog.Log.
func (l *Log) Head(ctx context.Context) (eventlog.Position, error) {
	if l.isClosed() {
		return 0, eventlog.ErrClosed
	}
	return eventlog.Position(l.durable.Load()), nil
}

func (l *Log) isClosed() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}

// Close implements eventlog.Log. Appends already being committed complete;
// queued ones, and every later call, fail with eventlog.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return eventlog.ErrClosed
	}
	l.closed = true
	queued := l.queue
	l.queue = nil
	l.mu.Unlock()

	close(l.closing)
	<-l.stopped
	for _, r := range queued {
		r.err = eventlog.ErrClosed
		close(r.done)
	}
	l.readers.Lock()
	defer l.readers.Unlock()
	l.dbClosed = true
	return l.db.Close()
}
