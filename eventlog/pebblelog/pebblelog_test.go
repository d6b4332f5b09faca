package pebblelog_test

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/eventlog/logtest"
	"github.com/kalends/kalends/eventlog/pebblelog"
)

func open(t testing.TB, dir string, fs vfs.FS) *pebblelog.Log {
	t.Helper()
	l, err := pebblelog.Open(dir, pebblelog.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestContractDisk(t *testing.T) {
	logtest.Run(t, func(t *testing.T) eventlog.Log { return open(t, t.TempDir(), nil) })
}

func TestContractMem(t *testing.T) {
	logtest.Run(t, func(t *testing.T) eventlog.Log { return open(t, "log", vfs.NewMem()) })
}
