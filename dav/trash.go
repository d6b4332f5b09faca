package dav

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// The trash (issue 4): what a principal deleted, listed and undeletable by
// that principal. Nothing is kept for it: the log holds every deletion and
// the version before it, so the trash is read from calendar streams.
//
//	PROPFIND /trash/<owner>/                 Depth 0: the trash; Depth 1: and every entry
//	PROPFIND /trash/<owner>/<cal>/           that calendar's entries
//	GET      /trash/<owner>/<cal>/<obj>      a deleted object's last version
//	POST     /trash/<owner>/<cal>/?undelete        undelete a calendar
//	POST     /trash/<owner>/<cal>/<obj>?undelete   undelete an object
//
// An entry is a deleted calendar (/trash/<owner>/<cal>/, a collection) or,
// in a live calendar, a deleted object (/trash/<owner>/<cal>/<obj>): deleted
// by a DELETE, or with an earlier calendar of the same name. An object a
// MOVE took away is not in the trash; it lives at its destination. The
// listing is flat: every entry is a member of /trash/<owner>/, so that one
// Depth 1 PROPFIND shows it all. PROPFIND bodies are not read: each entry
// has every property below.
//
//	DAV:resourcetype       collection for a calendar, empty for an object
//	DAV:displayname        the calendar's display name then, or the name
//	DAV:getlastmodified    when it was deleted
//	DAV:getetag, DAV:getcontenttype   an object's last version
//	K:original-href        where it lived, and where undelete puts it back
//	K:deleted-by           the principal that deleted it (@operator: the CLI)
//	K:deleted-on-behalf-of the principal it acted for
//	K:deleted-user-agent   the client that deleted it
//	K:uid                  an object's UID
//	K:object-count         how many objects a calendar held
//	K:deleted-with-calendar  the object went with its calendar's deletion
//
// (K is http://kalends.org/ns/.) Undelete puts the calendar or object back
// as it was just before its last deletion, answering 200 with a JSON
// RestorePlan; it is a restore, with the same marker and the same rules: an
// object whose UID another object holds now is refused with
// CALDAV:no-uid-conflict, and an object of a deleted calendar waits for the
// calendar's undelete. Config.TrashRetention bounds how far back the owner
// reaches; the operator's restore reaches everything the log holds.
const trashPrefix = "/trash/"

// TrashEntry is a deleted calendar (Object "") or object.
type TrashEntry struct {
	Owner    string `json:"owner"`
	Calendar string `json:"calendar"`
	Object   string `json:"object,omitempty"`
	// UID, Component and ETag are an object's last version's.
	UID       string `json:"uid,omitempty"`
	Component string `json:"component,omitempty"`
	ETag      string `json:"etag,omitempty"`
	// Objects counts a calendar's objects when it was deleted.
	Objects int `json:"objects,omitempty"`
	// DisplayName is a calendar's DAV:displayname then, as XML text.
	DisplayName string    `json:"displayName,omitempty"`
	Deleted     time.Time `json:"deleted"`
	DeletedBy   string    `json:"deletedBy"`
	OnBehalfOf  string    `json:"onBehalfOf,omitempty"`
	UserAgent   string    `json:"userAgent,omitempty"`
	// WithCalendar says the object went with an earlier calendar of the
	// same name, not by a DELETE of its own.
	WithCalendar bool `json:"withCalendar,omitempty"`

	data string // an object's last version, for GET
}

// inRetention reports whether a deletion at t is still in the trash.
// retention 0 means forever.
func inRetention(t time.Time, retention time.Duration) bool {
	return retention <= 0 || !t.Before(time.Now().Add(-retention))
}

// Trash lists owner's trash in calendar and object name order: every
// calendar's, or only calendar's when it is not "". Entries deleted longer
// than retention ago are left out (0: none are).
func (b *Backend) Trash(ctx context.Context, owner, calendar string, retention time.Duration) ([]TrashEntry, error) {
	names := []string{calendar}
	if calendar == "" {
		var err error
		if names, err = b.calendarNames(owner); err != nil {
			return nil, err
		}
	}
	var out []TrashEntry
	for _, cal := range names {
		h, err := b.readHistory(ctx, owner, cal, time.Time{})
		if err != nil {
			return nil, err
		}
		out = append(out, h.trash(owner, cal, retention)...)
	}
	return out, nil
}

// trash is the calendar's trash entries: the calendar if it is deleted
// now (its objects come back with it), else its deleted objects.
func (h *calendarHistory) trash(owner, cal string, retention time.Duration) []TrashEntry {
	entry := func(m eventlog.Metadata) TrashEntry {
		return TrashEntry{Owner: owner, Calendar: cal, Deleted: m.Time, DeletedBy: m.Principal, OnBehalfOf: m.OnBehalfOf, UserAgent: m.UserAgent}
	}
	if !h.current.Exists {
		d := h.deletedCalendar
		if d == nil || !inRetention(d.meta.Time, retention) {
			return nil
		}
		e := entry(d.meta)
		e.Objects = len(d.before.Objects)
		if i := slices.IndexFunc(d.before.Props, func(p domain.Property) bool {
			return p.Space == nsDAV && p.Local == "displayname"
		}); i >= 0 {
			e.DisplayName = d.before.Props[i].XML
		}
		return []TrashEntry{e}
	}
	var out []TrashEntry
	for _, name := range slices.Sorted(maps.Keys(h.deletedObjects)) {
		d := h.deletedObjects[name]
		if !inRetention(d.meta.Time, retention) {
			continue
		}
		e := entry(d.meta)
		e.Object, e.UID, e.Component, e.ETag, e.data = name, d.last.UID, d.last.Component, d.last.ETag, d.last.Data
		e.WithCalendar = d.withCalendar
		out = append(out, e)
	}
	return out
}

// calendarNames lists every calendar owner ever had, deleted ones too, in
// name order: the projections keep a deleted calendar's record.
func (b *Backend) calendarNames(owner string) ([]string, error) {
	v := b.store.View()
	defer v.Close()
	var names []string
	err := v.CalendarsEver(owner, func(c projections.Calendar) error {
		names = append(names, c.Name)
		return nil
	})
	return names, err
}

// Undelete takes owner/cal, or the object obj in it, out of the trash: it
// restores it to its state just before its last deletion. Something not in
// the trash (never deleted, live again, or deleted longer than retention
// ago) is not-found.
func (b *Backend) Undelete(ctx context.Context, meta eventlog.Metadata, owner, cal, obj string, retention time.Duration) (RestorePlan, error) {
	plan := RestorePlan{Calendar: owner + "/" + cal, Object: obj}
	notInTrash := &domain.PreconditionError{Condition: domain.NotFound, Reason: "not in the trash"}
	var err error
	plan.Restoration, err = b.restoreOn(ctx, meta, owner, cal, time.Time{}, false, func(h *calendarHistory) (domain.Restoration, error) {
		if obj == "" {
			d := h.deletedCalendar
			if h.current.Exists || d == nil || !inRetention(d.meta.Time, retention) {
				return domain.Restoration{}, notInTrash
			}
			plan.AsOf = d.meta.Time
			return domain.DecideRestore(owner, cal, h.current, d.before, domain.CalendarRestored{AsOf: d.meta.Time, Undelete: true}), nil
		}
		d, ok := h.deletedObjects[obj]
		if !ok || !inRetention(d.meta.Time, retention) {
			return domain.Restoration{}, notInTrash
		}
		plan.AsOf = d.meta.Time
		then := domain.CalendarSnapshot{Exists: true, Objects: map[string]domain.ObjectPut{obj: d.last}}
		return domain.DecideRestoreObject(h.current, then, domain.CalendarRestored{AsOf: d.meta.Time, Object: obj, Undelete: true})
	})
	return plan, err
}

func trashHref(owner, cal, obj string) string {
	h := trashPrefix + escapeSegment(owner) + "/"
	if cal != "" {
		h += escapeSegment(cal) + "/"
	}
	return h + escapeSegment(obj)
}

// serveTrash answers below /trash/ (see the top of this file); rest is the
// escaped path after the prefix.
func (s *server) serveTrash(w http.ResponseWriter, r *http.Request, rest string) error {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil || u == "" || u == "." || u == ".." || strings.Contains(u, "/") || len(segs) > 3 {
			return errNotFound
		}
		segs[i] = u
	}
	owner, cal, obj := segs[0], "", ""
	if len(segs) > 1 {
		cal = segs[1]
	}
	if len(segs) > 2 {
		obj = segs[2]
	}
	if owner != info(r).principal {
		return errNeedPrivileges
	}
	switch {
	case r.Method == "PROPFIND" && obj == "":
		return s.propfindTrash(w, r, owner, cal)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && obj != "":
		return s.getTrashed(w, r, owner, cal, obj)
	case r.Method == http.MethodPost && cal != "" && r.URL.Query().Has("undelete"):
		plan, err := s.backend.Undelete(r.Context(), s.meta(r), owner, cal, obj, s.cfg.TrashRetention)
		if err != nil {
			return withHrefs(err, target{owner: owner, cal: cal})
		}
		return writeJSON(w, plan)
	}
	w.Header().Set("Allow", trashAllow(rest))
	return errStatus(http.StatusMethodNotAllowed, "the trash is listed with PROPFIND and emptied with POST ?undelete")
}

// trashAllow is what a trash path answers (see the top of this file): the
// listing and a calendar's entries take PROPFIND, an object GET/HEAD; a
// calendar or object takes POST ?undelete.
func trashAllow(rest string) string {
	switch strings.Count(strings.TrimSuffix(rest, "/"), "/") {
	case 0:
		return "OPTIONS, PROPFIND"
	case 1:
		return "OPTIONS, PROPFIND, POST"
	}
	return "OPTIONS, GET, HEAD, POST"
}

func (s *server) propfindTrash(w http.ResponseWriter, r *http.Request, owner, cal string) error {
	d, err := depth(r)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)) // every property is sent, whatever is asked
	entries, err := s.backend.Trash(r.Context(), owner, cal, s.cfg.TrashRetention)
	if err != nil {
		return err
	}
	m := startMultistatus(w, r, "multistatus")
	self := propstat{status: http.StatusOK, props: []propEntry{
		{space: nsDAV, local: "resourcetype", inner: "<D:collection/>"},
		{space: nsDAV, local: "displayname", inner: "Trash"},
	}}
	if cal != "" {
		self.props[1].inner = escapeString(cal)
		// A deleted calendar's own entry is the collection itself.
		if len(entries) == 1 && entries[0].Object == "" {
			self, entries = trashProps(entries[0]), nil
		}
	}
	m.response(trashHref(owner, cal, ""), []propstat{self})
	if d == 1 {
		for _, e := range entries {
			m.response(trashHref(owner, e.Calendar, e.Object), []propstat{trashProps(e)})
		}
	}
	return m.close("multistatus", "")
}

func trashProps(e TrashEntry) propstat {
	text := func(space, local, v string) propEntry {
		return propEntry{space: space, local: local, inner: escapeString(v)}
	}
	props := []propEntry{
		text(nsDAV, "getlastmodified", e.Deleted.UTC().Format(http.TimeFormat)),
		text(nsKalends, "deleted-by", e.DeletedBy),
	}
	if e.OnBehalfOf != "" {
		props = append(props, text(nsKalends, "deleted-on-behalf-of", e.OnBehalfOf))
	}
	if e.UserAgent != "" {
		props = append(props, text(nsKalends, "deleted-user-agent", e.UserAgent))
	}
	if e.Object == "" {
		name := escapeString(e.Calendar)
		if e.DisplayName != "" {
			name = e.DisplayName
		}
		return propstat{status: http.StatusOK, props: append(props,
			propEntry{space: nsDAV, local: "resourcetype", inner: "<D:collection/>"},
			propEntry{space: nsDAV, local: "displayname", inner: name},
			text(nsKalends, "original-href", calendarHref(e.Owner, e.Calendar)),
			text(nsKalends, "object-count", strconv.Itoa(e.Objects)),
		)}
	}
	props = append(props,
		propEntry{space: nsDAV, local: "resourcetype"},
		text(nsDAV, "displayname", e.Object),
		text(nsDAV, "getetag", e.ETag),
		text(nsDAV, "getcontenttype", objectContentType(e.Component)),
		text(nsKalends, "original-href", objectHref(e.Owner, e.Calendar, e.Object)),
		text(nsKalends, "uid", e.UID),
	)
	if e.WithCalendar {
		props = append(props, propEntry{space: nsKalends, local: "deleted-with-calendar"})
	}
	return propstat{status: http.StatusOK, props: props}
}

// getTrashed answers a deleted object's last version, so that the owner can
// look before undeleting.
func (s *server) getTrashed(w http.ResponseWriter, r *http.Request, owner, cal, obj string) error {
	entries, err := s.backend.Trash(r.Context(), owner, cal, s.cfg.TrashRetention)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e TrashEntry) bool { return e.Object == obj })
	if i < 0 {
		return errNotFound
	}
	e := entries[i]
	h := w.Header()
	h.Set("ETag", e.ETag)
	h.Set("Last-Modified", e.Deleted.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", objectContentType(e.Component))
	h.Set("Content-Length", strconv.Itoa(len(e.data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, e.data)
	}
	return nil
}
