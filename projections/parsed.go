package projections

import (
	"container/list"
	"sync"

	"github.com/kalends/kalends/domain"
)

// parsedCache keeps recently parsed calendar objects. A calendar-query
// parses every candidate to match it exactly and again to render an
// expanded or partial calendar-data, and clients repeat the same windows;
// parsing was a third of a query's time. Keys are ETags, which are content
// hashes (domain.ETagOf), so an entry is valid for any object with that
// text in any calendar, and a changed object simply misses. domain.Object
// is read-only after parsing, so concurrent queries share entries. It is
// memory only, never written anywhere, so replay is unaffected.
type parsedCache struct {
	mu      sync.Mutex
	entries map[string]*list.Element
	order   list.List // front: most recently used
}

type parsedEntry struct {
	etag string
	obj  *domain.Object
}

// parsedCacheSize bounds the cache: a parsed object of a typical 1–2 KB
// event is some kilobytes, so this is tens of megabytes at most.
const parsedCacheSize = 8192

// Parse returns o (read with its data) as a parsed domain.Object.
func (v *View) Parse(o Object) (*domain.Object, error) {
	c := v.parsed
	if c == nil {
		return domain.ParseObject([]byte(o.Data))
	}
	c.mu.Lock()
	if e, ok := c.entries[o.ETag]; ok {
		c.order.MoveToFront(e)
		obj := e.Value.(*parsedEntry).obj
		c.mu.Unlock()
		return obj, nil
	}
	c.mu.Unlock()
	obj, err := domain.ParseObject([]byte(o.Data))
	if err != nil || o.ETag == "" {
		return obj, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*list.Element{}
	}
	if _, ok := c.entries[o.ETag]; !ok {
		c.entries[o.ETag] = c.order.PushFront(&parsedEntry{etag: o.ETag, obj: obj})
		if c.order.Len() > parsedCacheSize {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.entries, oldest.Value.(*parsedEntry).etag)
		}
	}
	return obj, nil
}
