package dav

import (
	"net/http"
	"time"

	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
	"github.com/rs/zerolog"
)

// Config wires a DAV handler to its log, projections and authenticator.
type Config struct {
	Log    eventlog.Log
	Store  *projections.Store
	Auth   auth.Authenticator
	Logger zerolog.Logger
	Limits domain.Limits
	// LogBodies logs request and response bodies at debug level, for
	// debugging clients (never passwords: the Authorization header is not
	// logged).
	LogBodies bool
	// TrashRetention is how long an owner can still list and undelete what
	// was deleted (trash.go); 0 means forever, which costs nothing since
	// the log keeps everything anyway.
	TrashRetention time.Duration
}

// NewHandler returns the HTTP handler serving every DAV path.
func NewHandler(cfg Config) http.Handler { return newServer(cfg) }
