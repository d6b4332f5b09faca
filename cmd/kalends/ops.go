package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/kalends/kalends/dav/auth"
	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/projections"
)

// userOps are the operator's user commands. The server implements them over
// its node and exposes them on the admin socket; the CLI calls them through
// the socket (adminClient) or, when no server runs, over a node of its own
// (localOps). Either way the same code decides.
type userOps interface {
	AddUser(ctx context.Context, u newUser) error
	SetPassword(ctx context.Context, name, password string) error
	DisableUser(ctx context.Context, name string) error
	ListUsers(ctx context.Context) ([]userInfo, error)
}

// newUser is a user to create.
type newUser struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	Password    string `json:"password"`
}

// userInfo is a user as the operator sees it: the principal from the
// projections, and whether the credential store has a password for it.
type userInfo struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName,omitempty"`
	Email       string    `json:"email,omitempty"`
	Disabled    bool      `json:"disabled"`
	HasPassword bool      `json:"hasPassword"`
	Created     time.Time `json:"created"`
}

// opError is a refusal with the HTTP status the admin API answers it with;
// the admin client turns such answers back into an opError, so the CLI
// reports the same message whichever way it reached the node.
type opError struct {
	Status  int    `json:"status"`
	Message string `json:"error"`
}

func (e *opError) Error() string { return e.Message }

func refused(status int, format string, args ...any) error {
	return &opError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// origin is where an operator command came from, recorded in its events.
type origin struct {
	requestID, userAgent, remoteAddr string
}

type originKey struct{}

func withOrigin(ctx context.Context, o origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// operatorMeta is the metadata of a CLI change: the operator acting on the
// named principal.
func operatorMeta(ctx context.Context, principal string) eventlog.Metadata {
	o, _ := ctx.Value(originKey{}).(origin)
	return eventlog.Metadata{
		Principal:  eventlog.Operator,
		OnBehalfOf: principal,
		Time:       time.Now(),
		RequestID:  o.requestID,
		UserAgent:  o.userAgent,
		RemoteAddr: o.remoteAddr,
	}
}

// localOps implements userOps over a node. Principals are events (through
// the backend); passwords go to the credential store only.
type localOps struct {
	n               *node
	defaultCalendar string
}

func checkPassword(password string) error {
	if password == "" {
		return refused(http.StatusBadRequest, "the password is empty")
	}
	if len(password) > auth.MaxPasswordLen {
		return refused(http.StatusBadRequest, "the password is longer than %d bytes", auth.MaxPasswordLen)
	}
	return nil
}

func (o *localOps) AddUser(ctx context.Context, u newUser) error {
	// Checked before the principal exists, so that a refused password never
	// leaves a user who cannot log in.
	if err := checkPassword(u.Password); err != nil {
		return err
	}
	p := domain.PrincipalCreated{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email}
	if err := o.n.backend.CreatePrincipal(ctx, operatorMeta(ctx, u.Name), p, o.defaultCalendar); err != nil {
		return err
	}
	if err := o.n.creds.Set(u.Name, u.Password); err != nil {
		return fmt.Errorf("user %s was created but has no password (set one with `kalends user passwd %s`): %w", u.Name, u.Name, err)
	}
	return nil
}

func (o *localOps) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	if _, err := o.principal(name); err != nil {
		return err
	}
	return o.n.creds.Set(name, password)
}

// DisableUser records the principal as disabled and drops its password: the
// disabled check alone would lock it out, but a hash that no longer guards
// anything should not linger. Re-enabling will mean setting a new password.
func (o *localOps) DisableUser(ctx context.Context, name string) error {
	if err := o.n.backend.DisablePrincipal(ctx, operatorMeta(ctx, name), name); err != nil {
		return err
	}
	return o.n.creds.Delete(name)
}

func (o *localOps) ListUsers(ctx context.Context) ([]userInfo, error) {
	v := o.n.store.View()
	defer v.Close()
	var users []userInfo
	err := v.Principals(func(p projections.Principal) error {
		users = append(users, userInfo{
			Name: p.Name, DisplayName: p.DisplayName, Email: p.Email,
			Disabled: p.Disabled, HasPassword: o.n.creds.Has(p.Name), Created: p.Created,
		})
		return nil
	})
	return users, err
}

func (o *localOps) principal(name string) (projections.Principal, error) {
	v := o.n.store.View()
	defer v.Close()
	p, ok, err := v.Principal(name)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, refused(http.StatusNotFound, "no user %q", name)
	}
	return p, nil
}

// active is the authenticator's hook: only a principal that exists and is
// not disabled may log in, whatever the credential store holds.
func (n *node) active(name string) bool { return n.store.PrincipalActive(name) }
