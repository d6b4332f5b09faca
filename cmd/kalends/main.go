package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	// TZIDs in client data must resolve on machines without a zoneinfo
	// database (containers, Windows).
	_ "time/tzdata"
)

const usageHead = `Kalends: an event-sourced CalDAV server.

Usage:
  kalends serve [flags]                 run the server
  kalends user add NAME [flags]         create a user and its default calendar
  kalends user passwd NAME [flags]      set a user's password
  kalends user disable NAME [flags]     stop a user from logging in (its data stays)
  kalends user list [flags]             list users
`

const usageTail = `  kalends help                          show this text

"kalends COMMAND --help" lists a command's flags. Every setting can also be
given as a KALENDS_* environment variable or in a TOML file (--config);
precedence is flag, environment, file, default. The user commands work
whether the server runs or not.
`

// operatorCommand is a command beyond serve and user (audit, verify,
// restore, ...). Each lives in its own file and registers itself from init,
// with its admin-socket routes if it needs the running server's store: the
// embedded log is locked by the server, so while one runs, the CLI asks it.
type operatorCommand struct {
	usage string // usage lines, each "  kalends NAME ...   what it does"
	run   func(ctx context.Context, args []string, c cli) error
	// routes adds the command's admin-socket handlers over the server's
	// node; nil when the command needs none.
	routes func(mux *http.ServeMux, n *node)
}

var operatorCommands = map[string]operatorCommand{}

func registerCommand(name string, cmd operatorCommand) { operatorCommands[name] = cmd }

// usage lists every command, registered ones in name order.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	for _, name := range slices.Sorted(maps.Keys(operatorCommands)) {
		b.WriteString(operatorCommands[name].usage)
	}
	b.WriteString(usageTail)
	return b.String()
}

// cli is what a command reads and writes, so that tests can run commands
// in-process.
type cli struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], cli{os.Stdin, os.Stdout, os.Stderr, os.LookupEnv}))
}

// errUsage marks a command line that could not be understood; the command
// has already said why.
var errUsage = errors.New("usage")

// run runs a command line and returns the process exit code.
func run(ctx context.Context, args []string, c cli) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage())
		return 2
	}
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, usage())
		return 0
	case "serve":
		err = runServe(ctx, args[1:], c)
	case "user":
		err = runUser(ctx, args[1:], c)
	default:
		cmd, ok := operatorCommands[args[0]]
		if !ok {
			fmt.Fprintf(c.stderr, "kalends: unknown command %q\n\n%s", args[0], usage())
			return 2
		}
		err = cmd.run(ctx, args[1:], c)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(c.stderr, "kalends: %v\n", err)
	return 1
}

// newFlagSet returns a flag set that prints its errors and usage to stderr.
func newFlagSet(name string, c cli) *flag.FlagSet {
	fs := flag.NewFlagSet("kalends "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}
