package dav

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// As-of views (issue 4) show a calendar read-only as it was at an instant,
// under a prefix that a CalDAV client can mount like any calendar:
//
//	/asof/<instant>/calendars/<owner>/<calendar>/        the calendar then
//	/asof/<instant>/calendars/<owner>/<calendar>/<obj>   one of its objects then
//
// <instant> is UTC in iCalendar's basic form (20261120T100000Z) or RFC 3339
// with any offset and fraction (2026-11-20T11:00:00.25+01:00). The view holds
// every change whose event time is at or before the instant. PROPFIND,
// GET/HEAD and the REPORTs (calendar-multiget, calendar-query,
// free-busy-query, sync-collection) are the live handlers reading the view
// instead of the live projections, so they answer exactly as the live
// calendar did; every href in an answer stays under the same /asof/ prefix.
// Any write is refused with 403 DAV:need-privileges (the view grants only
// read, and current-user-privilege-set says so). Only the owner may look,
// as on the live calendar. A calendar that did not exist at the instant is
// 404.
//
// The view is built by replaying the owner's principal stream and the
// calendar's stream up to the instant into a throwaway in-memory store
// (projections.OpenAsOf), and kept for a minute, keyed by calendar, instant
// and the calendar's current revision, so that a client's PROPFIND and
// multiget burst replays once and a later write is never hidden.
const asOfPrefix = "/asof/"

// asOfView is the instant a target is read at.
type asOfView struct {
	seg     string // the instant's path segment as the request wrote it
	instant time.Time
	store   *projections.Store // nil for an href read from a request body
}

func (v *asOfView) prefix() string { return asOfPrefix + v.seg }

// sameInstant reports whether two targets' trees are the same: both live,
// or both as of the same instant however it was written.
func (v *asOfView) sameInstant(o *asOfView) bool {
	if v == nil || o == nil {
		return v == o
	}
	return v.instant.Equal(o.instant)
}

// parseInstant reads an instant in the forms the URL accepts.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse("20060102T150405Z", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// parseAsOfTarget parses an escaped /asof/<instant>/... path; only
// calendars and their objects have as-of views.
func parseAsOfTarget(escaped string) (target, bool) {
	seg, path, ok := strings.Cut(strings.TrimPrefix(escaped, asOfPrefix), "/")
	if !ok {
		return target{}, false
	}
	text, err := url.PathUnescape(seg)
	if err != nil {
		return target{}, false
	}
	at, err := parseInstant(text)
	if err != nil {
		return target{}, false
	}
	t, ok := parseEscapedTarget("/" + path)
	if !ok || (t.kind != kindCalendar && t.kind != kindObject) {
		return target{}, false
	}
	t.at = &asOfView{seg: seg, instant: at}
	return t, true
}

// readOnly refuses a write to a view of the past (as-of, history): the
// principal lacks DAV:write there, whoever it is (RFC 3744 §7.1.1).
func readOnly(href string) error {
	e := errCondition(http.StatusForbidden, nsDAV, "need-privileges", "a view of the past is read-only")
	e.inner = "<D:resource>" + hrefXML(href) + "<D:privilege><D:write/></D:privilege></D:resource>"
	return e
}

// readOnlyAllow is the Allow header of the views of the past.
const readOnlyAllow = "OPTIONS, GET, HEAD, PROPFIND, REPORT"

// isWrite reports whether method changes something on a live resource.
func isWrite(method string) bool {
	switch method {
	case http.MethodPut, http.MethodDelete, http.MethodPost, "PROPPATCH", "MKCALENDAR", "MKCOL", "MOVE", "COPY":
		return true
	}
	return false
}

func (s *server) serveAsOf(w http.ResponseWriter, r *http.Request, rest string) error {
	t, ok := parseAsOfTarget(asOfPrefix + rest)
	if !ok {
		return errNotFound
	}
	if err := authorize(t, info(r).principal, r.Method); err != nil {
		return err
	}
	if isWrite(r.Method) {
		return readOnly(t.href())
	}
	var serve func(http.ResponseWriter, *http.Request, target) error
	switch r.Method {
	case "PROPFIND":
		serve = s.propfind
	case "REPORT":
		serve = s.report
	case http.MethodGet, http.MethodHead:
		serve = s.get
	default:
		w.Header().Set("Allow", readOnlyAllow)
		return errMethodNotFound
	}
	store, release, err := s.asOfStore(r.Context(), t.owner, t.cal, t.at.instant)
	if err != nil {
		return err
	}
	defer release()
	t.at.store = store
	return serve(w, r, t)
}

// asOfStore returns the replayed store of a calendar at an instant, from
// the cache or built now; release it when the request is done.
func (s *server) asOfStore(ctx context.Context, owner, cal string, at time.Time) (*projections.Store, func(), error) {
	v := s.cfg.Store.View()
	live, found, err := v.Calendar(owner, cal)
	v.Close()
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, errNotFound // no such calendar, ever
	}
	key := asOfKey{log: s.cfg.Log, stream: live.Stream, instant: at.UnixNano(), revision: live.Revision}
	return asOfViews.acquire(key, func() (*projections.Store, error) {
		return projections.OpenAsOf(ctx, s.cfg.Log, at, domain.PrincipalStream(owner), live.Stream)
	})
}

// The cache of as-of stores. It is the process's, not a server's: the key
// names the log, so servers that share a process (tests) never share views.
const (
	asOfCacheSize = 8
	asOfCacheTTL  = time.Minute
)

var asOfViews asOfCache

type asOfKey struct {
	log      eventlog.Log
	stream   string
	instant  int64 // UnixNano: time.Time's == would compare zones
	revision eventlog.Revision
}

type asOfEntry struct {
	key   asOfKey
	built time.Time
	ready chan struct{} // closed once store or err is set
	store *projections.Store
	err   error
	refs  int
	// gone means the entry left the cache; the last release closes it.
	gone bool
}

// asOfCache is a small LRU of as-of stores. Requests for a store being
// built wait for that build rather than starting their own.
type asOfCache struct {
	mu      sync.Mutex
	entries []*asOfEntry // most recently used first
}

func (c *asOfCache) acquire(key asOfKey, build func() (*projections.Store, error)) (*projections.Store, func(), error) {
	now := time.Now()
	c.mu.Lock()
	for _, x := range slices.Clone(c.entries) {
		if now.Sub(x.built) >= asOfCacheTTL {
			c.remove(x)
		}
	}
	var e *asOfEntry
	if i := slices.IndexFunc(c.entries, func(x *asOfEntry) bool { return x.key == key }); i >= 0 {
		e = c.entries[i]
		c.entries = slices.Delete(c.entries, i, i+1)
	}
	fresh := e == nil
	if fresh {
		e = &asOfEntry{key: key, built: now, ready: make(chan struct{})}
	}
	e.refs++
	c.entries = slices.Insert(c.entries, 0, e)
	for len(c.entries) > asOfCacheSize {
		c.remove(c.entries[len(c.entries)-1])
	}
	c.mu.Unlock()

	if fresh {
		e.store, e.err = build()
		close(e.ready)
	} else {
		<-e.ready
	}
	release := func() { c.release(e) }
	if e.err != nil {
		c.mu.Lock()
		c.remove(e) // a failed build is not remembered
		c.mu.Unlock()
		release()
		return nil, nil, e.err
	}
	return e.store, release, nil
}

// remove takes e out of the cache; it is closed now if unused, else by its
// last release.
func (c *asOfCache) remove(e *asOfEntry) {
	c.entries = slices.DeleteFunc(c.entries, func(x *asOfEntry) bool { return x == e })
	if e.gone {
		return
	}
	e.gone = true
	if e.refs == 0 {
		e.close()
	}
}

func (c *asOfCache) release(e *asOfEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.gone {
		e.close()
	}
}

// close runs once nobody uses e, so its build is done.
func (e *asOfEntry) close() {
	if e.store != nil {
		e.store.Close()
	}
}
