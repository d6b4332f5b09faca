package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The tests check behaviour, not hashing strength.
func TestMain(m *testing.M) {
	Cost = bcrypt.MinCost
	os.Exit(m.Run())
}

func openTest(t *testing.T, path string) *Credentials {
	t.Helper()
	c, err := OpenCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCredentialsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	c := openTest(t, path)
	if c.Has("alice") || c.Verify("alice", "pw") {
		t.Fatal("empty store knows alice")
	}
	if err := c.Set("alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if !c.Has("alice") || !c.Verify("alice", "s3cret") {
		t.Fatal("alice's password does not verify")
	}
	if c.Verify("alice", "wrong") || c.Verify("bob", "s3cret") {
		t.Fatal("wrong password or unknown user verified")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "s3cret") {
		t.Fatal("plain password on disk")
	}

	reopened := openTest(t, path)
	if !reopened.Verify("alice", "s3cret") {
		t.Fatal("password lost on reopen")
	}
	if err := reopened.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if reopened.Has("alice") || reopened.Verify("alice", "s3cret") {
		t.Fatal("deleted password still verifies")
	}
	if matches, _ := filepath.Glob(path + ".tmp*"); len(matches) != 0 {
		t.Fatalf("temp files left behind: %v", matches)
	}
}

func TestCredentialsRefusesUnusablePasswords(t *testing.T) {
	c := openTest(t, filepath.Join(t.TempDir(), "credentials.json"))
	if err := c.Set("alice", ""); err == nil {
		t.Error("empty password accepted")
	}
	if err := c.Set("alice", strings.Repeat("x", MaxPasswordLen+1)); err == nil {
		t.Error("password past bcrypt's 72 bytes accepted")
	}
}

// The server and the CLI are different processes sharing one file.
func TestCredentialsNoticesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	server := openTest(t, path)
	cli := openTest(t, path)
	gen := server.Generation()

	if err := cli.Set("alice", "first"); err != nil {
		t.Fatal(err)
	}
	// A miss rechecks the file at once, without waiting for the interval.
	if !server.Verify("alice", "first") {
		t.Fatal("server did not see a password set by another writer")
	}
	if server.Generation() == gen {
		t.Fatal("generation unchanged after reload")
	}

	if err := cli.Set("alice", "second"); err != nil {
		t.Fatal(err)
	}
	server.mu.Lock()
	server.checked = time.Time{} // the recheck interval has passed
	server.mu.Unlock()
	if server.Verify("alice", "first") {
		t.Fatal("old password still verifies after another writer changed it")
	}
	if !server.Verify("alice", "second") {
		t.Fatal("new password does not verify")
	}

	// Both writers keep each other's entries: every update re-reads first.
	if err := server.Set("bob", "pw"); err != nil {
		t.Fatal(err)
	}
	if !openTest(t, path).Verify("alice", "second") {
		t.Fatal("a write from a stale copy lost another writer's entry")
	}
}

func TestCredentialsKeepsLastGoodContentsOnCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	c := openTest(t, path)
	if err := c.Set("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.checked = time.Time{}
	c.mu.Unlock()
	if !c.Verify("alice", "pw") {
		t.Fatal("a corrupt file locked alice out")
	}
	if _, err := OpenCredentials(path); err == nil {
		t.Fatal("opening a corrupt file succeeded")
	}
}
