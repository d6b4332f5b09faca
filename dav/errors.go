package dav

import (
	"errors"
	"net/http"

	"github.com/kalends/kalends/domain"
)

// davError is a refusal with a status and, where an RFC names one, the
// precondition element for the DAV:error body (RFC 4918 §16).
type davError struct {
	status int
	space  string // namespace of the condition element; "" for none
	local  string
	inner  string // the condition element's content (e.g. an href)
	reason string // for the log and a human reading the body
}

func (e *davError) Error() string {
	if e.reason != "" {
		return e.local + ": " + e.reason
	}
	return http.StatusText(e.status)
}

// conditionCatalog maps each domain condition to the status and element a
// client expects. The statuses follow what CalendarServer and SabreDAV send,
// which is what clients are tested against: 403 for CalDAV preconditions on
// content, 409 where the request targets the wrong place, 405 for creating
// what exists.
var conditionCatalog = map[domain.Condition]struct {
	status int
	space  string
}{
	domain.ValidCalendarData:           {http.StatusForbidden, nsCalDAV},
	domain.ValidCalendarObjectResource: {http.StatusForbidden, nsCalDAV},
	domain.SupportedCalendarComponent:  {http.StatusForbidden, nsCalDAV},
	domain.SupportedCalendarData:       {http.StatusForbidden, nsCalDAV},
	domain.NoUIDConflict:               {http.StatusForbidden, nsCalDAV},
	domain.MaxResourceSize:             {http.StatusForbidden, nsCalDAV},
	domain.CalendarCollectionLocation:  {http.StatusForbidden, nsCalDAV},
	domain.ValidTimezone:               {http.StatusForbidden, nsCalDAV},
	domain.ResourceMustBeNull:          {http.StatusMethodNotAllowed, nsDAV},
	domain.ValidCalendarName:           {http.StatusForbidden, nsDAV},
	domain.CannotModifyProtected:       {http.StatusForbidden, nsDAV},
	domain.NotFound:                    {http.StatusNotFound, ""},
	domain.PreconditionFailed:          {http.StatusPreconditionFailed, ""},
}

// fromDomain turns a domain refusal into its DAV answer.
func fromDomain(err error, hrefOf func(name string) string) *davError {
	var pe *domain.PreconditionError
	if !errors.As(err, &pe) {
		return nil
	}
	c, ok := conditionCatalog[pe.Condition]
	if !ok {
		c.status, c.space = http.StatusForbidden, nsCalDAV
	}
	e := &davError{status: c.status, space: c.space, local: string(pe.Condition), reason: pe.Reason}
	if c.space == "" {
		e.local = ""
	}
	if pe.Condition == domain.NoUIDConflict && pe.Href != "" {
		e.inner = hrefXML(hrefOf(pe.Href))
	}
	return e
}

// Errors raised by the DAV layer itself.
func errStatus(status int, reason string) *davError {
	return &davError{status: status, reason: reason}
}

func errCondition(status int, space, local, reason string) *davError {
	return &davError{status: status, space: space, local: local, reason: reason}
}

var (
	errNeedPrivileges  = errCondition(http.StatusForbidden, nsDAV, "need-privileges", "not yours")
	errFiniteDepth     = errCondition(http.StatusForbidden, nsDAV, "propfind-finite-depth", "Depth: infinity is not supported")
	errInvalidSync     = errCondition(http.StatusForbidden, nsDAV, "valid-sync-token", "the sync token cannot be honoured")
	errNotFound        = errStatus(http.StatusNotFound, "")
	errMethodNotFound  = errStatus(http.StatusMethodNotAllowed, "method not allowed here")
	errUnsupportedData = errCondition(http.StatusForbidden, nsCalDAV, "supported-calendar-data", "the body is not text/calendar")
)

// writeError answers with err's status and, where it has one, a DAV:error
// body naming the precondition.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var de *davError
	if !errors.As(err, &de) {
		if de = fromDomain(err, func(n string) string { return n }); de == nil {
			s.requestLog(r).Error().Err(err).Msg("internal error")
			de = errStatus(http.StatusInternalServerError, "internal error")
		}
	}
	noteError(r, de)
	if de.local == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(de.status)
		if r.Method != http.MethodHead {
			w.Write([]byte(http.StatusText(de.status) + "\n"))
		}
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(de.status)
	if r.Method == http.MethodHead {
		return
	}
	x := newXMLWriter(w)
	x.raw(`<?xml version="1.0" encoding="utf-8"?>` + "\n<D:error" + rootNamespaces + ">")
	x.element(de.space, de.local, de.inner)
	if de.reason != "" {
		x.raw("<CS:error-description>")
		x.text(de.reason)
		x.raw("</CS:error-description>")
	}
	x.raw("</D:error>\n")
	x.flush()
}
