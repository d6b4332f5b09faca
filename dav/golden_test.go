package dav_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

// TestGolden replays every conversation under testdata/golden against a
// fresh server with the users alice and bob (password = name). Regenerate
// with `go test ./dav -run TestGolden -update` and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			s := testkit.NewServer(t, testkit.Options{})
			s.AddUser("alice", "alice")
			s.AddUser("bob", "bob")
			testkit.RunGolden(t, s, f)
		})
	}
}
