package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

const userUsage = `Usage:
  kalends user add NAME [--display-name TEXT] [--email ADDR] [--password-stdin]
  kalends user passwd NAME [--password-stdin]
  kalends user disable NAME
  kalends user list
`

func runUser(ctx context.Context, args []string, c cli) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, userUsage)
		return errUsage
	}
	sub := args[0]
	fs := newFlagSet("user "+sub, c)
	cfg := commandConfig(fs, userSettings)
	var displayName, email string
	var passwordStdin bool
	wantName := true
	switch sub {
	case "add":
		fs.StringVar(&displayName, "display-name", "", "the user's display name")
		fs.StringVar(&email, "email", "", "the user's email address (their calendar user address)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password as one line from stdin instead of prompting")
	case "passwd":
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password as one line from stdin instead of prompting")
	case "disable":
	case "list":
		wantName = false
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, userUsage)
		return nil
	default:
		fmt.Fprintf(c.stderr, "kalends: unknown user command %q\n%s", sub, userUsage)
		return errUsage
	}
	args, err := cfg.parse(fs, args[1:], c.lookupEnv)
	if err != nil {
		return err
	}
	var name string
	switch {
	case wantName && len(args) == 1:
		name = args[0]
	case wantName:
		fmt.Fprintf(c.stderr, "kalends user %s takes one user name\n%s", sub, userUsage)
		return errUsage
	case len(args) != 0:
		fmt.Fprintf(c.stderr, "kalends user %s takes no arguments\n%s", sub, userUsage)
		return errUsage
	}

	var password string
	if sub == "add" || sub == "passwd" {
		// Asked before connecting, so that a slow typist does not hold the
		// data directory open.
		if password, err = readPassword(c, name, passwordStdin); err != nil {
			return err
		}
	}

	// Used only when this process writes the events itself; through the
	// socket, the server records its own view of the request.
	ctx = withOrigin(ctx, origin{requestID: newRequestID(), userAgent: "kalends-cli", remoteAddr: "local"})
	ops, done, err := openOperator(ctx, cfg)
	if err != nil {
		return err
	}
	err = userCommand(ctx, c.stdout, ops, sub, newUser{Name: name, DisplayName: displayName, Email: email, Password: password})
	return errors.Join(err, done())
}

func userCommand(ctx context.Context, out io.Writer, ops userOps, sub string, u newUser) error {
	switch sub {
	case "add":
		if err := ops.AddUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s created\n", u.Name)
	case "passwd":
		if err := ops.SetPassword(ctx, u.Name, u.Password); err != nil {
			return err
		}
		fmt.Fprintf(out, "password of %s changed\n", u.Name)
	case "disable":
		if err := ops.DisableUser(ctx, u.Name); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s disabled\n", u.Name)
	case "list":
		users, err := ops.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tDISPLAY NAME\tEMAIL")
		for _, u := range users {
			status := "active"
			switch {
			case u.Disabled:
				status = "disabled"
			case !u.HasPassword:
				status = "no password"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, status, u.DisplayName, u.Email)
		}
		return tw.Flush()
	}
	return nil
}

// openOperatorAs is openOperator for commands with operations of their own
// (restore, trash, import/export): the admin client serves them when a
// server answers (it implements T), else local adapts the opened node.
func openOperatorAs[T any](ctx context.Context, cfg *config, local func(*node) T) (T, func() error, error) {
	var zero T
	ops, done, err := openOperator(ctx, cfg)
	if err != nil {
		return zero, nil, err
	}
	switch o := ops.(type) {
	case *adminClient:
		if t, ok := any(o).(T); ok {
			return t, done, nil
		}
	case *localOps:
		return local(o.n), done, nil
	}
	return zero, nil, errors.Join(fmt.Errorf("these operations are not available over %T", ops), done())
}

// openOperator returns the user operations for the data directory: through the
// running server's admin socket if one answers, else over a node opened
// here, whose projections are first caught up with the log. done releases
// what was opened.
func openOperator(ctx context.Context, cfg *config) (ops userOps, done func() error, err error) {
	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		return client, func() error { client.close(); return nil }, nil
	}
	n, err := openNode(cfg, cfg.logger(os.Stderr))
	if err != nil {
		return nil, nil, err
	}
	p := n.startProjector(context.WithoutCancel(ctx))
	done = func() error { return errors.Join(p.stop(), n.close()) }
	if err := n.catchUp(ctx, p); err != nil {
		return nil, nil, errors.Join(err, done())
	}
	return &localOps{n: n, defaultCalendar: cfg.DefaultCalendar}, done, nil
}

// readPassword reads one line from stdin with --password-stdin (for
// scripts), else prompts twice on the terminal without echo.
func readPassword(c cli, name string, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("stdin is not a terminal: pass the password with --password-stdin")
	}
	prompt := func(p string) (string, error) {
		fmt.Fprint(c.stderr, p)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		return string(b), err
	}
	first, err := prompt("Password for " + name + ": ")
	if err != nil {
		return "", err
	}
	again, err := prompt("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", errors.New("the passwords differ")
	}
	return first, nil
}
