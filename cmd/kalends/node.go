package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

// The data directory's layout.
const (
	logDir          = "log"
	projectionsDir  = "projections"
	credentialsFile = "credentials.json"
	adminSocket     = "admin.sock"
)

// node is one process's hold on a data directory: the log, its projections,
// the credential store and the backend that writes through them. The
// embedded log allows one node per directory (Pebble locks it), which is why
// the CLI goes through the server's admin socket while one runs.
type node struct {
	log     *pebblelog.Log
	store   *projections.Store
	creds   *auth.Credentials
	backend *dav.Backend
	logger  zerolog.Logger
}

func openNode(c *config, logger zerolog.Logger) (*node, error) {
	// 0700: the directory holds password hashes and the admin socket.
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, err
	}
	log, err := pebblelog.Open(filepath.Join(c.Data, logDir), pebblelog.Options{
		Logger: logger.With().Str("component", "eventlog").Logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("open the log (is a server running on %s?): %w", c.Data, err)
	}
	store, err := projections.Open(filepath.Join(c.Data, projectionsDir), projections.Options{
		Logger: logger.With().Str("component", "projections").Logger(),
	})
	if err != nil {
		log.Close()
		return nil, err
	}
	creds, err := auth.OpenCredentials(filepath.Join(c.Data, credentialsFile))
	if err != nil {
		store.Close()
		log.Close()
		return nil, err
	}
	return &node{
		log:     log,
		store:   store,
		creds:   creds,
		backend: dav.NewBackend(log, store, c.limits()),
		logger:  logger,
	}, nil
}

// close releases the node; the projector must have stopped.
func (n *node) close() error {
	return errors.Join(n.store.Close(), n.log.Close())
}

// projector runs the projections' feed from the log in the background.
type projector struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (n *node) startProjector(ctx context.Context) *projector {
	ctx, cancel := context.WithCancel(ctx)
	p := &projector{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = n.store.Run(ctx, n.log)
	}()
	return p
}

// catchUp waits until the projections reflect everything the log held when
// it was called, so that a freshly started node (or a rebuild from an empty
// projection store) never answers from older state. It fails early if the
// projector dies meanwhile.
func (n *node) catchUp(ctx context.Context, p *projector) error {
	head, err := n.log.Head(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := n.store.WaitFor(ctx, head); err != nil {
		select {
		case <-p.done:
			if p.err != nil {
				return p.err
			}
		default:
		}
		return err
	}
	return nil
}

// stop stops the projector and returns why it had stopped, if it failed.
func (p *projector) stop() error {
	p.cancel()
	<-p.done
	return p.err
}

// indexHorizonCheck is how often a serving node asks whether the time-range
// index's horizon is due to advance. It advances monthly
// (domain.IndexHorizonStep), so an hourly check is never late by much, and
// costs one key read when nothing is due.
const indexHorizonCheck = time.Hour

// keepIndexHorizon advances the time-range index's horizon when it is due:
// at once, and then at every tick, until ctx is done or ticks is closed.
// now is the clock, which reaches the projections only through the events
// appended here. A failure is logged and retried at the next tick: until
// then, only queries far ahead are slower.
func (n *node) keepIndexHorizon(ctx context.Context, now func() time.Time, ticks <-chan time.Time) {
	for {
		meta := eventlog.Metadata{Principal: eventlog.System, Time: now().UTC(), UserAgent: "kalends"}
		through, err := n.backend.AdvanceIndexHorizon(ctx, meta)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			n.logger.Error().Err(err).Msg("could not advance the time-range index horizon")
		case !through.IsZero():
			n.logger.Info().Time("through", through).Msg("time-range index horizon advanced")
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ticks:
			if !ok {
				return
			}
		}
	}
}
