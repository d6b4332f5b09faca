package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// fakeOps stands in for the server's node: it keeps users in memory and
// records the metadata the server would put on each change.
type fakeOps struct {
	mu        sync.Mutex
	users     map[string]*userInfo
	passwords map[string]string
	metas     []eventlog.Metadata
}

func (f *fakeOps) AddUser(ctx context.Context, u newUser) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[u.Name]; ok {
		return &domain.PreconditionError{Condition: domain.ResourceMustBeNull, Reason: "principal " + u.Name + " exists"}
	}
	f.users[u.Name] = &userInfo{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, HasPassword: true}
	f.passwords[u.Name] = u.Password
	f.metas = append(f.metas, operatorMeta(ctx, u.Name))
	return nil
}

func (f *fakeOps) SetPassword(ctx context.Context, name, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[name]; !ok {
		return refused(http.StatusNotFound, "no user %q", name)
	}
	f.passwords[name] = password
	return nil
}

func (f *fakeOps) DisableUser(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return &domain.PreconditionError{Condition: domain.NotFound, Reason: "no principal " + name}
	}
	u.Disabled, u.HasPassword = true, false
	delete(f.passwords, name)
	return nil
}

func (f *fakeOps) ListUsers(ctx context.Context) ([]userInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []userInfo
	for _, n := range []string{"alice", "bob"} {
		if u, ok := f.users[n]; ok {
			out = append(out, *u)
		}
	}
	return out, nil
}

// startAdmin serves the admin API over fake ops on <dir>/admin.sock, the
// way serve does.
func startAdmin(t *testing.T, dir string) *fakeOps {
	t.Helper()
	ops := &fakeOps{users: map[string]*userInfo{}, passwords: map[string]string{}}
	ln, err := listenAdmin(filepath.Join(dir, adminSocket))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: adminHandler(ops, nil, zerolog.Nop())}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ops
}

// kalends runs a command line in-process.
func kalends(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(context.Background(), args, cli{strings.NewReader(stdin), &out, &errOut, envOf(nil)})
	return code, out.String(), errOut.String()
}

func TestUserCommandsThroughAdminSocket(t *testing.T) {
	dir := t.TempDir()
	ops := startAdmin(t, dir)

	st, err := os.Stat(filepath.Join(dir, adminSocket))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket mode %v, want 0600", st.Mode().Perm())
	}

	code, out, errOut := kalends(t, "s3cret\n", "user", "add", "alice", "--data", dir, "--password-stdin", "--display-name", "Alice A", "--email", "alice@example.com")
	if code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "alice created") {
		t.Errorf("user add said %q", out)
	}
	if u := ops.users["alice"]; u == nil || u.DisplayName != "Alice A" || u.Email != "alice@example.com" || ops.passwords["alice"] != "s3cret" {
		t.Fatalf("server got %+v, password %q", u, ops.passwords["alice"])
	}
	meta := ops.metas[0]
	if meta.Principal != eventlog.Operator || meta.OnBehalfOf != "alice" || meta.UserAgent != "kalends-cli" || meta.RequestID == "" || meta.Time.IsZero() {
		t.Errorf("event metadata %+v", meta)
	}

	if code, _, errOut := kalends(t, "other\n", "user", "add", "alice", "--data", dir, "--password-stdin"); code != 1 || !strings.Contains(errOut, "alice exists") {
		t.Errorf("duplicate add: exit %d, %q", code, errOut)
	}
	if ops.passwords["alice"] != "s3cret" {
		t.Error("a refused add changed the password")
	}

	if code, _, errOut := kalends(t, "n3w\n", "user", "passwd", "--data", dir, "--password-stdin", "alice"); code != 0 || ops.passwords["alice"] != "n3w" {
		t.Errorf("passwd: exit %d %q, password %q", code, errOut, ops.passwords["alice"])
	}
	if code, _, errOut := kalends(t, "pw\n", "user", "passwd", "bob", "--data", dir, "--password-stdin"); code != 1 || !strings.Contains(errOut, `no user "bob"`) {
		t.Errorf("passwd of unknown user: exit %d, %q", code, errOut)
	}

	if code, _, errOut := kalends(t, "", "user", "disable", "alice", "--data", dir); code != 0 || !ops.users["alice"].Disabled {
		t.Errorf("disable: exit %d, %q", code, errOut)
	}
	if code, _, errOut := kalends(t, "", "user", "disable", "bob", "--data", dir); code != 1 || !strings.Contains(errOut, "no principal bob") {
		t.Errorf("disable unknown: exit %d, %q", code, errOut)
	}

	code, out, errOut = kalends(t, "", "user", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("list: exit %d, %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "alice") || !strings.Contains(lines[1], "disabled") || !strings.Contains(lines[1], "alice@example.com") {
		t.Errorf("list printed:\n%s", out)
	}
}

func TestAdminErrorsKeepTheirStatus(t *testing.T) {
	dir := t.TempDir()
	startAdmin(t, dir)
	client, err := dialAdmin(context.Background(), filepath.Join(dir, adminSocket))
	if err != nil {
		t.Fatal(err)
	}
	defer client.close()
	ctx := context.Background()
	if err := client.AddUser(ctx, newUser{Name: "bob", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err    error
		status int
	}{
		{client.AddUser(ctx, newUser{Name: "bob", Password: "x"}), http.StatusConflict},
		{client.DisableUser(ctx, "nobody"), http.StatusNotFound},
		{client.SetPassword(ctx, "nobody", "x"), http.StatusNotFound},
		{client.call(ctx, http.MethodPost, "/v1/users", map[string]string{"nmae": "typo"}, nil), http.StatusBadRequest},
	} {
		var oe *opError
		if !errors.As(c.err, &oe) || oe.Status != c.status {
			t.Errorf("got %v, want status %d", c.err, c.status)
		}
	}
}

func TestNoAdminSocketMeansNoServer(t *testing.T) {
	dir := t.TempDir()
	if _, err := dialAdmin(context.Background(), filepath.Join(dir, adminSocket)); err == nil {
		t.Fatal("dialled a server that does not exist")
	}
	// A socket file left behind by a crashed server does not answer either.
	if err := os.WriteFile(filepath.Join(dir, adminSocket), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dialAdmin(context.Background(), filepath.Join(dir, adminSocket)); err == nil {
		t.Fatal("a stale socket file answered")
	}
}

func TestAdminSocketPathTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := listenAdmin(filepath.Join(dir, adminSocket))
	if err == nil || !strings.Contains(err.Error(), "shorter --data") {
		t.Fatalf("got %v, want advice to shorten --data", err)
	}
}
