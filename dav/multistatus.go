package dav

import (
	"fmt"
	"net/http"
)

// multistatus streams a 207 body: the header and root go out first, then
// each response as soon as it is known, so memory does not grow with the
// number of members.
type multistatus struct {
	x *xmlWriter
}

func startMultistatus(w http.ResponseWriter, root string) *multistatus {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	m := &multistatus{x: newXMLWriter(w)}
	m.x.raw(`<?xml version="1.0" encoding="utf-8"?>` + "\n<D:" + root + rootNamespaces + ">")
	return m
}

func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return fmt.Sprintf("HTTP/1.1 %d %s", code, http.StatusText(code))
}

// statusLines are the status lines of the codes net/http names, made once:
// a multistatus writes one per propstat.
var statusLines = func() (lines [600]string) {
	for code := range lines {
		if text := http.StatusText(code); text != "" {
			lines[code] = fmt.Sprintf("HTTP/1.1 %d %s", code, text)
		}
	}
	return lines
}()

// propstat is one group of properties that share a status.
type propstat struct {
	status int
	props  []propEntry
	// errInner is a precondition element to explain a failed group
	// (RFC 4918 §14.22 allows DAV:error inside a propstat).
	errInner string
}

// propEntry is a property to write: name and inner XML (empty for names
// only, as in propname answers and failed properties), or text to escape as
// it is written. Calendar-data is text: escaped straight into the
// response, a query's hundreds of kilobytes are not copied first.
type propEntry struct {
	space, local string
	inner        string
	text         string
}

func (m *multistatus) response(href string, stats []propstat) {
	m.x.raw("<D:response>")
	m.x.textElement(nsDAV, "href", href)
	for _, ps := range stats {
		m.propstatOnly(ps)
	}
	m.x.raw("</D:response>")
}

// propstatOnly writes one DAV:propstat (skipped when empty).
func (m *multistatus) propstatOnly(ps propstat) {
	x := m.x
	if len(ps.props) == 0 {
		return
	}
	x.raw("<D:propstat><D:prop>")
	for _, p := range ps.props {
		if p.text != "" {
			x.textElement(p.space, p.local, p.text)
		} else {
			x.element(p.space, p.local, p.inner)
		}
	}
	x.raw("</D:prop><D:status>")
	x.raw(statusLine(ps.status))
	x.raw("</D:status>")
	if ps.errInner != "" {
		x.raw("<D:error>" + ps.errInner + "</D:error>")
	}
	x.raw("</D:propstat>")
}

func (m *multistatus) statusResponse(href string, status int) {
	m.x.raw("<D:response>" + hrefXML(href) + "<D:status>" + statusLine(status) + "</D:status></D:response>")
}

// close ends the body; trailer is written inside the root first (the
// sync-token of a sync-collection answer).
func (m *multistatus) close(root, trailer string) error {
	m.x.raw(trailer)
	m.x.raw("</D:" + root + ">\n")
	return m.x.flush()
}
