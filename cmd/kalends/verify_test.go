package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/rs/zerolog"
)

func TestVerifyCommand(t *testing.T) {
	dir := logioSource(t).Dir

	code, out, stderr := kalends(t, "", "verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "ok ") || !strings.Contains(out, "no recorded head") {
		t.Fatalf("verify: %d %s %s", code, out, stderr)
	}
	code, head, _ := kalends(t, "", "verify", "--print-head", "--data", dir)
	h, err := eventlog.ParseHead(head)
	if code != 0 || err != nil || h.Position == 0 || strings.Count(head, "\n") != 1 {
		t.Fatalf("verify --print-head: %d %q %v", code, head, err)
	}
	heads := filepath.Join(t.TempDir(), "heads")
	if err := os.WriteFile(heads, []byte("# kept by cron\n"+head), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = kalends(t, "", "verify", "--head", "@"+heads, "--json", "--data", dir)
	if code != 0 || !strings.Contains(out, `"headsChecked": 1`) {
		t.Fatalf("verify --head @file --json: %d %s", code, out)
	}

	// A head the log does not extend: exit 1, and no head to record.
	wrong := eventlog.Head{Position: h.Position}
	code, out, stderr = kalends(t, "", "verify", "--head", wrong.String(), "--data", dir)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("FAILED   REWRITTEN at position %d", h.Position)) {
		t.Fatalf("verify against a wrong head: %d %s %s", code, out, stderr)
	}
	beyond := eventlog.Head{Position: h.Position + 10}
	code, out, stderr = kalends(t, "", "verify", "--print-head", "--head", beyond.String(), "--data", dir)
	if code != 1 || out != "" || !strings.Contains(stderr, fmt.Sprintf("truncated at position %d", h.Position+1)) {
		t.Fatalf("verify --print-head of a truncated log: %d %q %s", code, out, stderr)
	}
	if code, _, _ := kalends(t, "", "verify", "--head", "nonsense", "--data", dir); code != 2 {
		t.Fatalf("verify --head nonsense: %d", code)
	}
	if code, _, stderr := kalends(t, "", "verify", "--data", filepath.Join(dir, "nothing")); code != 1 || !strings.Contains(stderr, "no event log") {
		t.Fatalf("verify of no data directory: %d %s", code, stderr)
	}
}

// While a server holds the log, verify and export go through its admin
// socket and import refuses to run.
func TestLogCommandsThroughAdminSocket(t *testing.T) {
	dir := logioSource(t).Dir
	_, offlineHead, _ := kalends(t, "", "verify", "--print-head", "--data", dir)
	_, offlineExport, _ := kalends(t, "", "export", "--log", "--data", dir)

	log, err := pebblelog.Open(filepath.Join(dir, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ln, err := listenAdmin(filepath.Join(dir, adminSocket))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: adminHandler(nil, &node{log: log}, zerolog.Nop())}
	go srv.Serve(ln)
	defer srv.Close()

	// The log is locked by the "server": only the socket can answer.
	if code, head, stderr := kalends(t, "", "verify", "--print-head", "--data", dir); code != 0 || head != offlineHead {
		t.Fatalf("verify through the socket: %d %q %s, want %q", code, head, stderr, offlineHead)
	}
	if code, out, _ := kalends(t, "", "verify", "--head", "1:"+strings.Repeat("0", 64), "--data", dir); code != 1 || !strings.Contains(out, "REWRITTEN at position 1") {
		t.Fatalf("verify through the socket against a wrong head: %d %s", code, out)
	}
	if code, out, stderr := kalends(t, "", "export", "--log", "--data", dir); code != 0 || out != offlineExport {
		t.Fatalf("export through the socket: %d %s, differs from offline: %v", code, stderr, out != offlineExport)
	}
	if code, out, stderr := kalends(t, "", "export", "--log", "--calendar", "alice/work", "--data", dir); code != 0 || strings.Contains(out, "principal:bob") || !strings.Contains(out, "cal:alice/work") {
		t.Fatalf("export of a calendar through the socket: %d %s", code, stderr)
	}
	if code, _, stderr := kalends(t, "", "export", "--log", "--calendar", "alice/nope", "--data", dir); code != 1 || !strings.Contains(stderr, "no calendar alice/nope") {
		t.Fatalf("export of a missing calendar through the socket: %d %s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(file, []byte(offlineExport), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := kalends(t, "", "import", "--log", file, "--data", dir); code != 1 || !strings.Contains(stderr, "a server is serving") {
		t.Fatalf("import while a server runs: %d %s", code, stderr)
	}
}

// A refused import leaves the new directory empty, so that it can be
// retried.
func TestImportOfADamagedExport(t *testing.T) {
	dir := logioSource(t).Dir
	_, export, _ := kalends(t, "", "export", "--log", "--data", dir)
	file := filepath.Join(t.TempDir(), "log.jsonl")
	damaged := strings.Replace(export, "SUMMARY:moved", "SUMMARY:moveD", 1)
	if damaged == export {
		t.Fatal("nothing to damage")
	}
	if err := os.WriteFile(file, []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "new")
	if code, _, stderr := kalends(t, "", "import", "--log", file, "--data", dst); code != 1 || !strings.Contains(stderr, "does not match its hash") {
		t.Fatalf("import of a damaged export: %d %s", code, stderr)
	}
	if entries, err := os.ReadDir(dst); err != nil || len(entries) != 0 {
		t.Fatalf("after a refused import: %v %v", entries, err)
	}
	if code, out, stderr := kalends(t, export, "import", "--log", "-", "--data", dst); code != 0 || !strings.Contains(out, fmt.Sprintf("imported %d records", strings.Count(export, "\n"))) {
		t.Fatalf("retry from stdin: %d %s %s", code, out, stderr)
	}
}
