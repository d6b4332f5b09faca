package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordLen is bcrypt's limit: bytes past 72 would be silently ignored,
// so a longer password is refused rather than half-checked.
const MaxPasswordLen = 72

// Cost is the bcrypt cost of hashes made from now on. bcrypt records the
// cost in each hash, so changing it never invalidates stored passwords.
// Tests of other packages lower it to keep the race detector's slowdown of
// bcrypt (about tenfold) out of their run time.
var Cost = bcrypt.DefaultCost

// recheckInterval bounds how often a reader stats the file to notice a
// change written by another process (the CLI while the server runs).
const recheckInterval = time.Second

// credentialsFile is the on-disk shape. The version lets a later format
// (another hash, per-user flags) be recognised instead of misread.
type credentialsFile struct {
	Version int               `json:"version"`
	Users   map[string]string `json:"users"`
}

// Credentials is a file of name → bcrypt hash. Several processes may use the
// same file: writers serialise on a lock file and replace the file
// atomically, readers reload it when its identity, size or mtime changes.
type Credentials struct {
	path string

	dummyOnce sync.Once
	dummy     []byte

	mu      sync.Mutex
	hashes  map[string][]byte
	stat    os.FileInfo // of the loaded file; nil when it did not exist
	checked time.Time
	gen     uint64
}

// OpenCredentials loads the store at path; a missing file is an empty store
// (it is created by the first Set).
func OpenCredentials(path string) (*Credentials, error) {
	c := &Credentials{path: path}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads the file unconditionally. Callers hold mu.
func (c *Credentials) load() error {
	c.checked = time.Now()
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		c.hashes, c.stat = map[string][]byte{}, nil
		c.gen++
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: open credentials: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("auth: stat credentials: %w", err)
	}
	var file credentialsFile
	if err := json.NewDecoder(f).Decode(&file); err != nil {
		return fmt.Errorf("auth: %s: %w", c.path, err)
	}
	if file.Version != 1 {
		return fmt.Errorf("auth: %s: unsupported version %d", c.path, file.Version)
	}
	hashes := make(map[string][]byte, len(file.Users))
	for name, h := range file.Users {
		hashes[name] = []byte(h)
	}
	c.hashes, c.stat = hashes, st
	c.gen++
	return nil
}

// changed reports whether the file on disk differs from the loaded one.
// Callers hold mu.
func (c *Credentials) changed() bool {
	st, err := os.Stat(c.path)
	if err != nil {
		return c.stat != nil || !errors.Is(err, os.ErrNotExist)
	}
	return c.stat == nil || !os.SameFile(st, c.stat) || st.Size() != c.stat.Size() || !st.ModTime().Equal(c.stat.ModTime())
}

// refresh reloads the file if it changed, statting at most once per
// recheckInterval unless force is set, and reports whether it reloaded. A
// file that fails to load keeps the previous contents: a hand-edited file
// with a typo must not lock everyone out.
func (c *Credentials) refresh(force bool) bool {
	if !force && time.Since(c.checked) < recheckInterval {
		return false
	}
	c.checked = time.Now()
	return c.changed() && c.load() == nil
}

// Generation changes whenever the loaded contents may have changed. Caches
// of verified passwords are valid only for one generation.
func (c *Credentials) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh(false)
	return c.gen
}

// Has reports whether name has a password.
func (c *Credentials) Has(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh(false)
	_, ok := c.hashes[name]
	return ok
}

// dummyHash is compared against when the user is unknown, so that an
// unknown name costs as much time as a wrong password and names cannot be
// probed by timing. It is made on first use: CLI commands never need it.
func (c *Credentials) dummyHash() []byte {
	c.dummyOnce.Do(func() {
		c.dummy, _ = bcrypt.GenerateFromPassword([]byte("kalends-no-such-user"), Cost)
	})
	return c.dummy
}

// Verify reports whether password is name's. It is slow on purpose (bcrypt);
// Basic caches its successes.
func (c *Credentials) Verify(name, password string) bool {
	if c.verify(name, password) {
		return true
	}
	// A miss may be a password just set by another process: look again now
	// rather than after the recheck interval.
	c.mu.Lock()
	reloaded := c.refresh(true)
	c.mu.Unlock()
	return reloaded && c.verify(name, password)
}

func (c *Credentials) verify(name, password string) bool {
	c.mu.Lock()
	c.refresh(false)
	hash, ok := c.hashes[name]
	c.mu.Unlock()
	if !ok || len(password) > MaxPasswordLen {
		_ = bcrypt.CompareHashAndPassword(c.dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// Set stores name's password (creating or replacing it).
func (c *Credentials) Set(name, password string) error {
	if password == "" {
		return errors.New("auth: empty password")
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("auth: password longer than %d bytes", MaxPasswordLen)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return fmt.Errorf("auth: hash password: %w", err)
	}
	return c.update(func(m map[string][]byte) error {
		m[name] = hash
		return nil
	})
}

// Delete removes name's password; deleting an unknown name is not an error.
func (c *Credentials) Delete(name string) error {
	return c.update(func(m map[string][]byte) error {
		delete(m, name)
		return nil
	})
}

// update applies fn to the freshest contents under an exclusive lock shared
// with other processes, then replaces the file atomically.
func (c *Credentials) update(fn func(map[string][]byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := lockFile(c.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.load(); err != nil {
		return err
	}
	next := make(map[string][]byte, len(c.hashes)+1)
	for k, v := range c.hashes {
		next[k] = v
	}
	if err := fn(next); err != nil {
		return err
	}
	file := credentialsFile{Version: 1, Users: make(map[string]string, len(next))}
	for k, v := range next {
		file.Users[k] = string(v)
	}
	data, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.path, append(data, '\n')); err != nil {
		return err
	}
	return c.load()
}

func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auth: lock credentials: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("auth: lock credentials: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file, never a torn one: temp file, fsync, rename, fsync of
// the directory (which makes the rename itself durable).
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("auth: write credentials: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; hashes must never be world-readable.
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("auth: write credentials: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("auth: sync credentials: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("auth: write credentials: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("auth: replace credentials: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("auth: sync credentials dir: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("auth: sync credentials dir: %w", err)
	}
	return nil
}
