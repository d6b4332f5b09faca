package testkit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

// Server is an in-process Kalends over a temporary data directory.
type Server struct {
	URL     string
	Dir     string
	Log     *pebblelog.Log
	Store   *projections.Store
	Creds   *auth.Credentials
	Backend *dav.Backend
	Limits  domain.Limits

	t      testing.TB
	http   *httptest.Server
	cancel context.CancelFunc
	done   chan error
}

// Options adjust a test server.
type Options struct {
	Limits domain.Limits
	// Dir reuses a data directory (to test restarts); "" means a new one.
	Dir string
	// Logger receives the server's logs; the zero value discards them.
	Logger *zerolog.Logger
}

// DefaultLimits are the limits a test server runs with unless told.
var DefaultLimits = domain.Limits{MaxResourceSize: 1 << 20}

// NewServer starts a server; it is stopped when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Limits == (domain.Limits{}) {
		opts.Limits = DefaultLimits
	}
	logger := zerolog.Nop()
	if opts.Logger != nil {
		logger = *opts.Logger
	}
	s := &Server{Dir: opts.Dir, Limits: opts.Limits, t: t, done: make(chan error, 1)}
	var err error
	if s.Log, err = pebblelog.Open(filepath.Join(opts.Dir, "log"), pebblelog.Options{Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if s.Store, err = projections.Open(filepath.Join(opts.Dir, "projections"), projections.Options{Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if s.Creds, err = auth.OpenCredentials(filepath.Join(opts.Dir, "credentials.json")); err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	go func() { s.done <- s.Store.Run(ctx, s.Log) }()
	s.Backend = dav.NewBackend(s.Log, s.Store, opts.Limits)
	s.http = httptest.NewServer(dav.NewHandler(dav.Config{
		Log: s.Log, Store: s.Store, Auth: auth.NewBasic(s.Creds, s.Store.PrincipalActive), Logger: logger, Limits: opts.Limits,
	}))
	s.URL = s.http.URL
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down and closes its store (idempotent).
func (s *Server) Stop() {
	if s.http == nil {
		return
	}
	s.http.Close()
	s.http = nil
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("projector: %v", err)
	}
	s.Store.Close()
	s.Log.Close()
}

// AddUser creates a principal with a default calendar named "default" and
// gives it a password.
func (s *Server) AddUser(name, password string) {
	s.t.Helper()
	meta := eventlog.Metadata{Principal: eventlog.Operator, Time: time.Now().UTC()}
	if err := s.Backend.CreatePrincipal(context.Background(), meta, domain.PrincipalCreated{Name: name, Email: name + "@example.com"}, "default"); err != nil {
		s.t.Fatal(err)
	}
	if err := s.Creds.Set(name, password); err != nil {
		s.t.Fatal(err)
	}
}

// Request is a raw HTTP request for tests that check exact bytes.
type Request struct {
	Method, Path string
	User, Pass   string // Basic credentials; User "" sends none
	Header       http.Header
	Body         string
}

// Do sends a raw request and returns the response with its body read.
func (s *Server) Do(req Request) (*http.Response, string) {
	s.t.Helper()
	r, err := http.NewRequest(req.Method, s.URL+req.Path, strings.NewReader(req.Body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.User != "" {
		r.SetBasicAuth(req.User, req.Pass)
	}
	resp, err := noRedirects.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, string(body)
}

// noRedirects shows redirects to the test instead of following them: Go
// would turn a redirected PROPFIND into a GET.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// BasicAuthClient is an http.Client that sends Basic credentials on every
// request, as the go-webdav client expects of its HTTPClient.
func BasicAuthClient(user, pass string) *http.Client {
	return &http.Client{Transport: basicAuth{user, pass}}
}

type basicAuth struct{ user, pass string }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return http.DefaultTransport.RoundTrip(r)
}

// ReadFile reads a test data file or fails the test.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
