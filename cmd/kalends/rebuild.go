package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

const rebuildUsage = `  kalends rebuild [--verify|--index]    rebuild the projections from the log (server stopped),
                                        or check them against a scratch rebuild (any time),
                                        or recompute only the time-range index (server stopped)
`

func init() {
	registerCommand("rebuild", operatorCommand{usage: rebuildUsage, run: runRebuild, routes: rebuildRoutes})
}

func runRebuild(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("rebuild", c)
	cfg := commandConfig(fs, []string{"data", "log-level", "log-format"})
	verify := fs.Bool("verify", false, "rebuild into a scratch store and compare it with the live projections, calendar by calendar")
	indexOnly := fs.Bool("index", false, "recompute only the time-range and free-busy index, e.g. after the time zone database changed")
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if len(rest) != 0 || *verify && *indexOnly {
		fmt.Fprintf(c.stderr, "kalends rebuild takes no arguments, and one of --verify and --index\n")
		return errUsage
	}
	logger := cfg.logger(c.stderr)
	defer rebuildGC()()

	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		defer client.close()
		if !*verify {
			return fmt.Errorf("a server is serving %s: stop it first (it holds the log and the projections); rebuild --verify works while it runs", cfg.Data)
		}
		var rep verifyReport
		if err := client.call(ctx, http.MethodPost, "/v1/rebuild-verify", nil, &rep); err != nil {
			return err
		}
		return rep.print(c.stdout)
	}

	// The log is opened first: its lock is what proves that no server is
	// starting up on this directory before anything is deleted.
	log, err := openLogOffline(cfg.Data)
	if err != nil {
		return err
	}
	defer log.Close()
	dir := filepath.Join(cfg.Data, projectionsDir)
	if *verify {
		live, err := projections.Open(dir, projections.Options{Logger: logger})
		if err != nil {
			return err
		}
		rep, err := verifyProjections(ctx, log, live, c.stderr, logger)
		if err := errors.Join(err, live.Close()); err != nil {
			return err
		}
		return rep.print(c.stdout)
	}

	if *indexOnly {
		return rebuildIndex(ctx, log, dir, c, logger)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	store, err := projections.Open(dir, projections.Options{Logger: logger, Bulk: true})
	if err != nil {
		return err
	}
	head, err := log.Head(ctx)
	if err == nil {
		err = rebuildInto(ctx, log, store, head, c.stderr, logger, "rebuild")
	}
	if err := errors.Join(err, store.Close()); err != nil {
		return fmt.Errorf("rebuild: %w (the projections are marked incomplete: run rebuild again, or serve, which starts over)", err)
	}
	fmt.Fprintf(c.stdout, "rebuilt the projections from %d events\n", head)
	return nil
}

// rebuildGC tunes the collector for a rebuild, an offline batch job whose
// live heap is mostly buffers it bounds itself (the overlay, the objects
// waiting to be indexed): collecting at 4× the live heap rather than 2×
// took about a sixth less CPU per event off rebuild --index on the 200k
// test log (TestLargeLog, which calls this too). Only the command does
// this; a server's catch-up shares its process with serving. It returns
// the function that restores the setting.
func rebuildGC() (restore func()) {
	old := debug.SetGCPercent(300)
	return func() { debug.SetGCPercent(old) }
}

// rebuildIndex recomputes the time-range index of the projections in dir
// from the log up to their checkpoint. Projections behind the log are
// fine: serve catches them up afterwards, indexing as it goes.
func rebuildIndex(ctx context.Context, log eventlog.Log, dir string, c cli, logger zerolog.Logger) error {
	store, err := projections.Open(dir, projections.Options{Logger: logger})
	if err != nil {
		return err
	}
	cp := store.Checkpoint()
	p := newProgress("rebuild --index", c.stderr, logger, 0)
	err = projections.RebuildIndex(ctx, log, store, p.update)
	took, rate := p.finish(cp)
	if err := errors.Join(err, store.Close()); err != nil {
		return fmt.Errorf("rebuild --index: %w (the index is as it was: nothing was written)", err)
	}
	logger.Info().Uint64("events", uint64(cp)).Dur("took", took).Float64("events_per_s", float64(int64(rate))).Msg("rebuild --index done")
	fmt.Fprintf(c.stdout, "rebuilt the time-range index from %d events\n", cp)
	return nil
}

// rebuildInto runs projections.Rebuild with a progress display and logs
// the rate it reached.
func rebuildInto(ctx context.Context, log eventlog.Log, store *projections.Store, upTo eventlog.Position, w io.Writer, logger zerolog.Logger, what string) error {
	p := newProgress(what, w, logger, store.Checkpoint())
	err := projections.Rebuild(ctx, log, store, upTo, p.update)
	took, rate := p.finish(store.Checkpoint())
	if err == nil {
		logger.Info().Uint64("events", uint64(upTo)).Dur("took", took).Float64("events_per_s", float64(int64(rate))).Msg(what + " done")
	}
	return err
}

// verifyReport is what rebuild --verify found; the admin route answers it
// as JSON.
type verifyReport struct {
	Checkpoint eventlog.Position `json:"checkpoint"`
	Calendars  int               `json:"calendars"`
	Divergent  []divergence      `json:"divergent,omitempty"`
}

// divergence is one group of keys whose digests differ.
type divergence struct {
	Group       string `json:"group"` // "owner/name", "principals" or "other"
	LiveKeys    int    `json:"liveKeys"`
	RebuiltKeys int    `json:"rebuiltKeys"`
	Live        string `json:"live"` // digest prefix
	Rebuilt     string `json:"rebuilt"`
}

func (r verifyReport) print(w io.Writer) error {
	if len(r.Divergent) == 0 {
		fmt.Fprintf(w, "identical (%d calendars) at position %d\n", r.Calendars, r.Checkpoint)
		return nil
	}
	for _, d := range r.Divergent {
		fmt.Fprintf(w, "DIVERGENT %s: live %d keys (%s), rebuilt %d keys (%s)\n", d.Group, d.LiveKeys, d.Live, d.RebuiltKeys, d.Rebuilt)
	}
	return fmt.Errorf("the projections diverge from a rebuild of the log at position %d in %d of %d calendars and groups", r.Checkpoint, len(r.Divergent), r.Calendars)
}

// verifyProjections rebuilds the log into a scratch store up to the live
// store's checkpoint and compares the two per calendar. It only reads the
// live store (through one snapshot), so a server may go on serving. The
// scratch store lives in the system's temporary directory ($TMPDIR), which
// needs room for a copy of the projections, and is removed afterwards.
func verifyProjections(ctx context.Context, log eventlog.Log, live *projections.Store, w io.Writer, logger zerolog.Logger) (verifyReport, error) {
	view := live.View()
	defer view.Close()
	rep := verifyReport{Checkpoint: view.Checkpoint()}
	dir, err := os.MkdirTemp("", "kalends-rebuild-verify-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	scratch, err := projections.Open(dir, projections.Options{Logger: logger, Bulk: true})
	if err != nil {
		return rep, err
	}
	defer scratch.Close()
	if err := rebuildInto(ctx, log, scratch, rep.Checkpoint, w, logger, "rebuild --verify"); err != nil {
		return rep, err
	}
	sv := scratch.View()
	defer sv.Close()
	rebuilt, err := sv.Digest()
	if err != nil {
		return rep, err
	}
	want, err := view.Digest()
	if err != nil {
		return rep, err
	}
	rep.Calendars = len(rebuilt.Calendars)
	for _, d := range want.Diff(rebuilt) {
		rep.Divergent = append(rep.Divergent, divergence{Group: d.Group,
			LiveKeys: d.Got.Keys, RebuiltKeys: d.Want.Keys, Live: d.Got.String(), Rebuilt: d.Want.String()})
	}
	return rep, nil
}

// rebuildRoutes serves POST /v1/rebuild-verify → verifyReport. Progress
// goes to the server's log.
func rebuildRoutes(mux *http.ServeMux, n *node) {
	mux.HandleFunc("POST /v1/rebuild-verify", func(w http.ResponseWriter, r *http.Request) {
		logger := n.logger.With().Str("component", "rebuild-verify").Logger()
		rep, err := verifyProjections(r.Context(), n.log, n.store, nil, logger)
		reply(w, http.StatusOK, rep, err)
	})
}
