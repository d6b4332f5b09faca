package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

func runServe(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("serve", c)
	var cfg config
	cfg.register(fs, serveSettings)
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		fmt.Fprintf(c.stderr, "kalends serve takes no arguments, got %q\n", rest)
		return errUsage
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, &cfg, cfg.logger(c.stderr))
}

// serve runs the server until ctx is done (a signal), a listener fails or
// the projector stops, then shuts down in order: stop taking requests and
// let those in flight finish, stop the projector, close the store and log.
func serve(ctx context.Context, cfg *config, logger zerolog.Logger) (err error) {
	var tlsConfig *tls.Config
	if cfg.tls() {
		// Loaded before anything else so that a bad path fails at once.
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	n, err := openNode(cfg, logger)
	if err != nil {
		return err
	}
	// The projector outlives ctx: it stops after the HTTP server has
	// drained, because requests in flight wait on it (read-your-writes).
	p := n.startProjector(context.Background())
	defer func() { err = errors.Join(err, p.stop(), n.close()) }()

	start := time.Now()
	logger.Info().Str("data", cfg.Data).Uint64("checkpoint", uint64(n.store.Checkpoint())).Msg("catching up projections with the log")
	if err := n.catchUp(ctx, p); err != nil {
		return fmt.Errorf("catch up projections: %w", err)
	}
	logger.Info().Uint64("checkpoint", uint64(n.store.Checkpoint())).Dur("took", time.Since(start)).Msg("projections up to date")
	if err := hintFirstUser(n.store, cfg, logger); err != nil {
		return err
	}

	// The horizon is advanced beside serving, since the first advance on a
	// store of many open-ended series re-indexes them all. It must stop
	// before the deferred close of the store.
	hctx, stopHorizon := context.WithCancel(ctx)
	horizonDone := make(chan struct{})
	ticker := time.NewTicker(indexHorizonCheck)
	go func() {
		defer close(horizonDone)
		n.keepIndexHorizon(hctx, time.Now, ticker.C)
	}()
	defer func() {
		stopHorizon()
		ticker.Stop()
		<-horizonDone
	}()

	addr := cfg.listenAddr()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	sockPath := filepath.Join(cfg.Data, adminSocket)
	adminLn, err := listenAdmin(sockPath)
	if err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(sockPath)

	httpLog := stdlog.New(logger.With().Str("component", "http").Logger(), "", 0)
	srv := &http.Server{
		Handler: dav.NewHandler(dav.Config{
			Log:            n.log,
			Store:          n.store,
			Auth:           auth.NewBasic(n.creds, n.active),
			Logger:         logger,
			Limits:         cfg.limits(),
			LogBodies:      cfg.LogBodies,
			TrashRetention: cfg.TrashRetention,
		}),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          httpLog,
	}
	admin := &http.Server{
		Handler:           adminHandler(&localOps{n: n, defaultCalendar: cfg.DefaultCalendar}, n, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          httpLog,
	}
	failed := make(chan error, 2)
	go func() {
		var err error
		if tlsConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	}()
	go func() {
		if err := admin.Serve(adminLn); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("admin socket: %w", err)
		}
	}()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	logger.Info().Str("url", scheme+"://"+ln.Addr().String()+"/").Str("admin_socket", sockPath).Msg("serving CalDAV")

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info().Msg("shutting down")
	case runErr = <-failed:
		logger.Error().Err(runErr).Msg("listener failed; shutting down")
	case <-p.done:
		// p.err itself is returned by the deferred p.stop.
		runErr = errors.New("the projector stopped")
		logger.Error().Err(p.err).Msg("the projector stopped, projections are stale; shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := errors.Join(srv.Shutdown(sctx), admin.Shutdown(sctx)); err != nil {
		logger.Warn().Err(err).Msg("requests still in flight were cut off")
	}
	return runErr
}

// hintFirstUser tells the operator of a fresh server how to add a user. We
// do not create one with a random password: a printed password ends up in
// log collectors, and an explicit `user add` is one command away.
func hintFirstUser(store *projections.Store, cfg *config, logger zerolog.Logger) error {
	v := store.View()
	defer v.Close()
	none := errors.New("found one")
	err := v.Principals(func(projections.Principal) error { return none })
	if errors.Is(err, none) {
		return nil
	}
	if err != nil {
		return err
	}
	cmd := "kalends user add NAME"
	if cfg.Data != "./data" {
		cmd = fmt.Sprintf("kalends user add --data %s NAME", cfg.Data)
	}
	logger.Warn().Str("command", cmd).Msg("no users yet: add one with `" + cmd + "` (the server can keep running)")
	return nil
}
