package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/rs/zerolog"
)

// The admin API: JSON over HTTP on the Unix socket <data>/admin.sock (mode
// 0600, so only the server's own OS user can reach it). It exists because
// the embedded log is locked by the running server; operator commands are
// routed to it instead. Later operator commands (restore, audit, verify)
// add routes under /v1/ the same way.
//
//	GET  /v1/ping                        204: a server is serving this directory
//	GET  /v1/users                       200 [userInfo]
//	POST /v1/users                       newUser → 201
//	PUT  /v1/users/{name}/password       {"password"} → 204
//	POST /v1/users/{name}/disable        204
//
// A refusal is {"status", "error"} with that HTTP status.

// adminMaxBody bounds request bodies; the API only ever takes small JSON.
const adminMaxBody = 64 << 10

type passwordBody struct {
	Password string `json:"password"`
}

func adminHandler(ops userOps, n *node, logger zerolog.Logger) http.Handler {
	mux := http.NewServeMux()
	if n != nil {
		for _, cmd := range operatorCommands {
			if cmd.routes != nil {
				cmd.routes(mux, n)
			}
		}
	}
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/users", func(w http.ResponseWriter, r *http.Request) {
		users, err := ops.ListUsers(r.Context())
		if users == nil {
			users = []userInfo{}
		}
		reply(w, http.StatusOK, users, err)
	})
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		var u newUser
		err := decodeBody(r, &u)
		if err == nil {
			err = ops.AddUser(r.Context(), u)
		}
		reply(w, http.StatusCreated, nil, err)
	})
	mux.HandleFunc("PUT /v1/users/{name}/password", func(w http.ResponseWriter, r *http.Request) {
		var b passwordBody
		err := decodeBody(r, &b)
		if err == nil {
			err = ops.SetPassword(r.Context(), r.PathValue("name"), b.Password)
		}
		reply(w, http.StatusNoContent, nil, err)
	})
	mux.HandleFunc("POST /v1/users/{name}/disable", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, ops.DisableUser(r.Context(), r.PathValue("name")))
	})

	logger = logger.With().Str("component", "admin").Logger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(withOrigin(r.Context(), origin{requestID: id, userAgent: r.UserAgent(), remoteAddr: "admin-socket"}))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		level := zerolog.InfoLevel
		if r.URL.Path == "/v1/ping" {
			level = zerolog.DebugLevel // every CLI command starts with one
		}
		logger.WithLevel(level).Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.status).
			Dur("duration", time.Since(start)).Str("request_id", id).Msg("admin request")
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, adminMaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refused(http.StatusBadRequest, "bad request body: %v", err)
	}
	return nil
}

func reply(w http.ResponseWriter, status int, body any, err error) {
	if err != nil {
		oe := asOpError(err)
		status, body = oe.Status, oe
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// asOpError gives every error the status it is answered with: the domain's
// refusals by their condition, anything unforeseen as a server error.
func asOpError(err error) *opError {
	var oe *opError
	if errors.As(err, &oe) {
		return oe
	}
	var pe *domain.PreconditionError
	if errors.As(err, &pe) {
		msg := pe.Reason
		if msg == "" {
			msg = pe.Error()
		}
		switch pe.Condition {
		case domain.NotFound:
			return &opError{http.StatusNotFound, msg}
		case domain.ResourceMustBeNull:
			return &opError{http.StatusConflict, msg}
		}
		return &opError{http.StatusBadRequest, msg}
	}
	return &opError{http.StatusInternalServerError, err.Error()}
}

// listenAdmin opens the admin socket. A socket file left by a crashed server
// is removed first: the caller holds the log's lock, so no live server can
// own it.
func listenAdmin(path string) (net.Listener, error) {
	// sun_path holds 104 bytes on macOS and the BSDs, 108 on Linux.
	if len(path) >= 104 {
		return nil, fmt.Errorf("admin socket %s: the path is too long for a Unix socket; use a shorter --data", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// adminClient is userOps through a running server's admin socket.
type adminClient struct {
	hc *http.Client
}

// dialAdmin connects to the server serving the data directory whose socket
// is path, or fails if none answers.
func dialAdmin(ctx context.Context, path string) (*adminClient, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	c := &adminClient{hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.call(ctx, http.MethodGet, "/v1/ping", nil, nil); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *adminClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	// The host is a placeholder: the transport always dials the socket.
	req, err := http.NewRequestWithContext(ctx, method, "http://kalends"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kalends-cli")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		oe := &opError{Status: resp.StatusCode}
		if json.NewDecoder(resp.Body).Decode(oe) != nil || oe.Message == "" {
			oe.Message = resp.Status
		}
		return oe
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func userPath(name, action string) string {
	return "/v1/users/" + url.PathEscape(name) + "/" + action
}

func (c *adminClient) AddUser(ctx context.Context, u newUser) error {
	return c.call(ctx, http.MethodPost, "/v1/users", u, nil)
}

func (c *adminClient) SetPassword(ctx context.Context, name, password string) error {
	return c.call(ctx, http.MethodPut, userPath(name, "password"), passwordBody{password}, nil)
}

func (c *adminClient) DisableUser(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, userPath(name, "disable"), nil, nil)
}

func (c *adminClient) ListUsers(ctx context.Context) ([]userInfo, error) {
	var users []userInfo
	err := c.call(ctx, http.MethodGet, "/v1/users", nil, &users)
	return users, err
}

func (c *adminClient) close() { c.hc.CloseIdleConnections() }
