package dav

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// davHeader advertises exactly what works (RFC 4918 §10.1): class 1 and 3
// WebDAV (no locking, so no class 2), RFC 3744 principals and privileges
// with ACLs that can be read but not changed (props.go), CalDAV, and
// extended MKCOL.
const davHeader = "1, 3, access-control, calendar-access, extended-mkcol"

const allowHeader = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCALENDAR, MKCOL, COPY, MOVE, REPORT, POST"

type server struct {
	cfg     Config
	backend *Backend
	log     zerolog.Logger
	idBase  string
	idSeq   atomic.Uint64
}

func newServer(cfg Config) *server {
	var b [4]byte
	rand.Read(b[:])
	return &server{
		cfg:     cfg,
		backend: NewBackend(cfg.Log, cfg.Store, cfg.Limits),
		log:     cfg.Logger,
		idBase:  hex.EncodeToString(b[:]),
	}
}

// reqInfo is what the access log and the events of a request share.
type reqInfo struct {
	id        string
	principal string
	condition string
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func noteError(r *http.Request, e *davError) { info(r).condition = e.local }

func (s *server) requestLog(r *http.Request) *zerolog.Logger {
	l := s.log.With().Str("request_id", info(r).id).Logger()
	return &l
}

// meta is the event metadata of a change made by this request.
func (s *server) meta(r *http.Request) eventlog.Metadata {
	ri := info(r)
	return eventlog.Metadata{
		Principal:  ri.principal,
		OnBehalfOf: ri.principal,
		Time:       time.Now().UTC(),
		RequestID:  ri.id,
		UserAgent:  r.UserAgent(),
		RemoteAddr: r.RemoteAddr,
	}
}

// A client-chosen request id is kept when it is short and plain, so that a
// proxy's id carries through to the events; anything else is replaced.
var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// statusWriter records what the access log needs and keeps streaming
// (Flush) working through the wrapper.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	body   *bytes.Buffer // response copy when bodies are logged
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body != nil && w.body.Len() < maxLoggedBody {
		w.body.Write(p[:min(len(p), maxLoggedBody-w.body.Len())])
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

const maxLoggedBody = 64 << 10

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &reqInfo{id: r.Header.Get("X-Request-ID")}
	if !saneRequestID.MatchString(ri.id) {
		ri.id = fmt.Sprintf("%s-%x", s.idBase, s.idSeq.Add(1))
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
	sw := &statusWriter{ResponseWriter: w}
	var reqBody *bytes.Buffer
	if s.cfg.LogBodies {
		reqBody, sw.body = &bytes.Buffer{}, &bytes.Buffer{}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &limitedBuffer{reqBody}), r.Body}
	}
	h := sw.Header()
	h.Set("DAV", davHeader)
	h.Set("X-Request-ID", ri.id)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error().Str("request_id", ri.id).Interface("panic", p).Stack().Msg("handler panicked")
			if sw.status == 0 {
				sw.WriteHeader(http.StatusInternalServerError)
			}
		}
		ev := s.log.Info()
		if sw.status >= 500 {
			ev = s.log.Error()
		}
		ev.Str("request_id", ri.id).Str("method", r.Method).Str("path", r.URL.EscapedPath()).
			Int("status", sw.status).Int64("bytes", sw.bytes).Dur("duration", time.Since(start)).
			Str("principal", ri.principal).Str("user_agent", r.UserAgent()).Str("remote", r.RemoteAddr)
		if ri.condition != "" {
			ev.Str("condition", ri.condition)
		}
		ev.Msg("request")
		if s.cfg.LogBodies {
			s.log.Debug().Str("request_id", ri.id).Str("request_body", reqBody.String()).
				Str("response_body", sw.body.String()).Interface("request_headers", redactedHeaders(r.Header)).
				Msg("bodies")
		}
	}()
	s.serve(sw, r)
}

type limitedBuffer struct{ b *bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxLoggedBody - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func redactedHeaders(h http.Header) http.Header {
	c := h.Clone()
	if c.Get("Authorization") != "" {
		c.Set("Authorization", "[redacted]")
	}
	return c
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if path == "/.well-known/caldav" || path == "/.well-known/caldav/" {
		// RFC 6764 §5: the context path is the root. Answered before
		// authentication so that discovery can start anonymously.
		http.Redirect(w, r, "/", http.StatusMovedPermanently)
		return
	}
	if r.Method == http.MethodOptions {
		s.options(w, r, path)
		return
	}
	principal, ok, err := s.cfg.Auth.Authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", s.cfg.Auth.Challenge())
		s.writeError(w, r, errStatus(http.StatusUnauthorized, "authentication required"))
		return
	}
	info(r).principal = principal
	// Time travel lives beside the live tree, each under its own prefix;
	// its handlers authorize (owner only) and answer themselves.
	for _, tt := range timeTravel {
		if rest, ok := strings.CutPrefix(path, tt.prefix); ok {
			if err := tt.serve(s, w, r, rest); err != nil {
				s.writeError(w, r, err)
			}
			return
		}
	}
	t, ok := parseEscapedTarget(path)
	if !ok {
		s.writeError(w, r, errNotFound)
		return
	}
	if err := authorize(t, principal, r.Method); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.dispatch(w, r, t); err != nil {
		s.writeError(w, r, err)
	}
}

// parseEscapedTarget splits the raw path before unescaping, so that a "%2F"
// inside a segment stays part of that segment's name.
func parseEscapedTarget(escaped string) (target, bool) {
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || strings.Contains(u, "/") {
			return target{}, false
		}
		segs[i] = u
	}
	t := parseTarget(strings.Join(segs, "/"))
	return t, t.kind != kindUnknown
}

// authorize is the one place that decides who may touch a path: a principal
// reads and writes only below its own home; principal resources are readable
// by every authenticated principal (clients look up attendees there), writable
// by none over DAV.
func authorize(t target, principal, method string) error {
	switch t.kind {
	case kindHome, kindCalendar, kindObject:
		if t.owner != principal {
			return errNeedPrivileges
		}
	case kindPrincipal:
		if method != "PROPFIND" && method != "REPORT" && method != http.MethodGet && method != http.MethodHead && t.owner != principal {
			return errNeedPrivileges
		}
	}
	return nil
}

// options answers OPTIONS before authentication (clients probe with it):
// Allow lists the methods the path's tree serves (RFC 9110 §10.2.1), so the
// read-only views of the past do not offer writes they would refuse.
func (s *server) options(w http.ResponseWriter, r *http.Request, path string) {
	allow := allowHeader
	for _, tt := range timeTravel {
		if rest, ok := strings.CutPrefix(path, tt.prefix); ok {
			allow = tt.allow(rest)
			break
		}
	}
	w.Header().Set("Allow", allow)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// timeTravel are the read-only and restoring views of the log (issue 4):
// /history/ (an object's versions), /asof/ (a calendar at an instant) and
// /trash/ (deleted calendars and objects). Each is served by its own file.
// allow is the Allow header for the escaped path after the prefix.
var timeTravel = []struct {
	prefix string
	serve  func(s *server, w http.ResponseWriter, r *http.Request, rest string) error
	allow  func(rest string) string
}{
	{historyPrefix, (*server).serveHistory, historyAllow},
	{asOfPrefix, (*server).serveAsOf, func(string) string { return readOnlyAllow }},
	{trashPrefix, (*server).serveTrash, trashAllow},
}

func (s *server) dispatch(w http.ResponseWriter, r *http.Request, t target) error {
	switch r.Method {
	case http.MethodPost:
		// POST on a calendar or object restores it to an earlier instant
		// (restore.go); nothing else takes POST.
		return s.restore(w, r, t)
	case "PROPFIND":
		return s.propfind(w, r, t)
	case "PROPPATCH":
		return s.proppatch(w, r, t)
	case "MKCALENDAR":
		return s.mkcalendar(w, r, t, false)
	case "MKCOL":
		return s.mkcalendar(w, r, t, true)
	case "REPORT":
		return s.report(w, r, t)
	case http.MethodGet, http.MethodHead:
		return s.get(w, r, t)
	case http.MethodPut:
		return s.put(w, r, t)
	case http.MethodDelete:
		return s.delete(w, r, t)
	case "COPY", "MOVE":
		return s.relocate(w, r, t, r.Method == "MOVE")
	case "ACL":
		// ACLs are readable but fixed (props.go): nobody holds write-acl.
		e := errCondition(http.StatusForbidden, nsDAV, "need-privileges", "access control lists cannot be changed")
		e.inner = "<D:resource>" + hrefXML(t.href()) + "<D:privilege><D:write-acl/></D:privilege></D:resource>"
		return e
	}
	w.Header().Set("Allow", allowHeader)
	return errStatus(http.StatusMethodNotAllowed, "unsupported method")
}
