package dav

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

func (s *server) get(w http.ResponseWriter, r *http.Request, t target) error {
	if t.kind != kindObject {
		w.Header().Set("Allow", "OPTIONS, PROPFIND, REPORT")
		return errMethodNotFound
	}
	v := s.cfg.Store.View()
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
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, o.ETag, true) {
		w.WriteHeader(http.StatusNotModified)
		return nil
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
	err = s.backend.execute(r.Context(), s.meta(r), func(v *projections.View) ([]streamAppend, error) {
		cal, err := s.loadCalendar(v, t)
		if err != nil {
			return nil, err
		}
		contents := v.Contents(t.owner, t.cal)
		cur, exists := contents.Object(t.obj)
		if err := checkConditions(r, cur.ETag); err != nil {
			return nil, err
		}
		put, err := domain.DecidePutObject(cal.Info(), contents, t.obj, body, s.cfg.Limits)
		if err != nil {
			return nil, err
		}
		created, etag = !exists, put.ETag
		return []streamAppend{{cal.Stream, eventlog.Exactly(cal.Revision), []domain.Event{put}}}, nil
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

// loadCalendar reads the live calendar a write goes to. A write into a
// calendar that does not exist is a 409 (RFC 4918 §9.7.1: no parent).
func (s *server) loadCalendar(v *projections.View, t target) (projections.Calendar, error) {
	cal, ok, err := v.Calendar(t.owner, t.cal)
	if err != nil {
		return cal, err
	}
	if !ok || cal.Deleted {
		return cal, errStatus(http.StatusConflict, "no calendar "+t.cal)
	}
	return cal, nil
}

func (s *server) delete(w http.ResponseWriter, r *http.Request, t target) error {
	switch t.kind {
	case kindObject:
		err := s.backend.execute(r.Context(), s.meta(r), func(v *projections.View) ([]streamAppend, error) {
			cal, ok, err := v.Calendar(t.owner, t.cal)
			if err != nil {
				return nil, err
			}
			if !ok || cal.Deleted {
				return nil, errNotFound
			}
			contents := v.Contents(t.owner, t.cal)
			cur, _ := contents.Object(t.obj)
			if err := checkConditions(r, cur.ETag); err != nil {
				return nil, err
			}
			del, err := domain.DecideDeleteObject(contents, t.obj)
			if err != nil {
				return nil, err
			}
			return []streamAppend{{cal.Stream, eventlog.Exactly(cal.Revision), []domain.Event{del}}}, nil
		})
		if err != nil {
			return withHrefs(err, t)
		}
	case kindCalendar:
		err := s.backend.execute(r.Context(), s.meta(r), func(v *projections.View) ([]streamAppend, error) {
			cal, ok, err := v.Calendar(t.owner, t.cal)
			if err != nil {
				return nil, err
			}
			if r.Header.Get("If-Match") != "" && (!ok || cal.Deleted) {
				return nil, errStatus(http.StatusPreconditionFailed, "If-Match does not hold")
			}
			del, err := domain.DecideDeleteCalendar(ok && !cal.Deleted)
			if err != nil {
				return nil, err
			}
			return []streamAppend{{cal.Stream, eventlog.Exactly(cal.Revision), []domain.Event{del}}}, nil
		})
		if err != nil {
			return withHrefs(err, t)
		}
	default:
		return errStatus(http.StatusForbidden, "this collection cannot be deleted")
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
	err = s.backend.execute(r.Context(), s.meta(r), func(v *projections.View) ([]streamAppend, error) {
		srcCal, ok, err := v.Calendar(src.owner, src.cal)
		if err != nil {
			return nil, err
		}
		if !ok || srcCal.Deleted {
			return nil, errNotFound
		}
		obj, ok, err := v.Object(src.owner, src.cal, src.obj)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNotFound
		}
		if err := checkConditions(r, obj.ETag); err != nil {
			return nil, err
		}
		dstCal, err := s.loadCalendar(v, dst)
		if err != nil {
			return nil, err
		}
		rel, err := domain.DecideRelocate(srcCal.Info(), obj.Info(), []byte(obj.Data),
			dstCal.Info(), v.Contents(dst.owner, dst.cal), dst.obj, overwrite, move, s.cfg.Limits)
		if err != nil {
			return nil, err
		}
		replaced = rel.Replaced
		if srcCal.Stream == dstCal.Stream {
			events := []domain.Event{rel.Put}
			if rel.Delete != nil {
				events = append(events, rel.Delete)
			}
			return []streamAppend{{dstCal.Stream, eventlog.Exactly(dstCal.Revision), events}}, nil
		}
		// Destination first: if the log cannot append both atomically and
		// the process dies in between, the object exists twice, never
		// nowhere.
		appends := []streamAppend{{dstCal.Stream, eventlog.Exactly(dstCal.Revision), []domain.Event{rel.Put}}}
		if rel.Delete != nil {
			appends = append(appends, streamAppend{srcCal.Stream, eventlog.Exactly(srcCal.Revision), []domain.Event{rel.Delete}})
		}
		return appends, nil
	})
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
