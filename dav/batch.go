package dav

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// Writes to one calendar are decided together.
//
// Every write to a calendar appends to the calendar's one stream with the
// revision its view showed (design.md, invariant 4). Decided one by one,
// concurrent writers to the same calendar would all expect the same
// revision: one would win each fsync and the rest would re-decide, so a
// busy calendar would run at one write per fsync and an unlucky writer
// could lose every round. Instead, commands to a calendar queue up; the
// first to arrive leads: it decides every queued command in order against
// one view plus an overlay of the decisions before it in the batch, and
// appends all their events as one batch with one expectation. Each command
// still gets its own answer (a refused one adds nothing) and its own event
// metadata. A conflict now means another process wrote the stream; the
// whole batch is then decided again on newer state.

// calendarCommand is one request's decision on one calendar.
type calendarCommand struct {
	meta   eventlog.Metadata
	decide func(st *calendarState) ([]domain.Event, error)
	done   chan error
}

type calendarQueue struct {
	pending []*calendarCommand
}

// onCalendar runs decide in the calendar's next batch and returns when its
// events are durable and projected (or it was refused).
func (b *Backend) onCalendar(ctx context.Context, meta eventlog.Metadata, owner, cal string,
	decide func(st *calendarState) ([]domain.Event, error)) error {
	cmd := &calendarCommand{meta: meta, decide: decide, done: make(chan error, 1)}
	stream := domain.CalendarStream(owner, cal)
	b.queuesMu.Lock()
	q, busy := b.queues[stream]
	if !busy {
		q = &calendarQueue{}
		b.queues[stream] = q
	}
	q.pending = append(q.pending, cmd)
	b.queuesMu.Unlock()
	if !busy {
		b.lead(stream, owner, cal, q)
	}
	select {
	case err := <-cmd.done:
		return err
	case <-ctx.Done():
		// The batch may still land; like a dropped connection after a
		// write, the client learns the outcome by reading.
		return ctx.Err()
	}
}

// lead decides and appends batches until the queue is empty. It runs on
// the goroutine of the command that found the queue idle; it is not bound
// to that request's context, since other requests depend on it.
func (b *Backend) lead(stream, owner, cal string, q *calendarQueue) {
	for {
		b.queuesMu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			delete(b.queues, stream)
			b.queuesMu.Unlock()
			return
		}
		b.queuesMu.Unlock()
		b.runBatch(stream, owner, cal, batch)
	}
}

// batchTimeout bounds one batch's append and projection wait.
const batchTimeout = 30 * time.Second

func (b *Backend) runBatch(stream, owner, cal string, batch []*calendarCommand) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results := make([]error, len(batch))
	finish := func(err error, wrote []bool) {
		for i, cmd := range batch {
			if err != nil && (wrote == nil || wrote[i]) {
				cmd.done <- err
			} else {
				cmd.done <- results[i]
			}
		}
	}
	for attempt := 0; ; attempt++ {
		v := b.store.View()
		st, err := newCalendarState(v, owner, cal)
		if err != nil {
			v.Close()
			finish(err, nil)
			return
		}
		expected := calendarExpectation(st.cal, st.found)
		var events []eventlog.Event
		wrote := make([]bool, len(batch))
		for i, cmd := range batch {
			decided, err := cmd.decide(st)
			if err == nil {
				err = st.err
			}
			results[i] = err
			if err != nil {
				continue
			}
			for _, e := range decided {
				st.apply(e)
				typ, schema, data, err := domain.Encode(e)
				if err != nil {
					results[i] = fmt.Errorf("encode %s: %w", typ, err)
					break
				}
				events = append(events, eventlog.Event{Type: typ, SchemaVersion: schema, Data: data, Meta: cmd.meta})
			}
			wrote[i] = len(decided) > 0
		}
		v.Close()
		if len(events) == 0 {
			finish(nil, nil)
			return
		}
		res, err := b.log.Append(ctx, stream, expected, events)
		if errors.Is(err, eventlog.ErrConflict) && attempt+1 < maxAttempts {
			if err = b.catchUp(ctx); err == nil {
				continue
			}
		}
		if err == nil {
			err = b.store.WaitFor(ctx, res.Position)
		}
		finish(err, wrote)
		return
	}
}

// catchUp waits until the projections have applied everything the log had
// when it was called: after a conflict, the next decision sees the write
// that caused it.
func (b *Backend) catchUp(ctx context.Context) error {
	head, err := b.log.Head(ctx)
	if err != nil {
		return err
	}
	return b.store.WaitFor(ctx, head)
}

// calendarState is what a calendar command decides against: the calendar
// and its objects as of the batch's view, overlaid with the decisions made
// before it in the same batch. It implements domain.CalendarContents.
type calendarState struct {
	v     *projections.View
	owner string
	// The calendar as the view shows it; its Revision is the batch's
	// expectation, so it is never changed by the overlay.
	cal   projections.Calendar
	found bool // a record exists, live or deleted
	// live says whether the calendar exists after the batch's decisions.
	live bool
	// objects overlays the view: nil marks an object removed in the batch.
	objects map[string]*overlayObject
	// uids overlays the UID index: "" marks a UID no longer held.
	uids map[string]string
	// cleared is set when the batch deleted or re-created the calendar:
	// the view's objects are then gone.
	cleared bool
	err     error // the first read error, refusing the command that met it
}

type overlayObject struct {
	info domain.ObjectInfo
	data string
}

func newCalendarState(v *projections.View, owner, cal string) (*calendarState, error) {
	c, found, err := v.Calendar(owner, cal)
	if err != nil {
		return nil, err
	}
	if !found {
		c.Owner, c.Name, c.Stream = owner, cal, domain.CalendarStream(owner, cal)
	}
	return &calendarState{v: v, owner: owner, cal: c, found: found, live: found && !c.Deleted,
		objects: map[string]*overlayObject{}, uids: map[string]string{}}, nil
}

// info is the calendar as decisions see it.
func (st *calendarState) info() domain.CalendarInfo { return st.cal.Info() }

func (st *calendarState) Object(name string) (domain.ObjectInfo, bool) {
	o, ok := st.object(name, false)
	return o.info, ok
}

// objectWithData is Object with the stored text, for COPY and MOVE.
func (st *calendarState) objectWithData(name string) (domain.ObjectInfo, string, bool) {
	o, ok := st.object(name, true)
	return o.info, o.data, ok
}

func (st *calendarState) object(name string, withData bool) (overlayObject, bool) {
	if o, touched := st.objects[name]; touched {
		if o == nil {
			return overlayObject{}, false
		}
		return *o, true
	}
	if st.cleared || !st.live {
		return overlayObject{}, false
	}
	var o projections.Object
	var ok bool
	var err error
	if withData {
		o, ok, err = st.v.Object(st.owner, st.cal.Name, name)
	} else {
		var info domain.ObjectInfo
		info, ok = st.v.Contents(st.owner, st.cal.Name).Object(name)
		o, err = projections.Object{Name: info.Name, UID: info.UID, Component: info.Component, ETag: info.ETag}, st.v.Err()
	}
	if err != nil {
		st.err = cmp.Or(st.err, err)
		return overlayObject{}, false
	}
	return overlayObject{info: o.Info(), data: o.Data}, ok
}

func (st *calendarState) ObjectByUID(uid string) (domain.ObjectInfo, bool) {
	if name, touched := st.uids[uid]; touched {
		if name == "" {
			return domain.ObjectInfo{}, false
		}
		return st.Object(name)
	}
	if st.cleared || !st.live {
		return domain.ObjectInfo{}, false
	}
	info, ok := st.v.Contents(st.owner, st.cal.Name).ObjectByUID(uid)
	if err := st.v.Err(); err != nil {
		st.err = cmp.Or(st.err, err)
		return domain.ObjectInfo{}, false
	}
	if !ok {
		return info, false
	}
	// The view's holder may have been changed or removed earlier in the
	// batch.
	if cur, exists := st.Object(info.Name); !exists || cur.UID != uid {
		return domain.ObjectInfo{}, false
	}
	return info, true
}

// apply records a decided event so that later commands in the batch see it.
func (st *calendarState) apply(e domain.Event) {
	switch e := e.(type) {
	case *domain.ObjectPut:
		if old, ok := st.Object(e.Name); ok && old.UID != e.UID {
			st.uids[old.UID] = ""
		}
		st.objects[e.Name] = &overlayObject{
			info: domain.ObjectInfo{Name: e.Name, UID: e.UID, Component: e.Component, ETag: e.ETag},
			data: e.Data,
		}
		st.uids[e.UID] = e.Name
	case *domain.ObjectDeleted:
		if old, ok := st.Object(e.Name); ok {
			st.uids[old.UID] = ""
		}
		st.objects[e.Name] = nil
	case *domain.CalendarPropertiesChanged:
		st.cal.Props = domain.ChangeProperties(st.cal.Props, e.Set, e.Remove)
	case *domain.CalendarDeleted:
		st.live, st.cleared = false, true
		clear(st.objects)
		clear(st.uids)
	case *domain.CalendarCreated:
		st.live, st.cleared = true, true
		st.cal.Components, st.cal.Props = e.Components, e.Props
		clear(st.objects)
		clear(st.uids)
	}
}

var _ domain.CalendarContents = (*calendarState)(nil)
