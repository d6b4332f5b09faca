package projections

import (
	"container/list"
	"sync"

	"github.com/kalends/kalends/domain"
)

// The content caches keep what queries read of objects, keyed by ETag.
// ETags are content hashes (domain.ETagOf), so an entry is valid for any
// object with that text in any calendar, and a changed object simply
// misses. They are memory only, never written anywhere, so replay is
// unaffected.
//
// The parsed cache spares re-parsing: a calendar-query parses the
// candidates it must evaluate to match them, and again to render an
// expanded or partial calendar-data, and clients repeat the same windows;
// parsing was a third of a query's time. domain.Object is read-only after
// parsing, so concurrent queries share entries. The data cache spares the
// Pebble seek for an object's text, which costs more than the rest of
// writing it into an answer, and keeps what callers derive from the text.
type contentCache[V any, S sizing[V]] struct {
	mu      sync.Mutex
	entries map[string]*list.Element
	order   list.List // of *contentEntry[V], front: most recently used
	total   int       // what the entries cost, as S counts
}

type contentEntry[V any] struct {
	etag string
	val  V
}

// sizing is what a content cache holds at most, and what an entry costs.
type sizing[V any] interface {
	cost(V) int
	limit() int
}

type (
	parsedCache = contentCache[*domain.Object, parsedSizing]
	dataCache   = contentCache[string, dataSizing]
)

// parsedSizing counts parsed objects: one of a typical 1–2 KB event is some
// kilobytes, so 8192 of them are tens of megabytes at most.
type parsedSizing struct{}

func (parsedSizing) cost(*domain.Object) int { return 1 }
func (parsedSizing) limit() int              { return 8192 }

// dataSizing counts bytes.
type dataSizing struct{}

func (dataSizing) cost(data string) int { return len(data) }
func (dataSizing) limit() int           { return 32 << 20 }

func (c *contentCache[V, S]) get(etag string) (v V, ok bool) {
	if c == nil {
		return v, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[etag]
	if !ok {
		return v, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*contentEntry[V]).val, true
}

func (c *contentCache[V, S]) put(etag string, v V) {
	if c == nil || etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[etag]; ok {
		return
	}
	if c.entries == nil {
		c.entries = map[string]*list.Element{}
	}
	c.entries[etag] = c.order.PushFront(&contentEntry[V]{etag: etag, val: v})
	var size S
	c.total += size.cost(v)
	for c.total > size.limit() && c.order.Len() > 1 {
		oldest := c.order.Remove(c.order.Back()).(*contentEntry[V])
		delete(c.entries, oldest.etag)
		c.total -= size.cost(oldest.val)
	}
}

// fillData sets o.Data from c, or from read, keeping what it read in c.
func fillData(c *dataCache, o *Object, read func() (string, error)) error {
	if data, ok := c.get(o.ETag); ok {
		o.Data = data
		return nil
	}
	data, err := read()
	if err == nil {
		o.Data = data
		c.put(o.ETag, data)
	}
	return err
}

// Derived returns what derive makes of o's data (read with it), kept in
// the data cache under o's ETag and what, which names the derivation: for
// renderings that cost more to make again than to keep, such as
// calendar-data escaped for an XML answer. derive must depend on nothing
// but the data.
func (v *View) Derived(o Object, what string, derive func(data string) string) string {
	key := what + "\x00" + o.ETag
	if d, ok := v.data.get(key); ok {
		return d
	}
	d := derive(o.Data)
	if o.ETag != "" {
		v.data.put(key, d)
	}
	return d
}

// Parse returns o (read with its data) as a parsed domain.Object.
func (v *View) Parse(o Object) (*domain.Object, error) {
	if obj, ok := v.parsed.get(o.ETag); ok {
		return obj, nil
	}
	obj, err := domain.ParseObject([]byte(o.Data))
	if err == nil && v.parsed != nil {
		obj.Remember()
		v.parsed.put(o.ETag, obj)
	}
	return obj, err
}
