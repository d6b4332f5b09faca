package dav

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// A whole calendar as one .ics (issue 4), as CommuniGate's publish/subscribe
// and every desktop calendar's "export" and "subscribe" know it:
//
//	GET /calendars/<owner>/<cal>/      the calendar, text/calendar, with an ETag
//	GET /calendars/<owner>/<cal>.ics   the same
//	PUT either                         replace the calendar's content with the file's
//
// GET answers one VCALENDAR with every object's components and each
// VTIMEZONE once (domain.MergeCalendar), objects in name order; its ETag is
// a hash of that text, so If-None-Match works and replay gives the same
// ETag. It works in as-of views too: /asof/<instant>/calendars/... exports
// the calendar as it was.
//
// PUT splits the file into one object per UID (domain.SplitCalendar),
// decides each like a PUT of its own, and deletes the objects whose UID the
// file lacks — all in one batch, so one append to the calendar's stream:
// each object one ordinary ObjectPut or ObjectDeleted event, which clients
// pick up through sync-collection and which a restore to before the PUT
// undoes. One invalid object refuses the whole file and nothing is
// written. A UID already in the calendar keeps its resource name; a new
// one is named after the UID (domain.ObjectNameForUID). Objects whose text
// is unchanged append nothing.
//
// The operator's `kalends export --calendar` and `kalends import
// --calendar` call ExportCalendar and ImportCalendar.

// MaxCalendarFile bounds a whole calendar's file on import: one request
// must not be able to exhaust the server's memory. 10,000 typical events
// take about 10 MB.
const MaxCalendarFile = 256 << 20

// calendarFileTarget maps a GET or PUT target to the calendar whose whole
// file it names: the collection itself, or <cal>.ics beside it. The .ics
// form is read as the file even if a calendar with that name exists; that
// one remains reachable with a trailing slash.
func calendarFileTarget(t target) (target, bool) {
	if t.kind != kindCalendar {
		return t, false
	}
	if name, ok := strings.CutSuffix(t.cal, ".ics"); ok && !t.slash && name != "" {
		t.cal = name
	}
	return t, true
}

// calendarFile is the calendar's whole file as v shows it.
func calendarFile(v *projections.View, cal projections.Calendar) ([]byte, error) {
	var objects []string
	err := v.Objects(cal.Owner, cal.Name, true, func(o projections.Object) error {
		objects = append(objects, o.Data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return domain.MergeCalendar(displayName(cal), objects)
}

// displayName is the calendar's DAV:displayname as text, "" if unset.
func displayName(cal projections.Calendar) string {
	p, ok := cal.Prop(nsDAV, "displayname")
	if !ok {
		return ""
	}
	var text struct {
		Value string `xml:",chardata"`
	}
	if xml.Unmarshal([]byte("<n>"+p.XML+"</n>"), &text) != nil {
		return ""
	}
	return strings.TrimSpace(text.Value)
}

// ExportCalendar returns the calendar owner/cal as one iCalendar text.
func (b *Backend) ExportCalendar(owner, cal string) ([]byte, error) {
	v := b.store.View()
	defer v.Close()
	c, found, err := v.Calendar(owner, cal)
	if err != nil {
		return nil, err
	}
	if !found || c.Deleted {
		return nil, &domain.PreconditionError{Condition: domain.NotFound, Reason: "no calendar " + owner + "/" + cal}
	}
	return calendarFile(v, c)
}

// ImportOptions say how a whole calendar's file is loaded.
type ImportOptions struct {
	// Replace deletes the objects whose UID the file lacks, so that the
	// calendar ends up holding exactly the file (an HTTP PUT of it).
	// Without it, an import adds and replaces only.
	Replace bool
	// SkipInvalid writes the valid objects and reports the others; without
	// it, one invalid object refuses the whole file.
	SkipInvalid bool
	// Progress, if set, is told how many of the file's objects have been
	// decided.
	Progress func(done, total int)
}

// ImportResult says what an import did to the calendar, by resource name.
type ImportResult struct {
	Calendar  string          `json:"calendar"` // owner/name
	Objects   int             `json:"objects"`  // in the file
	Added     []string        `json:"added,omitempty"`
	Replaced  []string        `json:"replaced,omitempty"`
	Unchanged int             `json:"unchanged"`
	Deleted   []string        `json:"deleted,omitempty"`
	Invalid   []InvalidObject `json:"invalid,omitempty"`
}

// InvalidObject is one of the file's objects that a PUT would refuse.
type InvalidObject struct {
	Index  int    `json:"index"` // 1-based, in the order UIDs first appear in the file
	UID    string `json:"uid,omitempty"`
	Reason string `json:"reason"`
	err    error
}

// ImportError refuses a file with invalid objects when they were not to be
// skipped: nothing was written.
type ImportError struct {
	Invalid []InvalidObject
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid object(s), nothing imported:", len(e.Invalid))
	for _, o := range e.Invalid {
		fmt.Fprintf(&b, "\n  #%d UID %q: %s", o.Index, o.UID, o.Reason)
	}
	return b.String()
}

// Unwrap gives the first refusal, so that the HTTP answer carries its
// precondition.
func (e *ImportError) Unwrap() error { return e.Invalid[0].err }

// ImportCalendar loads a whole calendar's file into owner/cal as one batch:
// one append to the calendar's stream, every event with meta.
func (b *Backend) ImportCalendar(ctx context.Context, meta eventlog.Metadata, owner, cal string, data []byte, opt ImportOptions) (ImportResult, error) {
	return b.importCalendar(ctx, meta, owner, cal, data, opt, nil)
}

// importCalendar is ImportCalendar with check, if not nil, run first in the
// decision on the calendar's current file ETag (computed only if asked):
// HTTP's If-Match on the calendar.
func (b *Backend) importCalendar(ctx context.Context, meta eventlog.Metadata, owner, cal string, data []byte, opt ImportOptions,
	check func(etag func() (string, error)) error) (ImportResult, error) {
	objs, err := domain.SplitCalendar(data)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = b.onCalendar(ctx, meta, owner, cal, func(st *calendarState) ([]domain.Event, error) {
		res = ImportResult{Calendar: owner + "/" + cal, Objects: len(objs)}
		if !st.live {
			return nil, &domain.PreconditionError{Condition: domain.NotFound, Reason: "no calendar " + owner + "/" + cal}
		}
		if check != nil {
			if err := check(func() (string, error) { return st.fileETag() }); err != nil {
				return nil, err
			}
		}
		return st.decideImport(objs, b.limits, opt, &res)
	})
	return res, err
}

// decideImport decides the file's objects against the calendar, filling
// res.
func (st *calendarState) decideImport(objs []domain.SplitObject, lim domain.Limits, opt ImportOptions, res *ImportResult) ([]domain.Event, error) {
	var events []domain.Event
	// named holds the names the file's objects take, valid or not: an
	// invalid object does not make Replace delete what its UID holds.
	named := map[string]string{}
	for i, o := range objs {
		name := st.importName(o.UID)
		put, err := domain.DecidePutObject(st.info(), st, name, o.Data, lim)
		if err == nil {
			if uid, taken := named[name]; taken {
				err = &domain.PreconditionError{Condition: domain.NoUIDConflict, Href: name,
					Reason: fmt.Sprintf("UIDs %q and %q both map to %s", uid, o.UID, name)}
			}
		}
		named[name] = o.UID
		if opt.Progress != nil {
			opt.Progress(i+1, len(objs))
		}
		if err != nil {
			var pe *domain.PreconditionError
			if !errors.As(err, &pe) {
				return nil, err
			}
			res.Invalid = append(res.Invalid, InvalidObject{Index: i + 1, UID: o.UID, Reason: pe.Reason, err: err})
			continue
		}
		switch cur, exists := st.Object(name); {
		case !exists:
			res.Added = append(res.Added, name)
		case cur.ETag == put.ETag:
			res.Unchanged++
			continue
		default:
			res.Replaced = append(res.Replaced, name)
		}
		events = append(events, put)
	}
	if len(res.Invalid) > 0 && !opt.SkipInvalid {
		return nil, &ImportError{Invalid: res.Invalid}
	}
	if opt.Replace {
		names, err := st.names()
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if _, kept := named[name]; kept {
				continue
			}
			del, err := domain.DecideDeleteObject(st, name)
			if err != nil {
				return nil, err
			}
			res.Deleted = append(res.Deleted, name)
			events = append(events, del)
		}
	}
	return events, st.err
}

// importName is where an imported object with uid goes: where the
// calendar holds that UID, else the name made of the UID, unless another
// UID holds that name.
func (st *calendarState) importName(uid string) string {
	if holder, ok := st.ObjectByUID(uid); ok {
		return holder.Name
	}
	name := domain.ObjectNameForUID(uid)
	if cur, ok := st.Object(name); ok && cur.UID != uid {
		return domain.HashedObjectName(uid)
	}
	return name
}

// names lists the calendar's objects as the batch sees them, in name order.
func (st *calendarState) names() ([]string, error) {
	set := map[string]bool{}
	if st.live && !st.cleared {
		err := st.v.Objects(st.owner, st.cal.Name, false, func(o projections.Object) error {
			set[o.Name] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for name, o := range st.objects {
		set[name] = o != nil
	}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if set[name] {
			names = append(names, name)
		}
	}
	return names, nil
}

// fileETag is the ETag a GET of the calendar's file would answer, as the
// view shows the calendar. Only consulted for a conditional PUT, which is
// expected to follow a GET with nothing written in between.
func (st *calendarState) fileETag() (string, error) {
	data, err := calendarFile(st.v, st.cal)
	if err != nil {
		return "", err
	}
	return domain.ETagOf(data), nil
}

// getCalendarFile answers GET and HEAD on a calendar (see the top of this
// file).
func (s *server) getCalendarFile(w http.ResponseWriter, r *http.Request, t target) error {
	v := s.viewFor(t)
	defer v.Close()
	res, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	data, err := calendarFile(v, res.cal)
	if err != nil {
		return err
	}
	etag := domain.ETagOf(data)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	if notModified, err := readConditions(w, r, etag); err != nil || notModified {
		return err
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
	return nil
}

// putCalendarFile answers PUT on a calendar: its content becomes the
// file's (see the top of this file). The answer is 204 without an ETag,
// since what is stored is the file cut into objects, not its bytes.
func (s *server) putCalendarFile(w http.ResponseWriter, r *http.Request, t target) error {
	if !calendarObjectMediaType(r.Header.Get("Content-Type")) {
		return errUnsupportedData
	}
	if r.ContentLength > MaxCalendarFile {
		return errStatus(http.StatusRequestEntityTooLarge, "a calendar file is limited to "+strconv.Itoa(MaxCalendarFile)+" bytes")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxCalendarFile+1))
	if err != nil {
		return errStatus(http.StatusBadRequest, "reading body: "+err.Error())
	}
	if len(body) > MaxCalendarFile {
		return errStatus(http.StatusRequestEntityTooLarge, "a calendar file is limited to "+strconv.Itoa(MaxCalendarFile)+" bytes")
	}
	conditional := r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != ""
	check := func(etag func() (string, error)) error {
		if !conditional {
			return nil
		}
		cur, err := etag()
		if err != nil {
			return err
		}
		return checkConditions(r, cur)
	}
	_, err = s.backend.importCalendar(r.Context(), s.meta(r), t.owner, t.cal, body, ImportOptions{Replace: true}, check)
	var ie *ImportError
	if errors.As(err, &ie) {
		// The first refusal's precondition, with every refusal described.
		de := fromDomain(ie.Invalid[0].err, hrefInCalendar(t.owner, t.cal))
		de.reason = ie.Error()
		return de
	}
	if err != nil {
		return withHrefs(err, t)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
