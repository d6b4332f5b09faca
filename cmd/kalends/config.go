package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/kalends/kalends/domain"
	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// config is every setting of the server. Each one is a flag; its environment
// variable is KALENDS_ plus the flag name in upper case with "-" as "_"; its
// TOML key is the flag name. Precedence: flag > environment > file > default.
type config struct {
	ConfigFile      string
	Data            string
	Listen          string
	TLSCert         string
	TLSKey          string
	LogLevel        string
	LogFormat       string
	LogBodies       bool
	MaxResourceSize int
	MaxInstances    int
	DefaultCalendar string
	ShutdownTimeout time.Duration
	TrashRetention  time.Duration

	// registered are the settings this command took (register): validate
	// checks only those, the others keep the zero values nobody reads.
	registered map[string]bool
}

// defaultMaxResourceSize follows Apple's CalendarServer (1 MiB): an event
// with all its overrides fits many times over, attachments are not inlined
// by the clients that use managed attachments, and every PUT stays cheap to
// hold in memory, validate and replay.
const defaultMaxResourceSize = 1 << 20

// Settings each command may take. serve takes them all; the user commands
// take what they need to open the data directory themselves when no server
// answers (creating a user then also creates its default calendar).
var (
	serveSettings = []string{"data", "listen", "tls-cert", "tls-key", "log-level", "log-format",
		"log-bodies", "max-resource-size", "max-instances", "default-calendar", "shutdown-timeout", "trash-retention"}
	userSettings = []string{"data", "max-resource-size", "default-calendar"}
)

// register defines the named settings (and --config) on fs, bound to c.
func (c *config) register(fs *flag.FlagSet, names []string) {
	fs.StringVar(&c.ConfigFile, "config", "", "TOML file of settings (keys are the flag names)")
	if c.registered == nil {
		c.registered = map[string]bool{}
	}
	for _, n := range names {
		c.registered[n] = true
		switch n {
		case "data":
			fs.StringVar(&c.Data, n, "./data", "data directory: log/, projections/, credentials.json, admin.sock")
		case "listen":
			fs.StringVar(&c.Listen, n, "", "address to listen on (default 127.0.0.1:8008, or 127.0.0.1:8443 with TLS)")
		case "tls-cert":
			fs.StringVar(&c.TLSCert, n, "", "TLS certificate chain (PEM); with --tls-key serves https")
		case "tls-key":
			fs.StringVar(&c.TLSKey, n, "", "TLS private key (PEM)")
		case "log-level":
			fs.StringVar(&c.LogLevel, n, "info", "debug, info, warn or error")
		case "log-format":
			fs.StringVar(&c.LogFormat, n, "auto", "json, console, or auto (console when stderr is a terminal)")
		case "log-bodies":
			fs.BoolVar(&c.LogBodies, n, false, "log request and response bodies at debug level (for debugging clients)")
		case "max-resource-size":
			fs.IntVar(&c.MaxResourceSize, n, defaultMaxResourceSize, "largest calendar object accepted, in bytes")
		case "max-instances":
			fs.IntVar(&c.MaxInstances, n, domain.DefaultMaxInstances, "most recurrence instances one query expands per object")
		case "default-calendar":
			fs.StringVar(&c.DefaultCalendar, n, "default", `calendar created for every new user ("" for none)`)
		case "shutdown-timeout":
			fs.DurationVar(&c.ShutdownTimeout, n, 15*time.Second, "how long a shutdown waits for requests in flight")
		case "trash-retention":
			fs.DurationVar(&c.TrashRetention, n, 0, "how long deleted calendars and objects stay listed in the trash (0: forever; the log keeps everything regardless)")
		default:
			panic("config: unknown setting " + n)
		}
	}
}

// envName is the environment variable of a setting.
func envName(setting string) string {
	return "KALENDS_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// parse parses args into fs (whose settings register bound to c) and fills
// every setting not given as a flag from the environment, then the TOML
// file. A file key that is no setting at all is an error, so that a typo is
// not silently ignored; a setting this command does not take is skipped, so
// that serve and the user commands can share one file. Flags may come before
// or after positional arguments (`user add alice --email a@x`), which are
// returned.
func (c *config) parse(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage // the flag package has said why
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return positional, c.resolve(fs, lookupEnv)
}

func (c *config) resolve(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) error {
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	if !explicit["config"] {
		if v, ok := lookupEnv(envName("config")); ok {
			c.ConfigFile = v
		}
	}
	if c.ConfigFile != "" {
		var file map[string]any
		if _, err := toml.DecodeFile(c.ConfigFile, &file); err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		for _, key := range sortedKeys(file) {
			if key == "config" || !slices.Contains(serveSettings, key) {
				return fmt.Errorf("config file %s: unknown setting %q", c.ConfigFile, key)
			}
			if explicit[key] || fs.Lookup(key) == nil {
				continue
			}
			if err := fs.Set(key, fmt.Sprint(file[key])); err != nil {
				return fmt.Errorf("config file %s: %s: %w", c.ConfigFile, key, err)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || f.Name == "config" || explicit[f.Name] {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	if err != nil {
		return err
	}
	return c.validate()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *config) validate() error {
	has := func(setting string) bool { return c.registered[setting] }
	if has("tls-cert") && (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); has("log-level") && (err != nil || c.LogLevel == "") {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if has("log-format") && !slices.Contains([]string{"", "auto", "json", "console"}, c.LogFormat) {
		return fmt.Errorf("--log-format %q: want json, console or auto", c.LogFormat)
	}
	if has("max-resource-size") && c.MaxResourceSize <= 0 {
		return fmt.Errorf("--max-resource-size %d: must be positive", c.MaxResourceSize)
	}
	if has("max-instances") && c.MaxInstances < 0 {
		return fmt.Errorf("--max-instances %d: must not be negative", c.MaxInstances)
	}
	if has("default-calendar") && c.DefaultCalendar != "" {
		// The domain's own rule, so that a name it would refuse at every
		// user creation is refused once, at start.
		if _, err := domain.DecideCreateCalendar("check", c.DefaultCalendar, false, nil, nil); err != nil {
			return fmt.Errorf("--default-calendar %q: not a usable calendar name", c.DefaultCalendar)
		}
	}
	if has("shutdown-timeout") && c.ShutdownTimeout < 0 {
		return errors.New("--shutdown-timeout must not be negative")
	}
	if has("trash-retention") && c.TrashRetention < 0 {
		return errors.New("--trash-retention must not be negative")
	}
	return nil
}

// commandConfig is the config of an operator command (user, audit, verify,
// restore, ...), bound to the settings it takes. Its own logging is for
// trouble only, on the console: settings such as the log level belong to
// serve unless the command registers them.
func commandConfig(fs *flag.FlagSet, names []string) *config {
	c := &config{LogLevel: "warn", LogFormat: "console"}
	c.register(fs, names)
	return c
}

func (c *config) limits() domain.Limits {
	return domain.Limits{MaxResourceSize: c.MaxResourceSize, MaxInstances: c.MaxInstances}
}

// tls reports whether the server serves https.
func (c *config) tls() bool { return c.TLSCert != "" }

// listenAddr applies the port default that Apple's clients probe: 8443 for
// https, 8008 for http.
func (c *config) listenAddr() string {
	switch {
	case c.Listen != "":
		return c.Listen
	case c.tls():
		return "127.0.0.1:8443"
	}
	return "127.0.0.1:8008"
}

// logger builds the process logger. The log format only matters for
// serve; the user commands log at the same level to stderr.
func (c *config) logger(w io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.LogLevel)
	format := c.LogFormat
	if format == "auto" || format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "console"
		}
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
