package dav

import (
	"context"
	"errors"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// Backend executes commands the way every write in Kalends runs: read a
// consistent view, decide, append with the view's revision as the
// expectation, wait for the projections (read-your-writes). The HTTP handlers
// and the operator CLI share it.
type Backend struct {
	log    eventlog.Log
	store  *projections.Store
	limits domain.Limits
}

// NewBackend returns a Backend over a log and its projections.
func NewBackend(log eventlog.Log, store *projections.Store, limits domain.Limits) *Backend {
	return &Backend{log: log, store: store, limits: limits}
}

// CreatePrincipal creates a principal and, unless defaultCalendar is "",
// its first calendar, so that a client that never creates one has somewhere
// to write.
func (b *Backend) CreatePrincipal(ctx context.Context, meta eventlog.Metadata, p domain.PrincipalCreated, defaultCalendar string) error {
	return errors.New("TODO")
}

// DisablePrincipal stops a principal from authenticating; its data stays.
func (b *Backend) DisablePrincipal(ctx context.Context, meta eventlog.Metadata, name string) error {
	return errors.New("TODO")
}
