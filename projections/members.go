package projections

import (
	"container/list"
	"errors"
	"sync"

	"github.com/kalends/kalends/eventlog"
)

// memberCache keeps the metadata of every live object of recently queried
// calendars in memory. A calendar-query looks up each of its candidates,
// and a lookup in Pebble is a seek costing microseconds (in a large
// memtable it chases pointers through a skiplist), several times the rest
// of an answered object's cost.
//
// A calendar's entry reflects one revision of its stream and is brought
// forward from the change index, which names every member written or
// deleted since: O(changes), like an incremental sync. It can serve a
// view at an older revision too: an object whose last write (its Revision)
// is at or before the view's revision has not changed between the view and
// the entry. Anything the entry cannot vouch for is read from Pebble. It
// is memory only and derived from the projections, so replay is unaffected.
type memberCache struct {
	mu      sync.Mutex
	cals    map[string]*calMembers
	lru     list.List // of *calMembers, front: most recently used
	objects int       // entries over all calendars
}

type calMembers struct {
	key              string
	incarnation, rev eventlog.Revision
	objs             map[string]Object // without data
	elem             *list.Element
}

// memberCacheObjects bounds the cache: an entry is a few hundred bytes, so
// this is some tens of megabytes at most. Whole calendars are evicted,
// least recently used first; a larger calendar is not cached. (A variable
// so that tests can reach the bound.)
var memberCacheObjects = 200_000

// cachedMeta returns, for each of names, its metadata as this view sees it
// when the cache can vouch for it, and a zero Object (empty Name) when it
// cannot. The calendar's entry is built or brought up to the view first.
func (v *View) cachedMeta(owner, cal string, names []string) ([]Object, error) {
	mc := v.members
	if mc == nil || len(names) == 0 {
		return nil, nil
	}
	c, found, err := v.Calendar(owner, cal)
	if err != nil || !found || c.Deleted {
		return nil, err
	}
	key := calendarMember(owner, cal)
	mc.mu.Lock()
	cm := mc.cals[key]
	mc.mu.Unlock()
	if cm == nil || cm.incarnation < c.Incarnation {
		// Listing a calendar takes milliseconds: not under the lock.
		if cm, err = v.listMembers(owner, cal, c); err != nil {
			return nil, err
		}
		mc.mu.Lock()
		mc.install(cm)
		mc.mu.Unlock()
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if cm = mc.cals[key]; cm == nil || cm.incarnation != c.Incarnation || cm.objs == nil {
		return nil, nil // evicted, of another incarnation than the view, or too large
	}
	if cm.rev < c.Revision {
		if err := v.advance(owner, cal, cm, c.Revision); err != nil {
			mc.remove(cm)
			return nil, err
		}
		if cm.objs == nil {
			return nil, nil
		}
	}
	mc.lru.MoveToFront(cm.elem)
	out := make([]Object, len(names))
	for i, name := range names {
		if o, ok := cm.objs[name]; ok && o.Revision <= c.Revision {
			out[i] = o
		}
	}
	return out, nil
}

// listMembers reads every live object's metadata of the calendar c. A
// calendar with too many to cache gets an entry without objects, so that
// its queries do not list it again and again, until it is re-created.
func (v *View) listMembers(owner, cal string, c Calendar) (*calMembers, error) {
	cm := &calMembers{key: calendarMember(owner, cal), incarnation: c.Incarnation, rev: c.Revision, objs: map[string]Object{}}
	err := v.Objects(owner, cal, false, func(o Object) error {
		if len(cm.objs) == memberCacheObjects {
			return errTooMany
		}
		cm.objs[o.Name] = o
		return nil
	})
	if errors.Is(err, errTooMany) {
		cm.objs, err = nil, nil
	}
	return cm, err
}

var errTooMany = errors.New("too many objects to cache")

// advance brings cm to revision rev, which this view has reached, from the
// change index.
func (v *View) advance(owner, cal string, cm *calMembers, rev eventlog.Revision) error {
	before := len(cm.objs)
	err := v.Changes(owner, cal, cm.rev, func(ch Change) error {
		if ch.Deleted {
			delete(cm.objs, ch.Name)
			return nil
		}
		o, found, err := v.ObjectMeta(owner, cal, ch.Name)
		if err == nil && !found {
			err = errCorrupt // the change index names a live object that is not there
		}
		cm.objs[ch.Name] = o
		return err
	})
	v.members.objects += len(cm.objs) - before
	cm.rev = rev
	if len(cm.objs) > memberCacheObjects {
		v.members.objects -= len(cm.objs)
		cm.objs = nil
	}
	return err
}

// install makes cm the calendar's entry unless a newer one is there, and
// evicts what the bound requires. mu is held.
func (mc *memberCache) install(cm *calMembers) {
	if old := mc.cals[cm.key]; old != nil {
		if old.incarnation > cm.incarnation || old.incarnation == cm.incarnation && old.rev >= cm.rev {
			return
		}
		mc.remove(old)
	}
	if mc.cals == nil {
		mc.cals = map[string]*calMembers{}
	}
	mc.cals[cm.key] = cm
	cm.elem = mc.lru.PushFront(cm)
	mc.objects += len(cm.objs)
	for mc.objects > memberCacheObjects && mc.lru.Len() > 1 {
		mc.remove(mc.lru.Back().Value.(*calMembers))
	}
}

func (mc *memberCache) remove(cm *calMembers) {
	delete(mc.cals, cm.key)
	mc.lru.Remove(cm.elem)
	mc.objects -= len(cm.objs)
}
