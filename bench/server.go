package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

// target is the server under test.
type target struct {
	url, user, pass string
	pid             int // the server's process if we started it as a child
	describe        string
	stop            func() error
	handler         http.Handler // the server's, when it runs in this process
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild builds cmd/kalends (unless bin is given), starts `kalends
// serve` on a free loopback port over dataDir, adds the bench user with the
// operator command while it runs, and waits until it answers.
func startChild(bin, dataDir, user, pass string) (*target, error) {
	if bin == "" {
		bin = filepath.Join(dataDir, "kalends")
		fmt.Fprintf(os.Stderr, "bench: building cmd/kalends …\n")
		build := exec.Command("go", "build", "-o", bin, "github.com/kalends/kalends/cmd/kalends")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go build: %w", err)
		}
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dataDir, "data")
	logPath := filepath.Join(dataDir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() error {
		if cmd.ProcessState != nil {
			return nil
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return errors.New("server did not stop within 30s of SIGTERM; killed")
		}
	}
	fail := func(err error) (*target, error) {
		_ = stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	url := "http://" + addr
	if err := waitUp(url, exited); err != nil {
		return fail(err)
	}
	add := exec.Command(bin, "user", "add", user, "--data", data, "--password-stdin")
	add.Stdin = strings.NewReader(pass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("kalends user add: %v: %s", err, out))
	}
	return &target{url: url, user: user, pass: pass, stop: stop, pid: cmd.Process.Pid,
		describe: fmt.Sprintf("child process `%s serve` on %s (pid %d, GOMAXPROCS %s)", filepath.Base(bin), addr, cmd.Process.Pid, envOr("GOMAXPROCS", "unset = all cores"))}, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func waitUp(url string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("server exited: %v", err)
		default:
		}
		resp, err := http.Get(url + "/.well-known/caldav")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("server did not answer within 30s")
}

// startInProcess assembles the server from its packages in this process,
// as testkit does, for profiling the server side with runtime/pprof (the
// client's goroutines carry the label role=client). It is not what the
// figures are quoted from: `kalends serve` runs the same handler, but the
// in-process server shares the Go runtime with the client.
func startInProcess(dataDir, user, pass string) (*target, error) {
	logger := zerolog.Nop()
	dir := filepath.Join(dataDir, "data")
	log, err := pebblelog.Open(filepath.Join(dir, "log"), pebblelog.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	store, err := projections.Open(filepath.Join(dir, "projections"), projections.Options{Logger: logger})
	if err != nil {
		log.Close()
		return nil, err
	}
	creds, err := auth.OpenCredentials(filepath.Join(dir, "credentials.json"))
	if err != nil {
		store.Close()
		log.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- store.Run(ctx, log) }()
	limits := domain.Limits{MaxResourceSize: 1 << 20}
	backend := dav.NewBackend(log, store, limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	handler := dav.NewHandler(dav.Config{Log: log, Store: store, Auth: auth.NewBasic(creds, store.PrincipalActive), Logger: logger, Limits: limits})
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	stop := func() error {
		err := srv.Close()
		cancel()
		err = errors.Join(err, <-done)
		store.Close()
		log.Close()
		return err
	}
	meta := eventlog.Metadata{Principal: eventlog.Operator, Time: time.Now().UTC()}
	if err := backend.CreatePrincipal(context.Background(), meta, domain.PrincipalCreated{Name: user, Email: user + "@example.com"}, "default"); err != nil {
		return nil, errors.Join(err, stop())
	}
	if err := creds.Set(user, pass); err != nil {
		return nil, errors.Join(err, stop())
	}
	return &target{url: "http://" + ln.Addr().String(), user: user, pass: pass, stop: stop, handler: handler,
		describe: "in-process server (testkit-like assembly, shares the Go runtime with the client) on " + ln.Addr().String()}, nil
}
