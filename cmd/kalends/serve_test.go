package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

// logWatcher collects the server's JSON log lines so that a test can wait
// for one, e.g. to learn the address of a server listening on port 0.
type logWatcher struct {
	lines chan map[string]any
	seen  []map[string]any
}

func newLogWatcher() (*logWatcher, io.Writer) {
	pr, pw := io.Pipe()
	w := &logWatcher{lines: make(chan map[string]any, 1000)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				w.lines <- m
			}
		}
	}()
	return w, pw
}

func (w *logWatcher) wait(t *testing.T, message string) map[string]any {
	t.Helper()
	for _, m := range w.seen {
		if m["message"] == message {
			return m
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-w.lines:
			w.seen = append(w.seen, m)
			if m["message"] == message {
				return m
			}
		case <-timeout:
			t.Fatalf("no log line %q", message)
		}
	}
}

// startServer runs `kalends serve` in-process on a random port and returns
// its base URL; the server stops (and must stop cleanly) when the test ends.
func startServer(t *testing.T, dir string) (*logWatcher, string) {
	t.Helper()
	logs, w := newLogWatcher()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-format", "json"},
			cli{strings.NewReader(""), io.Discard, w, envOf(nil)})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
		if _, err := os.Stat(filepath.Join(dir, adminSocket)); !os.IsNotExist(err) {
			t.Errorf("admin socket left behind: %v", err)
		}
	})
	return logs, logs.wait(t, "serving CalDAV")["url"].(string)
}

func propfind(t *testing.T, url, user, password string) int {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", url, strings.NewReader(""))
	req.SetBasicAuth(user, password)
	req.Header.Set("Depth", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeWithUsersAddedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	logs, base := startServer(t, dir)
	if hint := logs.wait(t, "no users yet: add one with `kalends user add --data "+dir+" NAME` (the server can keep running)"); hint["level"] != "warn" {
		t.Errorf("first-start hint at level %v", hint["level"])
	}
	// The first start indexes open-ended recurrences two years ahead of now.
	logs.wait(t, "time-range index horizon advanced")

	if code, _, errOut := kalends(t, "s3cret\n", "user", "add", "alice", "--data", dir, "--password-stdin"); code != 0 {
		t.Fatalf("user add while serving: exit %d: %s", code, errOut)
	}
	if got := propfind(t, base+"calendars/alice/default/", "alice", "s3cret"); got != http.StatusMultiStatus {
		t.Fatalf("alice's default calendar: %d", got)
	}
	if got := propfind(t, base+"calendars/alice/", "alice", "wrong"); got != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", got)
	}
	if code, _, errOut := kalends(t, "", "user", "disable", "alice", "--data", dir); code != 0 {
		t.Fatalf("user disable while serving: exit %d: %s", code, errOut)
	}
	if got := propfind(t, base+"calendars/alice/", "alice", "s3cret"); got != http.StatusUnauthorized {
		t.Fatalf("disabled user: %d", got)
	}
}

// Without a server the CLI opens the data directory itself; a server started
// afterwards sees the user and its default calendar.
func TestUserCommandsWithoutServer(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := kalends(t, "pw\n", "user", "add", "bob", "--data", dir, "--password-stdin", "--display-name", "Bob"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
	if code, _, errOut := kalends(t, "pw\n", "user", "add", "bob", "--data", dir, "--password-stdin"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("duplicate user add: exit %d: %s", code, errOut)
	}
	if code, _, errOut := kalends(t, "pw2\n", "user", "passwd", "bob", "--data", dir, "--password-stdin"); code != 0 {
		t.Fatalf("user passwd: exit %d: %s", code, errOut)
	}
	if code, _, errOut := kalends(t, "pw\n", "user", "passwd", "nobody", "--data", dir, "--password-stdin"); code != 1 || !strings.Contains(errOut, "no user") {
		t.Fatalf("passwd of unknown user: exit %d: %s", code, errOut)
	}
	code, out, errOut := kalends(t, "", "user", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "bob") || !strings.Contains(out, "active") || !strings.Contains(out, "Bob") {
		t.Fatalf("user list: exit %d: %s%s", code, out, errOut)
	}

	// The CLI recorded itself as the operator in the events it wrote.
	log, err := pebblelog.Open(filepath.Join(dir, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	err = log.ReadStream(context.Background(), domain.PrincipalStream("bob"), 0, func(r eventlog.Record) error {
		events++
		m := r.Meta
		if m.Principal != eventlog.Operator || m.OnBehalfOf != "bob" || m.UserAgent != "kalends-cli" || m.RequestID == "" || m.RemoteAddr != "local" {
			t.Errorf("%s event metadata %+v", r.Type, m)
		}
		return nil
	})
	if err := errors.Join(err, log.Close()); err != nil {
		t.Fatal(err)
	}
	if events == 0 {
		t.Fatal("no events in bob's principal stream")
	}

	// The projections are derived: a server started on a directory whose
	// projections are gone rebuilds them from the log.
	if err := os.RemoveAll(filepath.Join(dir, projectionsDir)); err != nil {
		t.Fatal(err)
	}
	_, base := startServer(t, dir)
	if got := propfind(t, base+"calendars/bob/default/", "bob", "pw2"); got != http.StatusMultiStatus {
		t.Fatalf("bob's default calendar after a rebuild: %d", got)
	}
	if got := propfind(t, base+"calendars/bob/", "bob", "pw"); got != http.StatusUnauthorized {
		t.Fatalf("old password after passwd: %d", got)
	}
}
