package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/pebblelog"
	"github.com/kalends/kalends/testkit"
)

// icsFile is a whole calendar of the given events, as another application
// exports it.
func icsFile(events ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nMETHOD:PUBLISH\r\n")
	for _, e := range events {
		text := calendarText(e, "about "+e)
		b.WriteString(text[strings.Index(text, "BEGIN:VEVENT"):strings.Index(text, "END:VCALENDAR")])
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// TestCalendarIOThroughServer: import, export, and re-import of the export
// into another calendar exports the same, through the admin socket; an
// invalid file writes nothing unless --skip-invalid.
func TestCalendarIOThroughServer(t *testing.T) {
	dir := t.TempDir()
	_, base := startServer(t, dir)
	if code, _, errOut := kalends(t, "pw\n", "user", "add", "alice", "--data", dir, "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	if code := davDo(t, "MKCALENDAR", base+"calendars/alice/copy/", ""); code != 201 {
		t.Fatalf("MKCALENDAR: %d", code)
	}
	in := filepath.Join(t.TempDir(), "in.ics")
	os.WriteFile(in, []byte(icsFile("a", "b", "c")), 0o600)
	code, out, errOut := kalends(t, "", "import", "--data", dir, "--calendar", "alice/default", in)
	if code != 0 || !strings.Contains(out, "imported 3 objects into alice/default") || !strings.Contains(out, "3 added") {
		t.Fatalf("import: %d %q %s", code, out, errOut)
	}
	if davDo(t, "GET", base+"calendars/alice/default/b.ics", "") != 200 {
		t.Fatal("b.ics was not imported under its UID's name")
	}

	exported := filepath.Join(t.TempDir(), "out.ics")
	if code, _, errOut = kalends(t, "", "export", "--data", dir, "--calendar", "alice/default", "--out", exported); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if code, _, errOut = kalends(t, "", "import", "--data", dir, "--calendar", "alice/copy", exported); code != 0 {
		t.Fatalf("import of the export: %d %s", code, errOut)
	}
	_, again, _ := kalends(t, "", "export", "--data", dir, "--calendar", "alice/copy")
	first, _ := os.ReadFile(exported)
	if again != string(first) || strings.Count(again, "BEGIN:VEVENT") != 3 {
		t.Errorf("the copy exports differently:\n%s\nvs\n%s", again, first)
	}

	// Invalid: refused whole, listed; with --skip-invalid the rest goes in.
	truncated := icsFile("d")[:40]
	os.WriteFile(in, []byte(strings.Replace(icsFile("d", "e"), "DTSTART:20260105T090000Z\r\nSUMMARY:about e", "SUMMARY:about e", 1)), 0o600)
	code, _, errOut = kalends(t, "", "import", "--data", dir, "--calendar", "alice/default", in)
	if code != 1 || !strings.Contains(errOut, `UID "e"`) || !strings.Contains(errOut, "nothing imported") {
		t.Errorf("invalid import: %d %s", code, errOut)
	}
	if davDo(t, "GET", base+"calendars/alice/default/d.ics", "") != 404 {
		t.Error("a refused file wrote d.ics")
	}
	code, out, errOut = kalends(t, "", "import", "--data", dir, "--calendar", "alice/default", "--skip-invalid", in)
	if code != 0 || !strings.Contains(out, "1 added") || !strings.Contains(out, `skipped #2 UID "e"`) {
		t.Errorf("--skip-invalid: %d %q %s", code, out, errOut)
	}
	if code, _, errOut = kalends(t, truncated, "import", "--data", dir, "--calendar", "alice/default", "-"); code != 1 {
		t.Errorf("a truncated file: %d %s", code, errOut)
	}
	if code, _, errOut = kalends(t, "", "export", "--data", dir, "--calendar", "alice/nothing"); code != 1 || !strings.Contains(errOut, "no calendar") {
		t.Errorf("export of a missing calendar: %d %s", code, errOut)
	}
	if code, _, _ = kalends(t, "", "import", "--data", dir, "--calendar", "alice"); code != 2 {
		t.Errorf("import without a file: %d", code)
	}
}

// TestCalendarImportWithoutServer opens the directory itself; the import is
// one append, attributed to the operator acting for the owner, and the
// --log forms still reach the log commands.
func TestCalendarImportWithoutServer(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	dir := s.Dir
	s.Stop()
	code, out, errOut := kalends(t, icsFile("a", "b"), "import", "--data", dir, "--calendar", "alice/default", "-")
	if code != 0 || !strings.Contains(out, "2 added") {
		t.Fatalf("import: %d %q %s", code, out, errOut)
	}
	log, err := pebblelog.Open(filepath.Join(dir, logDir), pebblelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var metas []eventlog.Metadata
	var revisions []eventlog.Revision
	log.ReadStream(context.Background(), domain.CalendarStream("alice", "default"), 0, func(r eventlog.Record) error {
		if r.Type == "ObjectPut" {
			metas, revisions = append(metas, r.Meta), append(revisions, r.Revision)
		}
		return nil
	})
	log.Close()
	if len(metas) != 2 || metas[0].RequestID != metas[1].RequestID || metas[0].Principal != eventlog.Operator ||
		metas[0].OnBehalfOf != "alice" || metas[0].UserAgent != "kalends-cli" {
		t.Errorf("the import's events: %+v", metas)
	}

	code, out, errOut = kalends(t, "", "export", "--data", dir, "--log", "--calendar", "alice/default")
	if code != 0 || !strings.Contains(out, `"ObjectPut"`) {
		t.Errorf("export --log: %d %.200q %s", code, out, errOut)
	}
	if code, _, errOut = kalends(t, "", "import", "--log", "-", "--data", dir); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("import --log into a used directory: %d %s", code, errOut)
	}
}
