package projections

import (
	"context"
	"errors"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// SKELETON: signatures are the contract the DAV layer codes against; the
// bodies are filled in by the projections work.

var errTODO = errors.New("projections: not implemented")

// Options configure a Store.
type Options struct {
	Logger zerolog.Logger
}

// Store is the projection database and its projector.
type Store struct{}

// Open opens (or creates) the projection store in dir. A store written by an
// incompatible projection schema is wiped, so the projector rebuilds it.
func Open(dir string, opts Options) (*Store, error) { return nil, errTODO }

// Close closes the store. Run must have returned first.
func (s *Store) Close() error { return errTODO }

// Run feeds the projections from log, starting after the stored checkpoint,
// until ctx is done or an error occurs (which is returned; the projections
// are then stale and the server must stop).
func (s *Store) Run(ctx context.Context, log eventlog.Log) error { return errTODO }

// Apply applies records (in log order, starting right after the checkpoint)
// in one batch together with the new checkpoint, then wakes waiters.
func (s *Store) Apply(records []eventlog.Record) error { return errTODO }

// Checkpoint is the position of the last applied record.
func (s *Store) Checkpoint() eventlog.Position { return 0 }

// WaitFor blocks until the projections have applied pos (read-your-writes).
func (s *Store) WaitFor(ctx context.Context, pos eventlog.Position) error { return errTODO }

// View opens a consistent read snapshot. Close it when done.
func (s *Store) View() *View { return nil }

// View is a consistent snapshot of every projection.
type View struct{}

// Close releases the snapshot.
func (v *View) Close() error { return errTODO }

// Checkpoint is the log position this view reflects.
func (v *View) Checkpoint() eventlog.Position { return 0 }

// Principal looks up a principal.
func (v *View) Principal(name string) (Principal, bool, error) { return Principal{}, false, errTODO }

// Principals lists every principal in name order.
func (v *View) Principals(fn func(Principal) error) error { return errTODO }

// Calendar looks up a calendar record, deleted or not.
func (v *View) Calendar(owner, name string) (Calendar, bool, error) {
	return Calendar{}, false, errTODO
}

// Calendars lists the owner's live calendars in name order.
func (v *View) Calendars(owner string, fn func(Calendar) error) error { return errTODO }

// Object looks up a live object, with its data.
func (v *View) Object(owner, cal, name string) (Object, bool, error) { return Object{}, false, errTODO }

// ObjectByUID looks up a live object by UID, without its data.
func (v *View) ObjectByUID(owner, cal, uid string) (Object, bool, error) {
	return Object{}, false, errTODO
}

// Objects lists a calendar's live objects in name order, with or without data.
func (v *View) Objects(owner, cal string, withData bool, fn func(Object) error) error {
	return errTODO
}

// Changes lists, in revision order, every member of the calendar's current
// incarnation changed after revision `after`, each name once with its latest
// change (deleted members as tombstones). Its cost is O(changes since after),
// not O(calendar).
func (v *View) Changes(owner, cal string, after eventlog.Revision, fn func(Change) error) error {
	return errTODO
}

// Contents adapts the view to domain.CalendarContents for one calendar.
// A lookup error surfaces there as "not found" and is kept for Err, which the
// caller checks before acting on the decision.
func (v *View) Contents(owner, cal string) domain.CalendarContents { return nil }

// Err is the first read error met through Contents.
func (v *View) Err() error { return errTODO }
