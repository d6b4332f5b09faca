package dav

import (
	"cmp"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/projections"
)

func (s *server) get(w http.ResponseWriter, r *http.Request, t target) error {
	if ft, ok := calendarFileTarget(t); ok {
		return s.getCalendarFile(w, r, ft)
	}
	if t.kind != kindObject {
		w.Header().Set("Allow", "OPTIONS, PROPFIND, REPORT")
		return errMethodNotFound
	}
	v := s.viewFor(t)
	res, err := s.load(v, t, info(r).principal)
	v.Close()
	if err != nil {
		return err
	}
	o := res.obj
	h := w.Header()
	h.Set("ETag", o.ETag)
	h.Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", objectContentType(o.Component))
	if notModified, err := readConditions(w, r, o.ETag); err != nil || notModified {
		return err
	}
	h.Set("Content-Length", strconv.Itoa(len(o.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, o.Data)
	}
	return nil
}

// etagListMatches evaluates an If-Match / If-None-Match value against the
// current ETag ("" when the resource does not exist). Weak comparison is
// used for If-None-Match on GET (RFC 9110 §13.1.2), strong otherwise; our
// ETags are strong, so the two differ only in accepting a W/ prefix.
func etagListMatches(header, current string, weak bool) bool {
	header = strings.TrimSpace(header)
	if header == "*" {
		return current != ""
	}
	if current == "" {
		return false
	}
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if weak {
			tag = strings.TrimPrefix(tag, "W/")
		}
		if tag == current {
			return true
		}
	}
	return false
}

// readConditions applies If-Match and If-None-Match to a GET or HEAD of a
// resource whose ETag is etag (RFC 9110 §13.2.2): an If-Match that fails
// is 412, as for a write; an If-None-Match that matches is answered 304
// here (notModified), with the headers already set.
func readConditions(w http.ResponseWriter, r *http.Request, etag string) (notModified bool, err error) {
	if im := r.Header.Get("If-Match"); im != "" && !etagListMatches(im, etag, false) {
		return false, errStatus(http.StatusPreconditionFailed, "If-Match does not hold")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, etag, true) {
		w.WriteHeader(http.StatusNotModified)
		return true, nil
	}
	return false, nil
}

// checkConditions applies If-Match and If-None-Match to a write against the
// target's current ETag. It runs inside the decision, so a retry after a
// conflict re-checks against the newer state.
func checkConditions(r *http.Request, current string) error {
	if im := r.Header.Get("If-Match"); im != "" && !etagListMatches(im, current, false) {
		return errStatus(http.StatusPreconditionFailed, "If-Match does not hold")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, current, false) {
		return errStatus(http.StatusPreconditionFailed, "If-None-Match does not hold")
	}
	return nil
}

// calendarObjectMediaType reports whether a PUT body may be a calendar
// object. text/calendar is the rule (RFC 4791 §5.3.2); a missing type or
// application/octet-stream is accepted and validated as iCalendar, because
// generic WebDAV tools (cadaver, curl -T) send those for .ics files.
func calendarObjectMediaType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "text/calendar" || mt == "application/octet-stream")
}

// hrefInCalendar makes a conflict's href absolute for the DAV:error body.
func hrefInCalendar(owner, cal string) func(string) string {
	return func(name string) string { return objectHref(owner, cal, name) }
}

func (s *server) put(w http.ResponseWriter, r *http.Request, t target) error {
	if ft, ok := calendarFileTarget(t); ok {
		return s.putCalendarFile(w, r, ft)
	}
	if t.kind != kindObject {
		return errStatus(http.StatusMethodNotAllowed, "PUT creates calendar objects inside a calendar")
	}
	if !calendarObjectMediaType(r.Header.Get("Content-Type")) {
		return errUnsupportedData
	}
	limit := s.cfg.Limits.MaxResourceSize
	if r.ContentLength > 0 && limit > 0 && r.ContentLength > int64(limit) {
		return errCondition(http.StatusForbidden, nsCalDAV, "max-resource-size", "body exceeds max-resource-size")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return errStatus(http.StatusBadRequest, "reading body: "+err.Error())
	}
	var created bool
	var etag string
	err = s.backend.onCalendar(r.Context(), s.meta(r), t.owner, t.cal, func(st *calendarState) ([]domain.Event, error) {
		if !st.live {
			return nil, errNoCalendar(t)
		}
		cur, exists := st.Object(t.obj)
		if err := checkConditions(r, cur.ETag); err != nil {
			return nil, err
		}
		put, err := domain.DecidePutObject(st.info(), st, t.obj, body, s.cfg.Limits)
		if err != nil {
			return nil, err
		}
		created, etag = !exists, put.ETag
		return []domain.Event{put}, nil
	})
	if err != nil {
		return withHrefs(err, t)
	}
	w.Header().Set("ETag", etag)
	if created {
		w.Header().Set("Location", t.href())
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// withHrefs turns a domain refusal into a DAV error whose hrefs point into
// the target's calendar.
func withHrefs(err error, t target) error {
	if de := fromDomain(err, hrefInCalendar(t.owner, t.cal)); de != nil {
		return de
	}
	return err
}

// errNoCalendar refuses a write into a calendar that does not exist: 409,
// the parent is missing (RFC 4918 §9.7.1).
func errNoCalendar(t target) error {
	return errStatus(http.StatusConflict, "no calendar "+t.cal)
}

func (s *server) delete(w http.ResponseWriter, r *http.Request, t target) error {
	var decide func(st *calendarState) ([]domain.Event, error)
	switch t.kind {
	case kindObject:
		decide = func(st *calendarState) ([]domain.Event, error) {
			if !st.live {
				return nil, errNotFound
			}
			cur, _ := st.Object(t.obj)
			if err := checkConditions(r, cur.ETag); err != nil {
				return nil, err
			}
			del, err := domain.DecideDeleteObject(st, t.obj)
			if err != nil {
				return nil, err
			}
			return []domain.Event{del}, nil
		}
	case kindCalendar:
		decide = func(st *calendarState) ([]domain.Event, error) {
			if r.Header.Get("If-Match") != "" && !st.live {
				return nil, errStatus(http.StatusPreconditionFailed, "If-Match does not hold")
			}
			del, err := domain.DecideDeleteCalendar(st.live)
			if err != nil {
				return nil, err
			}
			return []domain.Event{del}, nil
		}
	default:
		return errStatus(http.StatusForbidden, "this collection cannot be deleted")
	}
	if err := s.backend.onCalendar(r.Context(), s.meta(r), t.owner, t.cal, decide); err != nil {
		return withHrefs(err, t)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// destination parses the Destination header of COPY/MOVE into a target on
// this server.
func destination(r *http.Request) (target, error) {
	raw := r.Header.Get("Destination")
	if raw == "" {
		return target{}, errStatus(http.StatusBadRequest, "Destination header required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, errStatus(http.StatusBadRequest, "bad Destination")
	}
	if u.Host != "" && !strings.EqualFold(u.Host, r.Host) {
		return target{}, errStatus(http.StatusBadGateway, "Destination is on another server")
	}
	t, ok := parseEscapedTarget(u.EscapedPath())
	if !ok {
		return target{}, errStatus(http.StatusConflict, "Destination is not a place for a calendar object")
	}
	return t, nil
}

func (s *server) relocate(w http.ResponseWriter, r *http.Request, src target, move bool) error {
	if src.kind != kindObject {
		return errStatus(http.StatusForbidden, "only calendar objects can be copied or moved")
	}
	dst, err := destination(r)
	if err != nil {
		return err
	}
	if dst.kind != kindObject {
		return errStatus(http.StatusConflict, "Destination must be inside a calendar")
	}
	if err := authorize(dst, info(r).principal, r.Method); err != nil {
		return err
	}
	overwrite := !strings.EqualFold(strings.TrimSpace(r.Header.Get("Overwrite")), "F")
	var replaced bool
	// relocateWithin decides the move or copy with source and destination
	// read from their calendars' states (the same state when the calendar
	// is the same).
	relocateWithin := func(srcState, dstState *calendarState) (*domain.Relocation, error) {
		if !srcState.live {
			return nil, errNotFound
		}
		obj, data, ok := srcState.objectWithData(src.obj)
		if !ok {
			return nil, errNotFound
		}
		if err := checkConditions(r, obj.ETag); err != nil {
			return nil, err
		}
		if !dstState.live {
			return nil, errNoCalendar(dst)
		}
		rel, err := domain.DecideRelocate(srcState.info(), obj, []byte(data), dstState.info(), dstState, dst.obj, overwrite, move, s.cfg.Limits)
		if err != nil {
			return nil, err
		}
		replaced = rel.Replaced
		return rel, nil
	}
	if src.owner == dst.owner && src.cal == dst.cal {
		err = s.backend.onCalendar(r.Context(), s.meta(r), src.owner, src.cal, func(st *calendarState) ([]domain.Event, error) {
			rel, err := relocateWithin(st, st)
			if err != nil {
				return nil, err
			}
			if rel.Delete != nil {
				return []domain.Event{rel.Put, rel.Delete}, nil
			}
			return []domain.Event{rel.Put}, nil
		})
	} else {
		err = s.backend.execute(r.Context(), s.meta(r), func(v *projections.View) ([]streamAppend, error) {
			srcState, err := newCalendarState(v, src.owner, src.cal)
			if err != nil {
				return nil, err
			}
			dstState, err := newCalendarState(v, dst.owner, dst.cal)
			if err != nil {
				return nil, err
			}
			rel, err := relocateWithin(srcState, dstState)
			if err == nil {
				err = cmp.Or(srcState.err, dstState.err)
			}
			if err != nil {
				return nil, err
			}
			// Destination first: if the log cannot append both atomically
			// and the process dies in between, the object exists twice,
			// never nowhere.
			appends := []streamAppend{{dstState.cal.Stream, calendarExpectation(dstState.cal, dstState.found), []domain.Event{rel.Put}}}
			if rel.Delete != nil {
				appends = append(appends, streamAppend{srcState.cal.Stream, calendarExpectation(srcState.cal, srcState.found), []domain.Event{rel.Delete}})
			}
			return appends, nil
		})
	}
	if err != nil {
		return withHrefs(err, dst)
	}
	if replaced {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.Header().Set("Location", dst.href())
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}
