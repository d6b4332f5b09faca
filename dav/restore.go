package dav

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// Point-in-time restore (issue 4): a calendar, or one object in it, is put
// back as it was at an instant by appending ordinary events (decided in
// domain/restore.go) after a CalendarRestored marker. The log is never
// rewritten, so the state restored away from stays restorable, and clients
// pick the restore up through sync-collection like any other change.
//
// Over HTTP, for the calendar's owner only (authorize() has already run):
//
//	POST /calendars/<owner>/<cal>/?restore=<instant>[&dry-run=1]
//	POST /calendars/<owner>/<cal>/<obj>?restore=<instant>[&dry-run=1]
//
// answer 200 with a JSON RestorePlan: what changed, or with dry-run what
// would. <instant> is what domain.ParseInstant reads. Every other POST is
// 405. The operator's `kalends restore` calls Backend.Restore directly.

// RestorePlan is a restore's answer: what was (or, on a dry run, would be)
// changed to put Calendar, or Object in it, back as it was at AsOf.
type RestorePlan struct {
	Calendar string    `json:"calendar"` // owner/name
	Object   string    `json:"object,omitempty"`
	AsOf     time.Time `json:"asOf"`
	DryRun   bool      `json:"dryRun,omitempty"`
	domain.Restoration
}

// Restore puts the calendar owner/cal, or the object obj in it when obj is
// not "", back as it was at the instant to. With dryRun it appends nothing
// and only says what it would change.
func (b *Backend) Restore(ctx context.Context, meta eventlog.Metadata, owner, cal, obj string, to time.Time, dryRun bool) (RestorePlan, error) {
	plan := RestorePlan{Calendar: owner + "/" + cal, Object: obj, AsOf: to, DryRun: dryRun}
	marker := domain.CalendarRestored{AsOf: to, Object: obj}
	var err error
	plan.Restoration, err = b.restoreOn(ctx, meta, owner, cal, to, dryRun, func(h *calendarHistory) (domain.Restoration, error) {
		if obj != "" {
			return domain.DecideRestoreObject(h.current, h.asOf, marker)
		}
		return domain.DecideRestore(owner, cal, h.current, h.asOf, marker), nil
	})
	return plan, err
}

// restoreOn decides against the calendar's stream as the log holds it, read
// afresh on every attempt, and appends the decision with the stream's last
// revision as the expectation: the log, not a projection, is what a restore
// compares with, so a concurrent write makes the append conflict and the
// decision is made again on the longer stream. asOf, when not zero, is the
// instant whose state the decision needs in h.asOf.
func (b *Backend) restoreOn(ctx context.Context, meta eventlog.Metadata, owner, cal string, asOf time.Time, dryRun bool,
	decide func(h *calendarHistory) (domain.Restoration, error)) (domain.Restoration, error) {
	var res domain.Restoration
	err := b.execute(ctx, meta, func(*projections.View) ([]streamAppend, error) {
		h, err := b.readHistory(ctx, owner, cal, asOf)
		if err != nil {
			return nil, err
		}
		if h.expected == eventlog.NoStream {
			return nil, &domain.PreconditionError{Condition: domain.NotFound, Reason: "no calendar " + owner + "/" + cal}
		}
		if res, err = decide(h); err != nil || dryRun || len(res.Events) == 0 {
			return nil, err
		}
		return []streamAppend{{domain.CalendarStream(owner, cal), h.expected, res.Events}}, nil
	})
	if err != nil {
		return domain.Restoration{}, err
	}
	return res, nil
}

// calendarHistory is what restore and trash need of one calendar stream,
// gathered in one read of it.
type calendarHistory struct {
	current domain.CalendarSnapshot
	// expected is the expectation for appending after what was read.
	expected eventlog.ExpectedRevision
	// asOf is the state at the instant asked for: the longest prefix of
	// the stream whose events all happened at or before it. A prefix, not
	// every event up to then, so that it is always a state the calendar
	// really had, even where clocks put two events out of order.
	asOf domain.CalendarSnapshot
	// deletedCalendar is the calendar's last deletion, if any.
	deletedCalendar *trashedCalendar
	// deletedObjects are the names whose last version was deleted, by
	// a DELETE or with an earlier incarnation of the calendar.
	deletedObjects map[string]trashedObject
}

type trashedCalendar struct {
	before domain.CalendarSnapshot // the calendar just before the deletion
	meta   eventlog.Metadata
}

type trashedObject struct {
	last         domain.ObjectPut
	meta         eventlog.Metadata
	withCalendar bool
}

// readHistory reads and folds a calendar's stream.
func (b *Backend) readHistory(ctx context.Context, owner, cal string, asOf time.Time) (*calendarHistory, error) {
	h := &calendarHistory{expected: eventlog.NoStream, deletedObjects: map[string]trashedObject{}}
	reachedAsOf := false
	err := b.log.ReadStream(ctx, domain.CalendarStream(owner, cal), 0, func(r eventlog.Record) error {
		e, err := domain.Decode(r.Type, r.SchemaVersion, r.Data)
		if err != nil {
			return fmt.Errorf("%s revision %d: %w", r.Stream, r.Revision, err)
		}
		if !asOf.IsZero() && !reachedAsOf && r.Meta.Time.After(asOf) {
			h.asOf, reachedAsOf = h.current.Clone(), true
		}
		h.track(r.Meta, e)
		h.current.Apply(e)
		h.expected = eventlog.Exactly(r.Revision)
		return nil
	})
	if !reachedAsOf {
		h.asOf = h.current // nothing after the instant: current is final
	}
	return h, err
}

// track notes what e sends to, or takes out of, the trash; h.current is the
// state before e. Apply replaces the snapshot wholesale on a calendar's
// deletion, so the state kept here is never written into afterwards.
func (h *calendarHistory) track(meta eventlog.Metadata, e domain.Event) {
	switch e := e.(type) {
	case *domain.ObjectDeleted:
		last, ok := h.current.Objects[e.Name]
		if ok && e.MovedTo == "" {
			h.deletedObjects[e.Name] = trashedObject{last: last, meta: meta}
		} else {
			// Moved away: it lives on at its destination.
			delete(h.deletedObjects, e.Name)
		}
	case *domain.ObjectPut:
		delete(h.deletedObjects, e.Name)
	case *domain.CalendarDeleted:
		h.deletedCalendar = &trashedCalendar{before: h.current, meta: meta}
		for name, last := range h.current.Objects {
			h.deletedObjects[name] = trashedObject{last: last, meta: meta, withCalendar: true}
		}
	}
}

// restore answers POST on a calendar or an object (see the top of this
// file).
func (s *server) restore(w http.ResponseWriter, r *http.Request, t target) error {
	q := r.URL.Query()
	if (t.kind != kindCalendar && t.kind != kindObject) || !q.Has("restore") {
		w.Header().Set("Allow", allowHeader)
		return errStatus(http.StatusMethodNotAllowed, "POST restores a calendar or object: ?restore=<instant>")
	}
	to, err := domain.ParseInstant(q.Get("restore"), time.Now())
	if err != nil {
		return errStatus(http.StatusBadRequest, err.Error())
	}
	plan, err := s.backend.Restore(r.Context(), s.meta(r), t.owner, t.cal, t.obj, to, flagParam(q, "dry-run"))
	if err != nil {
		return withHrefs(err, t)
	}
	return writeJSON(w, plan)
}

// flagParam reads a boolean query parameter: present ("?dry-run" or
// "?dry-run=1") and not "0", "false" or "no".
func flagParam(q url.Values, name string) bool {
	return q.Has(name) && !slices.Contains([]string{"0", "false", "no"}, q.Get(name))
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(v)
}
