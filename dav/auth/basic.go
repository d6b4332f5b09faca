package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"sync"
	"time"
)

// Verifier checks passwords. *Credentials is the real one.
type Verifier interface {
	// Verify reports whether password is name's.
	Verify(name, password string) bool
	// Generation changes whenever the stored passwords may have changed.
	Generation() uint64
}

// Cache bounds. A verified password is remembered for cacheTTL so that a
// client's every request does not pay for bcrypt (~50 ms each, against a
// target of thousands of requests per second); the bound on entries keeps a
// flood of distinct names from growing memory.
const (
	cacheTTL        = 5 * time.Minute
	cacheMaxEntries = 10000
)

var _ Authenticator = (*Basic)(nil)

// Basic is HTTP Basic authentication (RFC 7617) against a Verifier.
type Basic struct {
	verifier Verifier
	active   func(name string) bool
	now      func() time.Time

	// key makes cached MACs worthless outside this process: the cache never
	// holds a password, nor an unkeyed hash that could be brute-forced.
	key   []byte
	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	mac     [sha256.Size]byte
	gen     uint64
	expires time.Time
}

// NewBasic returns a Basic authenticator. active, if not nil, is asked after
// the password is verified (also for a cached one, so disabling a principal
// takes effect at once): the server passes "the principal exists and is not
// disabled".
func NewBasic(v Verifier, active func(name string) bool) *Basic {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return &Basic{verifier: v, active: active, now: time.Now, key: key, cache: map[string]cacheEntry{}}
}

// Challenge names the realm and announces UTF-8 so that clients send
// non-ASCII passwords in a known encoding.
func (b *Basic) Challenge() string { return `Basic realm="Kalends", charset="UTF-8"` }

// Authenticate implements Authenticator.
func (b *Basic) Authenticate(r *http.Request) (string, bool, error) {
	name, password, ok := r.BasicAuth()
	if !ok || name == "" || password == "" {
		return "", false, nil
	}
	if !b.verified(name, password) {
		return "", false, nil
	}
	if b.active != nil && !b.active(name) {
		return "", false, nil
	}
	return name, true, nil
}

func (b *Basic) verified(name, password string) bool {
	gen := b.verifier.Generation()
	mac := b.mac(name, password)
	now := b.now()

	b.mu.Lock()
	e, hit := b.cache[name]
	b.mu.Unlock()
	if hit && e.gen == gen && now.Before(e.expires) && hmac.Equal(e.mac[:], mac[:]) {
		return true
	}
	if !b.verifier.Verify(name, password) {
		return false
	}
	// gen was read before verifying: if the store changed meanwhile the entry
	// is already stale and the next request verifies again.
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cache) >= cacheMaxEntries {
		for k, old := range b.cache {
			if !now.Before(old.expires) || old.gen != gen {
				delete(b.cache, k)
			}
		}
		if len(b.cache) >= cacheMaxEntries {
			clear(b.cache)
		}
	}
	b.cache[name] = cacheEntry{mac: mac, gen: gen, expires: now.Add(cacheTTL)}
	return true
}

// mac length-prefixes the name so that ("ab","c") and ("a","bc") differ.
func (b *Basic) mac(name, password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, b.key)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(name)))
	h.Write(n[:])
	h.Write([]byte(name))
	h.Write([]byte(password))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
