package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func parseServe(t *testing.T, args []string, env map[string]string) (config, []string, error) {
	t.Helper()
	var cfg config
	fs := newFlagSet("serve", cli{stderr: &strings.Builder{}})
	cfg.register(fs, serveSettings)
	rest, err := cfg.parse(fs, args, envOf(env))
	return cfg, rest, err
}

func writeTOML(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kalends.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigPrecedence(t *testing.T) {
	file := writeTOML(t, `
data = "/from/file"
listen = "file:1"
log-level = "error"
max-resource-size = 2048
log-bodies = true
`)
	env := map[string]string{
		"KALENDS_LISTEN":    "env:2",
		"KALENDS_LOG_LEVEL": "warn",
	}
	cfg, _, err := parseServe(t, []string{"--config", file, "--log-level", "debug"}, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"flag over env and file", cfg.LogLevel, "debug"},
		{"env over file", cfg.Listen, "env:2"},
		{"file over default", cfg.Data, "/from/file"},
		{"default", cfg.DefaultCalendar, "default"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if cfg.MaxResourceSize != 2048 || !cfg.LogBodies {
		t.Errorf("typed file values: max-resource-size %d, log-bodies %v", cfg.MaxResourceSize, cfg.LogBodies)
	}
	if cfg.ShutdownTimeout != 15*time.Second {
		t.Errorf("default shutdown timeout %v", cfg.ShutdownTimeout)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, _, err := parseServe(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "./data" || cfg.listenAddr() != "127.0.0.1:8008" || cfg.MaxResourceSize != 1<<20 ||
		cfg.MaxInstances != domain.DefaultMaxInstances || cfg.DefaultCalendar != "default" || cfg.LogLevel != "info" || cfg.LogBodies {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg.TLSCert, cfg.TLSKey = "c.pem", "k.pem"
	if got := cfg.listenAddr(); got != "127.0.0.1:8443" {
		t.Fatalf("TLS default listen %q", got)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	file := writeTOML(t, `default-calendar = "work"`)
	cfg, _, err := parseServe(t, nil, map[string]string{"KALENDS_CONFIG": file})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultCalendar != "work" {
		t.Fatalf("KALENDS_CONFIG file not read: default-calendar %q", cfg.DefaultCalendar)
	}
	// An explicit empty value disables the default calendar.
	cfg, _, err = parseServe(t, []string{"--default-calendar="}, map[string]string{"KALENDS_CONFIG": file})
	if err != nil || cfg.DefaultCalendar != "" {
		t.Fatalf("flag did not override the file with an empty value: %q, %v", cfg.DefaultCalendar, err)
	}
}

func TestConfigRefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		what string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown file key", []string{"--config", writeTOML(t, `lisen = "x"`)}, nil, `unknown setting "lisen"`},
		{"bad env value", nil, map[string]string{"KALENDS_MAX_RESOURCE_SIZE": "lots"}, "KALENDS_MAX_RESOURCE_SIZE"},
		{"bad file value", []string{"--config", writeTOML(t, `log-bodies = "perhaps"`)}, nil, "log-bodies"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"bad level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"bad format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"reserved calendar", []string{"--default-calendar", "inbox"}, nil, "--default-calendar"},
		{"missing file", []string{"--config", "/nonexistent/kalends.toml"}, nil, "config file"},
	} {
		_, _, err := parseServe(t, c.args, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.what, err, c.want)
		}
	}
	if _, _, err := parseServe(t, []string{"--no-such-flag"}, nil); !errors.Is(err, errUsage) {
		t.Errorf("unknown flag: got %v, want errUsage", err)
	}
}

// The user commands share the file with serve: its server-only keys are
// skipped, not refused.
func TestConfigSharedFileForUserCommands(t *testing.T) {
	file := writeTOML(t, `
data = "/srv/kalends"
listen = "0.0.0.0:8008"
`)
	cfg := config{LogLevel: "warn"}
	fs := newFlagSet("user add", cli{stderr: &strings.Builder{}})
	cfg.register(fs, userSettings)
	rest, err := cfg.parse(fs, []string{"alice", "--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/srv/kalends" || cfg.Listen != "" {
		t.Fatalf("data %q listen %q", cfg.Data, cfg.Listen)
	}
	if len(rest) != 1 || rest[0] != "alice" {
		t.Fatalf("positional arguments %q, want [alice] with flags after it parsed", rest)
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := kalends(t, "", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, cmd := range []string{"serve", "user add", "user passwd", "user disable", "user list"} {
		if !strings.Contains(out, "kalends "+cmd) {
			t.Errorf("--help does not list %q", cmd)
		}
	}
	if code, _, _ := kalends(t, ""); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, _ := kalends(t, "", "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestConfigValidatesOnlyRegistered: a command that takes only --data must
// not be refused over settings it never registered (whose zero values would
// fail serve's checks).
func TestConfigValidatesOnlyRegistered(t *testing.T) {
	fs := newFlagSet("verify", cli{stderr: &strings.Builder{}})
	cfg := commandConfig(fs, []string{"data"})
	if _, err := cfg.parse(fs, []string{"--data", t.TempDir()}, envOf(nil)); err != nil {
		t.Fatalf("a --data-only command was refused: %v", err)
	}
	if served, _, err := parseServe(t, []string{"--trash-retention", "-1h"}, nil); err == nil {
		t.Fatalf("negative trash retention accepted: %v", served.TrashRetention)
	}
	served, _, err := parseServe(t, []string{"--trash-retention", "720h"}, nil)
	if err != nil || served.TrashRetention != 720*time.Hour {
		t.Fatalf("trash retention %v, %v", served.TrashRetention, err)
	}
}
