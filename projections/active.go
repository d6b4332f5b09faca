package projections

import (
	"sync"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// principalCache answers "may this principal log in?", which every
// authenticated request asks. A Pebble lookup per request cost an eighth of
// a GET's server time, while principals change rarely: answers are cached
// and the whole cache is dropped whenever an applied batch carries a
// principal event. It is memory only and derived, like everything here.
type principalCache struct {
	mu      sync.Mutex
	gen     uint64
	answers map[string]bool
}

// PrincipalActive reports whether name is a principal that is not disabled.
func (s *Store) PrincipalActive(name string) bool {
	c := &s.principals
	c.mu.Lock()
	gen := c.gen
	active, ok := c.answers[name]
	c.mu.Unlock()
	if ok {
		return active
	}
	v := s.View()
	p, found, err := v.Principal(name)
	v.Close()
	if err != nil {
		return false
	}
	active = found && !p.Disabled
	c.mu.Lock()
	if c.gen == gen { // not invalidated while we read
		if c.answers == nil {
			c.answers = map[string]bool{}
		}
		c.answers[name] = active
	}
	c.mu.Unlock()
	return active
}

// invalidateIfPrincipals drops the cache when records change principals.
// Apply calls it after its batch is visible to views.
func (c *principalCache) invalidateIfPrincipals(records []eventlog.Record) {
	for _, r := range records {
		if r.Type == domain.TypePrincipalCreated || r.Type == domain.TypePrincipalDisabled {
			c.mu.Lock()
			c.gen++
			c.answers = nil
			c.mu.Unlock()
			return
		}
	}
}
