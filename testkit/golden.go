package testkit

import (
	"flag"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the server's answers")

// RunGolden replays a golden conversation file against s and compares
// every answer. The file is a sequence of exchanges:
//
//	>>> METHOD /path user        (user's password is the user name)
//	Header: value
//	                              (blank line)
//	request body
//	<<< 207
//	Header: value                 (only the headers listed are compared)
//	                              (blank line)
//	expected body
//
// Lines starting with "#" before a ">>>" are comments. HTTP dates and
// answer DTSTAMPs are replaced by placeholders before comparing, so files
// stay stable.
// With -update the file is rewritten with the actual answers.
func RunGolden(t *testing.T, s *Server, path string) {
	t.Helper()
	text := ReadFile(t, path)
	exchanges := parseGolden(t, text)
	var out strings.Builder
	if i := strings.Index(text, ">>> "); i > 0 {
		out.WriteString(text[:i]) // leading comments
	}
	for i, ex := range exchanges {
		resp, body := s.Do(ex.req)
		gotStatus := strconv.Itoa(resp.StatusCode)
		gotHeaders := make([]string, 0, len(ex.wantHeaders))
		for _, h := range ex.wantHeaders {
			name, _, _ := strings.Cut(h, ":")
			gotHeaders = append(gotHeaders, name+": "+normalize(resp.Header.Get(name)))
		}
		gotBody := normalize(body)
		out.WriteString(ex.raw)
		out.WriteString("<<< " + gotStatus + "\n")
		for _, h := range gotHeaders {
			out.WriteString(h + "\n")
		}
		out.WriteString("\n" + gotBody)
		if !strings.HasSuffix(gotBody, "\n") {
			out.WriteString("\n")
		}
		if *update {
			continue
		}
		where := path + ": exchange " + strconv.Itoa(i+1) + " (" + ex.req.Method + " " + ex.req.Path + ")"
		if gotStatus != ex.wantStatus {
			t.Errorf("%s: status %s, want %s\nbody:\n%s", where, gotStatus, ex.wantStatus, body)
		}
		for j, h := range ex.wantHeaders {
			if gotHeaders[j] != h {
				t.Errorf("%s: header %q, want %q", where, gotHeaders[j], h)
			}
		}
		if strings.TrimSpace(gotBody) != strings.TrimSpace(ex.wantBody) {
			t.Errorf("%s: body differs\n--- got\n%s\n--- want\n%s", where, gotBody, ex.wantBody)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type exchange struct {
	raw         string // the request part, as written in the file
	req         Request
	wantStatus  string
	wantHeaders []string
	wantBody    string
}

var (
	httpDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT`)
	// A free-busy answer is stamped with the time of the answer. Stored
	// objects' DTSTAMPs are normalized too: harmless, both sides are.
	answerStamp = regexp.MustCompile(`DTSTAMP:\d{8}T\d{6}Z`)
)

func normalize(s string) string {
	s = httpDate.ReplaceAllString(s, "<DATE>")
	return answerStamp.ReplaceAllString(s, "DTSTAMP:<NOW>")
}

func parseGolden(t *testing.T, text string) []exchange {
	var exs []exchange
	pendingComment := ""
	blocks := strings.Split(text, "\n>>> ")
	for i, b := range blocks {
		if i == 0 {
			if !strings.HasPrefix(b, ">>> ") {
				continue // leading comments
			}
			b = strings.TrimPrefix(b, ">>> ")
		}
		reqPart, respPart, ok := strings.Cut(b, "\n<<< ")
		if !ok {
			t.Fatalf("golden exchange %d has no <<< response", i)
		}
		var ex exchange
		ex.raw = pendingComment + ">>> " + reqPart + "\n"
		ex.req = parseGoldenRequest(t, reqPart)
		statusLine, rest, _ := strings.Cut(respPart, "\n")
		ex.wantStatus = strings.TrimSpace(statusLine)
		ex.wantHeaders, ex.wantBody = splitHead(rest)
		ex.wantBody, pendingComment = splitTrailingComment(ex.wantBody)
		exs = append(exs, ex)
	}
	return exs
}

func parseGoldenRequest(t *testing.T, part string) Request {
	first, rest, _ := strings.Cut(part, "\n")
	f := strings.Fields(first)
	if len(f) < 2 {
		t.Fatalf("golden request line %q: want METHOD PATH [USER]", first)
	}
	req := Request{Method: f[0], Path: f[1], Header: http.Header{}}
	if len(f) > 2 {
		req.User, req.Pass = f[2], f[2]
	}
	headers, body := splitHead(rest)
	for _, h := range headers {
		if k, v, ok := strings.Cut(h, ":"); ok {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	// Bodies are written with LF; iCalendar wants CRLF on the wire.
	if strings.Contains(req.Header.Get("Content-Type"), "text/calendar") {
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	req.Body = body
	return req
}

// splitHead splits header lines from the body at the first empty line.
func splitHead(text string) (headers []string, body string) {
	for text != "" {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		if line == "" {
			break
		}
		headers = append(headers, line)
	}
	return headers, text
}

// splitTrailingComment separates the "#" lines that end a response body:
// they describe the next exchange.
func splitTrailingComment(body string) (rest, comment string) {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	i := len(lines)
	for i > 0 && strings.HasPrefix(lines[i-1], "#") {
		i--
	}
	if i == len(lines) {
		return body, ""
	}
	return strings.Join(lines[:i], "\n") + "\n", strings.Join(lines[i:], "\n") + "\n"
}
