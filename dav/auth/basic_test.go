package auth

import (
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// countingVerifier is a Verifier whose cost is visible: every call that a
// cache hit should have saved shows up in calls.
type countingVerifier struct {
	passwords map[string]string
	gen       uint64
	calls     atomic.Int64
}

func (v *countingVerifier) Verify(name, password string) bool {
	v.calls.Add(1)
	pw, ok := v.passwords[name]
	return ok && pw == password
}

func (v *countingVerifier) Generation() uint64 { return v.gen }

func authWith(t *testing.T, b *Basic, header string) (string, bool) {
	t.Helper()
	r := httptest.NewRequest("PROPFIND", "/", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	name, ok, err := b.Authenticate(r)
	if err != nil {
		t.Fatalf("Authenticate(%q): %v", header, err)
	}
	return name, ok
}

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuthenticates(t *testing.T) {
	v := &countingVerifier{passwords: map[string]string{"alice": "pw", "carol": "pw"}}
	b := NewBasic(v, func(name string) bool { return name != "carol" })

	if name, ok := authWith(t, b, basicHeader("alice", "pw")); !ok || name != "alice" {
		t.Fatalf("good password: got %q, %v", name, ok)
	}
	for _, tc := range []struct{ what, header string }{
		{"bad password", basicHeader("alice", "nope")},
		{"unknown user", basicHeader("bob", "pw")},
		{"inactive user", basicHeader("carol", "pw")},
		{"no header", ""},
		{"other scheme", "Bearer abc"},
		{"not base64", "Basic !!!"},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alicepw"))},
		{"empty name", basicHeader("", "pw")},
		{"empty password", basicHeader("alice", "")},
		{"scheme only", "Basic"},
	} {
		if name, ok := authWith(t, b, tc.header); ok {
			t.Errorf("%s: authenticated as %q", tc.what, name)
		}
	}
	if got := b.Challenge(); got != `Basic realm="Kalends", charset="UTF-8"` {
		t.Errorf("challenge %q", got)
	}
}

func TestBasicCachesVerifiedPasswords(t *testing.T) {
	v := &countingVerifier{passwords: map[string]string{"alice": "pw"}}
	active := true
	b := NewBasic(v, func(string) bool { return active })
	now := time.Unix(1_700_000_000, 0)
	b.now = func() time.Time { return now }

	for range 5 {
		if _, ok := authWith(t, b, basicHeader("alice", "pw")); !ok {
			t.Fatal("good password refused")
		}
	}
	if v.calls.Load() != 1 {
		t.Fatalf("verifier called %d times for 5 requests, want 1", v.calls.Load())
	}

	// A wrong password never matches the cached entry, and does not evict it.
	if _, ok := authWith(t, b, basicHeader("alice", "pwx")); ok {
		t.Fatal("wrong password accepted from cache")
	}
	if _, ok := authWith(t, b, basicHeader("alice", "pw")); !ok || v.calls.Load() != 2 {
		t.Fatalf("after a wrong attempt: ok=%v calls=%d, want the cached entry to hold", ok, v.calls.Load())
	}

	// Disabling takes effect at once, cache or not.
	active = false
	if _, ok := authWith(t, b, basicHeader("alice", "pw")); ok {
		t.Fatal("inactive principal authenticated from cache")
	}
	active = true

	// A changed store drops what was cached.
	v.passwords["alice"] = "new"
	v.gen++
	if _, ok := authWith(t, b, basicHeader("alice", "pw")); ok {
		t.Fatal("old password accepted after the store changed")
	}
	if _, ok := authWith(t, b, basicHeader("alice", "new")); !ok {
		t.Fatal("new password refused")
	}
	calls := v.calls.Load()
	now = now.Add(cacheTTL + time.Second)
	if _, ok := authWith(t, b, basicHeader("alice", "new")); !ok || v.calls.Load() != calls+1 {
		t.Fatalf("expired entry: ok=%v, verifier calls %d → %d, want one more", ok, calls, v.calls.Load())
	}
}

func TestBasicOverCredentialsPasswordChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	server := openTest(t, path)
	cli := openTest(t, path)
	if err := cli.Set("alice", "old"); err != nil {
		t.Fatal(err)
	}
	b := NewBasic(server, nil)
	if _, ok := authWith(t, b, basicHeader("alice", "old")); !ok {
		t.Fatal("password set by another writer refused")
	}
	if err := cli.Set("alice", "new"); err != nil {
		t.Fatal(err)
	}
	server.mu.Lock()
	server.checked = time.Time{}
	server.mu.Unlock()
	if _, ok := authWith(t, b, basicHeader("alice", "old")); ok {
		t.Fatal("cached old password survived a password change")
	}
	if _, ok := authWith(t, b, basicHeader("alice", "new")); !ok {
		t.Fatal("new password refused")
	}
}

// BenchmarkBasicCached is the per-request cost of authenticating a client
// whose password was verified before: it must stay far below the budget of
// a PUT (the server aims at thousands per second).
func BenchmarkBasicCached(b *testing.B) {
	v := &countingVerifier{passwords: map[string]string{"alice": "pw"}}
	auth := NewBasic(v, func(string) bool { return true })
	r := httptest.NewRequest("PUT", "/calendars/alice/default/x.ics", nil)
	r.Header.Set("Authorization", basicHeader("alice", "pw"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, _ := auth.Authenticate(r); !ok {
				b.Fatal("refused")
			}
		}
	})
}
