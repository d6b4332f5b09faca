package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/kalends/kalends/dav"
)

func init() {
	registerCommand("trash", operatorCommand{usage: trashUsage, run: runTrash})
}

const trashUsage = `  kalends trash list --user NAME [--calendar NAME]
                                        list a user's deleted calendars and objects
  kalends trash restore OWNER/CAL[/OBJ] undelete a calendar or object as it was just before
`

const trashHelp = "Usage:\n" + trashUsage

// runTrash lists or undeletes; its admin routes are restore's (restore.go).
func runTrash(ctx context.Context, args []string, c cli) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "restore") {
		fmt.Fprint(c.stderr, trashHelp)
		return errUsage
	}
	sub := args[0]
	cfg, fs := timeTravelFlags("trash "+sub, c)
	var user, calendar string
	if sub == "list" {
		fs.StringVar(&user, "user", "", "whose trash")
		fs.StringVar(&calendar, "calendar", "", "only this calendar's")
	}
	fs.Usage = func() { fmt.Fprint(c.stderr, trashHelp); fs.PrintDefaults() }
	rest, err := cfg.parse(fs, args[1:], c.lookupEnv)
	if err != nil {
		return err
	}
	var req undeleteRequest
	switch {
	case sub == "list" && (user == "" || len(rest) != 0):
		fmt.Fprint(c.stderr, trashHelp)
		return errUsage
	case sub == "restore":
		var refErr error
		if len(rest) == 1 {
			req.Owner, req.Calendar, req.Object, refErr = parseRef(rest[0])
		}
		if len(rest) != 1 || refErr != nil {
			fmt.Fprint(c.stderr, trashHelp)
			return errUsage
		}
	}
	ctx = withOrigin(ctx, origin{requestID: newRequestID(), userAgent: "kalends-cli", remoteAddr: "local"})
	ops, done, err := openOperatorAs(ctx, cfg, func(n *node) timeTravelOps { return nodeTimeTravel{n} })
	if err != nil {
		return err
	}
	if sub == "list" {
		var entries []dav.TrashEntry
		if entries, err = ops.Trash(ctx, user, calendar); err == nil {
			err = printTrash(c.stdout, entries)
		}
	} else {
		var plan dav.RestorePlan
		if plan, err = ops.Undelete(ctx, req); err == nil {
			printPlan(c.stdout, plan)
		}
	}
	return errors.Join(err, done())
}

func printTrash(w io.Writer, entries []dav.TrashEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESTORE AS\tDELETED\tBY\tCLIENT\tNOTE")
	for _, e := range entries {
		ref, note := e.Owner+"/"+e.Calendar+"/"+e.Object, ""
		switch {
		case e.Object == "":
			ref, note = e.Owner+"/"+e.Calendar, fmt.Sprintf("calendar, %d objects", e.Objects)
		case e.WithCalendar:
			note = "deleted with an earlier calendar of this name"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ref, e.Deleted.UTC().Format(time.DateTime), e.DeletedBy, dashIfEmpty(e.UserAgent), note)
	}
	return tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
