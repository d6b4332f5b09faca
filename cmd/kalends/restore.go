package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kalends/kalends/dav"
	"github.com/kalends/kalends/domain"
)

// kalends restore puts a calendar, or one object, back as it was at an
// instant (dav.Backend.Restore), and kalends trash (trash.go) lists and
// undeletes what was deleted. Both append events attributed to the
// operator acting for the calendar's owner; through the running server's
// admin socket when one serves the data directory, else over a node opened
// here, like the user commands.
//
//	POST /v1/restore              restoreRequest → dav.RestorePlan
//	GET  /v1/trash?user=&calendar= → [dav.TrashEntry]
//	POST /v1/trash/undelete       undeleteRequest → dav.RestorePlan

func init() {
	registerCommand("restore", operatorCommand{usage: restoreUsage, run: runRestore, routes: timeTravelRoutes})
}

const restoreUsage = `  kalends restore --calendar OWNER/NAME [--object NAME] --to INSTANT [--dry-run]
                                        put a calendar or one object back as it was at INSTANT
`

const restoreHelp = `Usage:
  kalends restore --calendar OWNER/NAME [--object NAME] --to INSTANT [--dry-run]

INSTANT is RFC 3339 (2026-03-01T09:30:00Z), iCalendar UTC (20260301T093000Z)
or a duration ago (-90m). Nothing is rewritten: the restore appends events,
so the state it replaces stays restorable, and clients see it when they sync.
`

// restoreRequest is the admin API's form of a restore.
type restoreRequest struct {
	Owner    string    `json:"owner"`
	Calendar string    `json:"calendar"`
	Object   string    `json:"object,omitempty"`
	To       time.Time `json:"to"`
	DryRun   bool      `json:"dryRun,omitempty"`
}

// undeleteRequest is the admin API's form of a trash restore.
type undeleteRequest struct {
	Owner    string `json:"owner"`
	Calendar string `json:"calendar"`
	Object   string `json:"object,omitempty"`
}

// timeTravelOps are what restore and trash do: over a node (nodeTimeTravel)
// or through the admin socket (adminClient), the same code deciding.
type timeTravelOps interface {
	Restore(ctx context.Context, req restoreRequest) (dav.RestorePlan, error)
	Trash(ctx context.Context, owner, calendar string) ([]dav.TrashEntry, error)
	Undelete(ctx context.Context, req undeleteRequest) (dav.RestorePlan, error)
}

// nodeTimeTravel runs the commands over a node. The trash has no retention
// here: retention bounds what owners undo themselves, while the operator
// can restore anything the log holds anyway.
type nodeTimeTravel struct{ n *node }

func (o nodeTimeTravel) Restore(ctx context.Context, req restoreRequest) (dav.RestorePlan, error) {
	return o.n.backend.Restore(ctx, operatorMeta(ctx, req.Owner), req.Owner, req.Calendar, req.Object, req.To, req.DryRun)
}

func (o nodeTimeTravel) Trash(ctx context.Context, owner, calendar string) ([]dav.TrashEntry, error) {
	if _, err := (&localOps{n: o.n}).principal(owner); err != nil {
		return nil, err
	}
	return o.n.backend.Trash(ctx, owner, calendar, 0)
}

func (o nodeTimeTravel) Undelete(ctx context.Context, req undeleteRequest) (dav.RestorePlan, error) {
	return o.n.backend.Undelete(ctx, operatorMeta(ctx, req.Owner), req.Owner, req.Calendar, req.Object, 0)
}

func (c *adminClient) Restore(ctx context.Context, req restoreRequest) (dav.RestorePlan, error) {
	var plan dav.RestorePlan
	err := c.call(ctx, http.MethodPost, "/v1/restore", req, &plan)
	return plan, err
}

func (c *adminClient) Trash(ctx context.Context, owner, calendar string) ([]dav.TrashEntry, error) {
	var entries []dav.TrashEntry
	q := "user=" + url.QueryEscape(owner) + "&calendar=" + url.QueryEscape(calendar)
	err := c.call(ctx, http.MethodGet, "/v1/trash?"+q, nil, &entries)
	return entries, err
}

func (c *adminClient) Undelete(ctx context.Context, req undeleteRequest) (dav.RestorePlan, error) {
	var plan dav.RestorePlan
	err := c.call(ctx, http.MethodPost, "/v1/trash/undelete", req, &plan)
	return plan, err
}

// timeTravelRoutes serves restore and trash on the admin socket.
func timeTravelRoutes(mux *http.ServeMux, n *node) {
	ops := nodeTimeTravel{n}
	mux.HandleFunc("POST /v1/restore", func(w http.ResponseWriter, r *http.Request) {
		var req restoreRequest
		err := decodeBody(r, &req)
		var plan dav.RestorePlan
		if err == nil {
			plan, err = ops.Restore(r.Context(), req)
		}
		reply(w, http.StatusOK, plan, err)
	})
	mux.HandleFunc("GET /v1/trash", func(w http.ResponseWriter, r *http.Request) {
		entries, err := ops.Trash(r.Context(), r.URL.Query().Get("user"), r.URL.Query().Get("calendar"))
		if entries == nil {
			entries = []dav.TrashEntry{}
		}
		reply(w, http.StatusOK, entries, err)
	})
	mux.HandleFunc("POST /v1/trash/undelete", func(w http.ResponseWriter, r *http.Request) {
		var req undeleteRequest
		err := decodeBody(r, &req)
		var plan dav.RestorePlan
		if err == nil {
			plan, err = ops.Undelete(r.Context(), req)
		}
		reply(w, http.StatusOK, plan, err)
	})
}

// timeTravelFlags are the settings these commands take: those that open
// the data directory, as for the user commands.
func timeTravelFlags(name string, c cli) (*config, *flag.FlagSet) {
	fs := newFlagSet(name, c)
	return commandConfig(fs, userSettings), fs
}

func runRestore(ctx context.Context, args []string, c cli) error {
	cfg, fs := timeTravelFlags("restore", c)
	calendar := fs.String("calendar", "", "the calendar, OWNER/NAME")
	object := fs.String("object", "", "only this object (its name in the calendar)")
	to := fs.String("to", "", "the instant to go back to")
	dryRun := fs.Bool("dry-run", false, "list what would change, append nothing")
	fs.Usage = func() { fmt.Fprint(c.stderr, restoreHelp); fs.PrintDefaults() }
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	owner, cal, obj, refErr := parseRef(*calendar)
	if len(rest) != 0 || *to == "" || refErr != nil || obj != "" {
		fmt.Fprint(c.stderr, restoreHelp)
		return errUsage
	}
	instant, err := domain.ParseInstant(*to, time.Now())
	if err != nil {
		return err
	}
	ctx = withOrigin(ctx, origin{requestID: newRequestID(), userAgent: "kalends-cli", remoteAddr: "local"})
	ops, done, err := openOperatorAs(ctx, cfg, func(n *node) timeTravelOps { return nodeTimeTravel{n} })
	if err != nil {
		return err
	}
	plan, err := ops.Restore(ctx, restoreRequest{Owner: owner, Calendar: cal, Object: *object, To: instant, DryRun: *dryRun})
	if err == nil {
		printPlan(c.stdout, plan)
	}
	return errors.Join(err, done())
}

// parseRef reads OWNER/CALENDAR[/OBJECT].
func parseRef(s string) (owner, cal, obj string, err error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return "", "", "", fmt.Errorf("%q: want OWNER/CALENDAR or OWNER/CALENDAR/OBJECT", s)
	}
	if len(parts) == 3 {
		obj = parts[2]
	}
	return parts[0], parts[1], obj, nil
}

// printPlan says what a restore changed, or on a dry run would change.
func printPlan(w io.Writer, p dav.RestorePlan) {
	what := p.Calendar
	if p.Object != "" {
		what += "/" + p.Object
	}
	when := p.AsOf.UTC().Format(time.RFC3339Nano)
	switch {
	case p.Empty():
		fmt.Fprintf(w, "%s is as it was at %s: nothing to restore\n", what, when)
		return
	case p.DryRun:
		fmt.Fprintf(w, "restoring %s to %s would change (dry run, nothing appended):\n", what, when)
	default:
		fmt.Fprintf(w, "restored %s to %s:\n", what, when)
	}
	if p.Restoration.Calendar != "" {
		fmt.Fprintf(w, "  calendar %s\n", p.Restoration.Calendar)
	}
	for _, n := range p.PropsSet {
		fmt.Fprintf(w, "  property set      {%s}%s\n", n.Space, n.Local)
	}
	for _, n := range p.PropsRemoved {
		fmt.Fprintf(w, "  property removed  {%s}%s\n", n.Space, n.Local)
	}
	for _, group := range []struct {
		verb  string
		names []string
	}{{"added  ", p.Added}, {"changed", p.Changed}, {"removed", p.Removed}} {
		for _, n := range group.names {
			fmt.Fprintf(w, "  %s  %s\n", group.verb, n)
		}
	}
}
