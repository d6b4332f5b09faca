package domain

import (
	"sync"
	"time"

	ical "github.com/emersion/go-ical"
)

// An object that many queries evaluate (one kept in a cache of parsed
// objects) remembers its instances: expanding a recurrence again for every
// window costs tens of microseconds, and with the rest of a query answered
// from indexes and caches that was most of what was left.
//
// A memo holds, for one floating zone, every instance that overlaps
// (-inf, until), in the order expand visits them; until lies memoAhead past
// the end of the window that made it. A window that ends by until is
// answered from it exactly: RFC 4791 §9.9's tests only grow with the
// window, so every instance overlapping it is in the memo, and expand
// visits the instances of a smaller window in the same relative order. Nor
// can the memo hide a refusal: expand examines a subset of the memo's
// candidates for a smaller window, no more than memoLimit, so a query whose
// own limit is at least memoLimit would not have been refused either.
// Anything else is expanded as before.
type objectMemo struct {
	mu         sync.Mutex
	memos      []instanceMemo
	renderings map[*ical.Component]*rendering
}

type instanceMemo struct {
	floating *Zone
	until    time.Time
	ins      []Instance // nil when the object has more than memoLimit to examine
}

const (
	// memoLimit bounds what one memo may hold (~100 bytes an instance).
	memoLimit = 500
	// memoAhead is how far past the window that made it a memo reaches.
	memoAhead = 2 * 366 * 24 * time.Hour
	// memoZones bounds the floating zones remembered per object.
	memoZones = 4
)

// Remember makes o keep its instances once expanded, and the rendering of
// the components they come from, for objects shared by many queries. Call
// it before o is shared.
func (o *Object) Remember() {
	o.memo = &objectMemo{}
}

// rendering is c's rendering, remembered if o remembers.
func (o *Object) rendering(c *ical.Component) *rendering {
	m := o.memo
	if m == nil {
		return render(c)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.renderings[c]
	if r == nil {
		if m.renderings == nil {
			m.renderings = map[*ical.Component]*rendering{}
		}
		r = render(c)
		m.renderings[c] = r
	}
	return r
}

// instances returns the memo for c's floating zone if it can answer tr
// under lim, making it first if there is none.
func (m *objectMemo) instances(o *Object, c timeCtx, tr TimeRange, lim ExpandLimits) ([]Instance, bool) {
	if m == nil || lim.max() < memoLimit {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.memos {
		if e.floating.loc == c.floating.loc && e.floating.vtz == c.floating.vtz {
			return e.ins, e.ins != nil && covers(e.until, tr)
		}
	}
	if tr.End.IsZero() {
		return nil, false
	}
	e := instanceMemo{floating: c.floating, until: tr.End.Add(memoAhead)}
	ins := []Instance{}
	err := o.expand(c, TimeRange{End: e.until}, ExpandLimits{MaxInstances: memoLimit}, func(in Instance) bool {
		ins = append(ins, in)
		return false
	})
	if err == nil {
		e.ins = ins
	}
	if len(m.memos) < memoZones {
		m.memos = append(m.memos, e)
	}
	return e.ins, e.ins != nil && covers(e.until, tr)
}

// covers reports whether a memo of the instances overlapping (-inf, until)
// holds every instance overlapping tr.
func covers(until time.Time, tr TimeRange) bool {
	return !tr.End.IsZero() && !tr.End.After(until)
}
