package eventlog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kalends/kalends/eventlog"
)

func TestCheckExpected(t *testing.T) {
	cases := []struct {
		exp    eventlog.ExpectedRevision
		last   eventlog.Revision
		exists bool
		ok     bool
	}{
		{eventlog.Any, 0, false, true},
		{eventlog.Any, 5, true, true},
		{eventlog.NoStream, 0, false, true},
		{eventlog.NoStream, 0, true, false},
		{eventlog.StreamExists, 0, false, false},
		{eventlog.StreamExists, 0, true, true},
		{eventlog.Exactly(0), 0, false, false},
		{eventlog.Exactly(0), 0, true, true},
		{eventlog.Exactly(4), 5, true, false},
		{eventlog.ExpectedRevision(-7), 0, true, false},
	}
	for _, c := range cases {
		err := eventlog.CheckExpected("s", c.exp, c.last, c.exists)
		if c.ok != (err == nil) {
			t.Errorf("%v against last %d (exists %v): %v", c.exp, c.last, c.exists, err)
		}
		if err != nil && !errors.Is(err, eventlog.ErrConflict) {
			t.Errorf("%v: %v does not match ErrConflict", c.exp, err)
		}
	}
}

// TestChainHashCoversEveryField: a record whose content changed in any way
// must not keep its hash, or the chain would not be tamper-evident.
func TestChainHashCoversEveryField(t *testing.T) {
	ev := eventlog.Event{
		Type: "T", SchemaVersion: 1, Data: []byte("d"),
		Meta: eventlog.Metadata{Principal: "p", OnBehalfOf: "o", Time: time.Unix(1, 2), RequestID: "r", UserAgent: "u", RemoteAddr: "a"},
	}
	type input struct {
		prev   [32]byte
		stream string
		rev    eventlog.Revision
		ev     eventlog.Event
	}
	hash := func(in input) [32]byte { return eventlog.ChainHash(in.prev, in.stream, in.rev, in.ev) }
	base := input{stream: "s", rev: 3, ev: ev}
	changes := map[string]func(in *input){
		"prev":       func(in *input) { in.prev[0] = 1 },
		"stream":     func(in *input) { in.stream = "t" },
		"revision":   func(in *input) { in.rev = 4 },
		"type":       func(in *input) { in.ev.Type = "U" },
		"schema":     func(in *input) { in.ev.SchemaVersion = 2 },
		"data":       func(in *input) { in.ev.Data = []byte("e") },
		"principal":  func(in *input) { in.ev.Meta.Principal = "q" },
		"onBehalfOf": func(in *input) { in.ev.Meta.OnBehalfOf = "q" },
		"time":       func(in *input) { in.ev.Meta.Time = time.Unix(1, 3) },
		"requestID":  func(in *input) { in.ev.Meta.RequestID = "q" },
		"userAgent":  func(in *input) { in.ev.Meta.UserAgent = "q" },
		"remoteAddr": func(in *input) { in.ev.Meta.RemoteAddr = "q" },
	}
	for name, change := range changes {
		in := base
		change(&in)
		if hash(in) == hash(base) {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
	// Moving bytes across a field boundary must change the hash too.
	a := eventlog.ChainHash([32]byte{}, "ab", 0, eventlog.Event{Type: "c"})
	b := eventlog.ChainHash([32]byte{}, "a", 0, eventlog.Event{Type: "bc"})
	if a == b {
		t.Error("fields are not length-prefixed: \"ab\"+\"c\" hashes as \"a\"+\"bc\"")
	}
}

func TestChainHashDistinguishesFarTimes(t *testing.T) {
	ev := func(tm time.Time) eventlog.Event { return eventlog.Event{Type: "T", Meta: eventlog.Metadata{Time: tm}} }
	// UnixNano is undefined beyond 2262; these two would overflow alike.
	a := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(time.Duration(1<<63 - 1)).Add(time.Duration(1<<63 - 1)).Add(2)
	if eventlog.ChainHash([32]byte{}, "s", 0, ev(a)) == eventlog.ChainHash([32]byte{}, "s", 0, ev(b)) {
		t.Fatal("distinct far-future times hash alike")
	}
}
