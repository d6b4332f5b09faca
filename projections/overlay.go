package projections

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"strings"
)

// overlay holds the readBack keys that applying set or deleted and that the
// DB does not show yet, or no longer shows.
//
// For an ordinary Apply it lives for one batch. For a rebuild into an empty
// store (Rebuild) it lives across batches and is complete: every readBack
// key that exists is in it, so a miss is an absence and the DB is never
// read. Point reads are what a rebuild otherwise spends most on: they miss
// the block cache as compactions churn the LSM.
//
// A complete overlay holds a few entries per live object, millions in a
// large rebuild, so it is built to cost the garbage collector nothing: keys
// and values are appended to chunks of bytes, and the table from a key's
// hash to its newest record holds no pointers. A write appends a new record;
// the old one stays as garbage until the overlay is dropped, which
// bulkOverlayLimit bounds.
type overlay struct {
	complete bool
	// cleared holds the calendarMember prefixes of calendars deleted in
	// this batch: their keys that are not in the overlay no longer exist.
	cleared []string

	seed maphash.Seed
	// index maps a key's hash to where its newest record starts; collided
	// holds, by key, the keys whose hash another key had first.
	index    map[uint64]recordRef
	collided map[string]recordRef
	chunks   [][]byte
	size     int // bytes in chunks
}

// recordRef locates a record: chunk index and offset within it.
type recordRef struct{ chunk, off uint32 }

// overlayChunk is the largest chunk: large enough that chunks are few,
// small enough that the last one's slack does not matter.
const overlayChunk = 4 << 20

// A record is uvarint(len(key)) key uvarint(state) value, where state is 0
// for a deleted key and 1+len(value) otherwise.

func newOverlay(complete bool) *overlay {
	return &overlay{complete: complete, seed: maphash.MakeSeed(), index: map[uint64]recordRef{}}
}

// lookup returns key's newest record's value and whether it is deleted;
// found is false when the overlay holds no record of key.
func (ov *overlay) lookup(key []byte) (val []byte, deleted, found bool) {
	ref, ok := ov.collided[string(key)]
	if !ok {
		if ref, ok = ov.index[maphash.Bytes(ov.seed, key)]; !ok {
			return nil, false, false
		}
	}
	k, val, deleted := ov.record(ref)
	if !bytes.Equal(k, key) {
		return nil, false, false // another key with the same hash
	}
	return val, deleted, true
}

func (ov *overlay) record(ref recordRef) (key, val []byte, deleted bool) {
	b := ov.chunks[ref.chunk][ref.off:]
	n, w := binary.Uvarint(b)
	key, b = b[w:w+int(n)], b[w+int(n):]
	state, w := binary.Uvarint(b)
	if state == 0 {
		return key, nil, true
	}
	return key, b[w : w+int(state-1)], false
}

func (ov *overlay) put(key, val []byte, deleted bool) {
	state := uint64(0)
	if !deleted {
		state = 1 + uint64(len(val))
	}
	need := 2*binary.MaxVarintLen64 + len(key) + len(val)
	last := len(ov.chunks) - 1
	if last < 0 || cap(ov.chunks[last])-len(ov.chunks[last]) < need {
		// Chunks double from small: an ordinary Apply of one PUT needs a
		// few hundred bytes, a rebuild gigabytes.
		size := 4 << 10
		if last >= 0 {
			size = min(overlayChunk, 2*cap(ov.chunks[last]))
		}
		ov.chunks = append(ov.chunks, make([]byte, 0, max(size, need)))
		last++
	}
	c := ov.chunks[last]
	ref := recordRef{chunk: uint32(last), off: uint32(len(c))}
	c = binary.AppendUvarint(c, uint64(len(key)))
	c = append(c, key...)
	c = binary.AppendUvarint(c, state)
	c = append(c, val...)
	ov.size += len(c) - len(ov.chunks[last])
	ov.chunks[last] = c

	if _, ok := ov.collided[string(key)]; ok {
		ov.collided[string(key)] = ref
		return
	}
	h := maphash.Bytes(ov.seed, key)
	if old, ok := ov.index[h]; ok {
		if k, _, _ := ov.record(old); !bytes.Equal(k, key) {
			if ov.collided == nil {
				ov.collided = map[string]recordRef{}
			}
			ov.collided[string(key)] = ref
			return
		}
	}
	ov.index[h] = ref
}

// forget drops key from the overlay altogether: in a complete overlay that
// is what deleting it means.
func (ov *overlay) forget(key []byte) {
	if _, ok := ov.collided[string(key)]; ok {
		delete(ov.collided, string(key))
		return
	}
	h := maphash.Bytes(ov.seed, key)
	if ref, ok := ov.index[h]; ok {
		if k, _, _ := ov.record(ref); bytes.Equal(k, key) {
			delete(ov.index, h)
		}
	}
}

// forgetCalendar drops every key of the calendar whose calendarMember is
// member. It visits the whole overlay, which only a calendar's deletion
// asks for.
func (ov *overlay) forgetCalendar(member string) {
	for h, ref := range ov.index {
		if k, _, _ := ov.record(ref); strings.HasPrefix(string(k[1:]), member) {
			delete(ov.index, h)
		}
	}
	for k := range ov.collided {
		if strings.HasPrefix(k[1:], member) {
			delete(ov.collided, k)
		}
	}
}
