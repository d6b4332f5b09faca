package dav

import (
	"fmt"
	"net/http"
	"strings"
)

// multistatus streams a 207 body: the header and root go out first, then
// each response as soon as it is known, so memory does not grow with the
// number of members.
type multistatus struct {
	x *xmlWriter
	// minimal leaves out 404 propstats (RFC 8144 §3.1), as a PROPFIND or
	// REPORT asking for return=minimal wants.
	minimal bool
}

// startMultistatus answers r with a 207 whose root element is D:<root>.
func startMultistatus(w http.ResponseWriter, r *http.Request, root string) *multistatus {
	m := &multistatus{}
	if r.Method == "PROPFIND" || r.Method == "REPORT" {
		w.Header().Add("Vary", "Brief, Prefer")
		if m.minimal = preferMinimal(r); m.minimal {
			preferenceApplied(w, "return=minimal")
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	m.x = newXMLWriter(w)
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
	// text, when not "", is the value as text, escaped as it is written
	// (calendar-data) instead of inner.
	text string
	// attrs are the element's own attributes, as a dead property keeps
	// them (domain.Property.Attrs); "" for nearly every property.
	attrs string
}

// response writes one DAV:response with its propstats. One left with
// none (every property missing under return=minimal, or none asked for)
// gets an empty 200 propstat: a DAV:response needs a propstat or a status
// (RFC 4918 §14.24, RFC 8144 §3.1).
func (m *multistatus) response(href string, stats []propstat) {
	m.x.raw("<D:response>")
	m.x.textElement(nsDAV, "href", href)
	wrote := false
	for _, ps := range stats {
		if m.minimal && ps.status == http.StatusNotFound {
			continue
		}
		wrote = m.propstatOnly(ps) || wrote
	}
	if !wrote {
		m.x.raw("<D:propstat><D:prop/><D:status>" + statusLine(http.StatusOK) + "</D:status></D:propstat>")
	}
	m.x.raw("</D:response>")
}

// propstatOnly writes one DAV:propstat (skipped when empty) and reports
// whether it wrote it.
func (m *multistatus) propstatOnly(ps propstat) bool {
	x := m.x
	if len(ps.props) == 0 {
		return false
	}
	x.raw("<D:propstat><D:prop>")
	for _, p := range ps.props {
		if p.text != "" {
			x.textElement(p.space, p.local, p.text)
		} else {
			x.elementWithAttrs(p.space, p.local, p.attrs, p.inner)
		}
	}
	x.raw("</D:prop><D:status>")
	x.raw(statusLine(ps.status))
	x.raw("</D:status>")
	if ps.errInner != "" {
		x.raw("<D:error>" + ps.errInner + "</D:error>")
	}
	x.raw("</D:propstat>")
	return true
}

func (m *multistatus) statusResponse(href string, status int) {
	m.statusResponseError(href, status, "")
}

// statusResponseError writes a response with a status and, if errInner is
// not "", the precondition element that explains it (RFC 4918 §14.5).
func (m *multistatus) statusResponseError(href string, status int, errInner string) {
	m.x.raw("<D:response>" + hrefXML(href) + "<D:status>" + statusLine(status) + "</D:status>")
	if errInner != "" {
		m.x.raw("<D:error>" + errInner + "</D:error>")
	}
	m.x.raw("</D:response>")
}

// close ends the body; trailer is written inside the root first (the
// sync-token of a sync-collection answer).
func (m *multistatus) close(root, trailer string) error {
	m.x.raw(trailer)
	m.x.raw("</D:" + root + ">\n")
	return m.x.flush()
}

// preferences are the Prefer header's preferences (RFC 7240 §2), by
// lower-cased name, with their values unquoted ("" for none); parameters
// are dropped. Several Prefer headers are read as one list.
func preferences(r *http.Request) map[string]string {
	prefs := map[string]string{}
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			p, _, _ = strings.Cut(p, ";")
			name, value, _ := strings.Cut(p, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if _, seen := prefs[name]; name != "" && !seen {
				prefs[name] = strings.Trim(strings.TrimSpace(value), `"`)
			}
		}
	}
	return prefs
}

// preferMinimal reports whether the client asked for a minimal answer:
// Prefer: return=minimal (RFC 8144), or Brief: t, its older form that
// Apple's clients still send beside it.
func preferMinimal(r *http.Request) bool {
	return strings.EqualFold(preferences(r)["return"], "minimal") || strings.EqualFold(strings.TrimSpace(r.Header.Get("Brief")), "t")
}

// preferenceApplied adds pref to the one Preference-Applied header (RFC
// 7240 §3).
func preferenceApplied(w http.ResponseWriter, pref string) {
	h := w.Header()
	if v := h.Get("Preference-Applied"); v != "" {
		pref = v + ", " + pref
	}
	h.Set("Preference-Applied", pref)
}
