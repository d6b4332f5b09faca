package dav_test

import (
	"net/http"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// TestOptionsAllow: OPTIONS lists what the path serves (RFC 9110 §10.2.1).
// The views of the past are read-only, so their Allow offers no write; each
// lists exactly the methods its handler answers.
func TestOptionsAllow(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	const live = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCALENDAR, MKCOL, COPY, MOVE, REPORT, POST"
	for path, want := range map[string]string{
		"/calendars/alice/default/":                             live,
		"/calendars/alice/default/ev.ics":                       live,
		"/asof/20991231T235959Z/calendars/alice/default/":       "OPTIONS, GET, HEAD, PROPFIND, REPORT",
		"/asof/20991231T235959Z/calendars/alice/default/ev.ics": "OPTIONS, GET, HEAD, PROPFIND, REPORT",
		"/history/alice/default/":                               "OPTIONS, PROPFIND",
		"/history/alice/default/ev.ics/":                        "OPTIONS, PROPFIND",
		"/history/alice/default/ev.ics/3":                       "OPTIONS, GET, HEAD, PROPFIND",
		"/trash/alice/":                                         "OPTIONS, PROPFIND",
		"/trash/alice/default/":                                 "OPTIONS, PROPFIND, POST",
		"/trash/alice/default/ev.ics":                           "OPTIONS, GET, HEAD, POST",
	} {
		resp, body := s.Do(testkit.Request{Method: "OPTIONS", Path: path})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Allow") != want {
			t.Errorf("OPTIONS %s: %d, Allow %q, want %q\n%s", path, resp.StatusCode, resp.Header.Get("Allow"), want, body)
		}
	}
	// A method outside Allow is refused with the same Allow.
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/history/alice/default/ev.ics/", "OPTIONS, PROPFIND"},
		{"PROPFIND", "/trash/alice/default/ev.ics", "OPTIONS, GET, HEAD, POST"},
	} {
		resp, _ := s.Do(testkit.Request{Method: c.method, Path: c.path, User: "alice", Pass: "alice"})
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.want {
			t.Errorf("%s %s: %d, Allow %q, want 405 with %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.want)
		}
	}
}
