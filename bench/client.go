package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client is a keep-alive HTTP client with Basic credentials, shared by the
// workers (net/http keeps one idle connection per worker).
type client struct {
	base     string // http://host:port, no trailing slash
	user     string
	pass     string
	calendar string // the calendar's path, with a trailing slash
	http     *http.Client
}

func newClient(base, user, pass, calendar string, conc int) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{
		base: strings.TrimRight(base, "/"), user: user, pass: pass, calendar: calendar,
		http: &http.Client{Transport: tr, Timeout: 2 * time.Minute},
	}
}

func (c *client) href(prefix string, i int) string {
	return c.calendar + uid(prefix, i) + ".ics"
}

// do sends one request and reads the whole answer. The latency is the time
// from sending to the last byte read. Any status outside 2xx is an error.
func (c *client) do(method, path string, hdr map[string]string, body []byte) (int, http.Header, []byte, time.Duration, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, 0, err
	}
	req.SetBasicAuth(c.user, c.pass)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, d, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet := string(data)
		if len(snippet) > 300 {
			snippet = snippet[:300] + "…"
		}
		return resp.StatusCode, resp.Header, data, d, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, snippet)
	}
	return resp.StatusCode, resp.Header, data, d, nil
}

func (c *client) put(path string, data []byte) (time.Duration, error) {
	_, h, _, d, err := c.do("PUT", path, map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, data)
	if err == nil && h.Get("ETag") == "" {
		err = fmt.Errorf("PUT %s: no ETag in the answer", path)
	}
	return d, err
}

func (c *client) get(path string, wantLen int) (time.Duration, error) {
	_, _, body, d, err := c.do("GET", path, nil, nil)
	if err == nil && len(body) < wantLen {
		err = fmt.Errorf("GET %s: %d bytes, want at least %d", path, len(body), wantLen)
	}
	return d, err
}

const propfindBody = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>`

func (c *client) propfind() ([]byte, time.Duration, error) {
	_, _, body, d, err := c.do("PROPFIND", c.calendar, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, []byte(propfindBody))
	return body, d, err
}

func multigetBody(hrefs []string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>`)
	for _, h := range hrefs {
		b.WriteString("<D:href>")
		xml.EscapeText(&b, []byte(h))
		b.WriteString("</D:href>")
	}
	b.WriteString("</C:calendar-multiget>")
	return b.Bytes()
}

func (c *client) multiget(hrefs []string) ([]byte, time.Duration, error) {
	_, _, body, d, err := c.do("REPORT", c.calendar, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, multigetBody(hrefs))
	return body, d, err
}

func (c *client) syncCollection(token string) ([]byte, time.Duration, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	_, _, data, d, err := c.do("REPORT", c.calendar, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(body))
	return data, d, err
}

// multistatus is what the checks need from a 207 body.
type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Status   string `xml:"DAV: status"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag         string `xml:"DAV: getetag"`
				ContentType  string `xml:"DAV: getcontenttype"`
				CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
	SyncToken string `xml:"DAV: sync-token"`
}

func parseMultistatus(body []byte) (*multistatus, error) {
	var ms multistatus
	if err := xml.Unmarshal(body, &ms); err != nil {
		return nil, fmt.Errorf("multistatus: %w", err)
	}
	return &ms, nil
}

// members counts the responses that are calendar objects (not the
// collection itself) and have a 200 propstat with an ETag.
func (ms *multistatus) members(calendar string) (n int) {
	for _, r := range ms.Responses {
		if r.Href == calendar || strings.TrimSuffix(r.Href, "/") == strings.TrimSuffix(calendar, "/") {
			continue
		}
		for _, ps := range r.Propstat {
			if strings.Contains(ps.Status, " 200 ") && ps.Prop.ETag != "" {
				n++
				break
			}
		}
	}
	return n
}
