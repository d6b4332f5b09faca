package projections

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Digest fingerprints every key and value of the projections, split by what
// they belong to, so that `kalends rebuild --verify` can say not only that a
// rebuilt store differs from the live one but which calendar differs.
// Projections are deterministic (see the package doc), so a store rebuilt
// from the same log up to the same checkpoint must have equal digests.
type Digest struct {
	// Calendars maps "owner/name" to the digest of that calendar's keys in
	// every table: its record and all its per-calendar index entries.
	Calendars map[string]Part
	// Principals covers the principal table.
	Principals Part
	// Other covers every remaining key (schema version, checkpoint, index
	// horizon, and any key this file cannot attribute), so that nothing
	// escapes comparison.
	Other Part
}

// Part is the digest of one group of keys.
type Part struct {
	// Sum is SHA-256 over each key and value, length-prefixed, in key order.
	Sum  [32]byte
	Keys int
}

func (p Part) String() string { return hex.EncodeToString(p.Sum[:8]) }

// DigestDiff is one group whose digests differ. A calendar present on only
// one side has a zero Part on the other.
type DigestDiff struct {
	Group     string // "owner/name", "principals" or "other"
	Got, Want Part
}

// Diff lists, in group order, every group where d differs from want.
func (d Digest) Diff(want Digest) []DigestDiff {
	var out []DigestDiff
	names := map[string]bool{}
	for n := range d.Calendars {
		names[n] = true
	}
	for n := range want.Calendars {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if g, w := d.Calendars[n], want.Calendars[n]; g != w {
			out = append(out, DigestDiff{n, g, w})
		}
	}
	if d.Principals != want.Principals {
		out = append(out, DigestDiff{"principals", d.Principals, want.Principals})
	}
	if d.Other != want.Other {
		out = append(out, DigestDiff{"other", d.Other, want.Other})
	}
	return out
}

// Digest reads every key of the view once, in key order, and attributes it
// with keyGroup. A calendar's keys are spread over several tables, so one
// running hash per calendar is kept open; it costs a hash state per
// calendar, never the keys themselves.
func (v *View) Digest() (Digest, error) {
	hashes := map[string]hash.Hash{}
	counts := map[string]int{}
	var principals, other = sha256.New(), sha256.New()
	var nPrincipals, nOther int
	it, err := v.snap.NewIter(&pebble.IterOptions{})
	if err != nil {
		return Digest{}, err
	}
	var lenBuf [8]byte
	write := func(h hash.Hash, b []byte) {
		binary.BigEndian.PutUint64(lenBuf[:], uint64(len(b)))
		h.Write(lenBuf[:])
		h.Write(b)
	}
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			return Digest{}, err
		}
		key := it.Key()
		var h hash.Hash
		switch group, cal := keyGroup(key); group {
		case groupCalendar:
			if h = hashes[cal]; h == nil {
				h = sha256.New()
				hashes[cal] = h
			}
			counts[cal]++
		case groupPrincipal:
			h = principals
			nPrincipals++
		default:
			h = other
			nOther++
		}
		write(h, key)
		write(h, val)
	}
	if err := it.Close(); err != nil {
		return Digest{}, err
	}
	d := Digest{
		Calendars:  make(map[string]Part, len(hashes)),
		Principals: sum(principals, nPrincipals),
		Other:      sum(other, nOther),
	}
	for cal, h := range hashes {
		d.Calendars[cal] = sum(h, counts[cal])
	}
	return d, nil
}

func sum(h hash.Hash, keys int) Part {
	p := Part{Keys: keys}
	h.Sum(p.Sum[:0])
	return p
}

type group int

const (
	groupOther group = iota
	groupPrincipal
	groupCalendar
)

// keyGroup attributes a key to its calendar by the layout in keys.go (and
// timerange.go for 't', 'e' and 'i'):
//
//	'c' owner 0x00 cal                → calendar owner/cal
//	tag owner 0x00 cal 0x00 …         → calendar owner/cal, for every tag in
//	                                    calendarTables (the rest may hold any
//	                                    byte, so only two separators are read)
//	'p' …                             → principals
//	anything else                     → other
//
// A key whose tag is unknown, or that does not parse, falls into "other"
// rather than being skipped: a table added later is still compared, just
// not per calendar, until it is taught here.
func keyGroup(key []byte) (group, string) {
	if len(key) == 0 {
		return groupOther, ""
	}
	tag, rest := key[0], key[1:]
	switch {
	case tag == tagPrincipal:
		return groupPrincipal, ""
	case tag == tagCalendar:
		owner, cal, ok := bytes.Cut(rest, []byte{sep})
		if ok && len(owner) > 0 && len(cal) > 0 {
			return groupCalendar, string(owner) + "/" + string(cal)
		}
	case bytes.IndexByte(calendarTables, tag) >= 0:
		owner, after, ok := bytes.Cut(rest, []byte{sep})
		if !ok || len(owner) == 0 {
			break
		}
		cal, _, ok := bytes.Cut(after, []byte{sep})
		if ok && len(cal) > 0 {
			return groupCalendar, string(owner) + "/" + string(cal)
		}
	}
	return groupOther, ""
}
