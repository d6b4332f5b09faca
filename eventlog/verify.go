package eventlog

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Head is a digest of the whole log up to a position, so that an operator can
// keep it somewhere the server cannot write and later prove that the log
// still extends it. Each record's Hash only chains it to its own stream, which
// cannot reveal a stream removed whole, the last records of a stream cut
// off, records of different streams swapped, or a history rewritten with
// every hash recomputed; the head digest covers all of those.
//
// Digest is H(Position) where H(0) is all zeros and, for each record in log
// order, H(p) = SHA-256(H(previous) ‖ p as 8 bytes big-endian ‖ record Hash).
type Head struct {
	Position Position
	Digest   [32]byte
}

// String is the head's text form, "POSITION:HEXDIGEST", which ParseHead reads.
func (h Head) String() string {
	return strconv.FormatUint(uint64(h.Position), 10) + ":" + hex.EncodeToString(h.Digest[:])
}

// MarshalText makes a Head appear in JSON in its text form.
func (h Head) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads the text form.
func (h *Head) UnmarshalText(b []byte) error {
	v, err := ParseHead(string(b))
	*h = v
	return err
}

// ParseHead reads a head in its text form "POSITION:HEXDIGEST".
func ParseHead(s string) (Head, error) {
	pos, digest, ok := strings.Cut(strings.TrimSpace(s), ":")
	var h Head
	p, err := strconv.ParseUint(pos, 10, 64)
	if !ok || err != nil {
		return h, fmt.Errorf("eventlog: head %q: want POSITION:HEXDIGEST", s)
	}
	b, err := hex.DecodeString(digest)
	if err != nil || len(b) != len(h.Digest) {
		return h, fmt.Errorf("eventlog: head %q: the digest must be %d hex digits", s, 2*len(h.Digest))
	}
	h.Position = Position(p)
	copy(h.Digest[:], b)
	return h, nil
}

// ReadHeads reads heads one per line, skipping blank lines and lines that
// start with '#', so that a file a cron job appends `verify --print-head` to
// is a list of every head ever taken.
func ReadHeads(r io.Reader) ([]Head, error) {
	var heads []Head
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		h, err := ParseHead(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		heads = append(heads, h)
	}
	return heads, sc.Err()
}

// nextDigest extends a head digest by one record.
func nextDigest(prev [32]byte, pos Position, hash [32]byte) [32]byte {
	var buf [32 + 8 + 32]byte
	copy(buf[:32], prev[:])
	binary.BigEndian.PutUint64(buf[32:40], uint64(pos))
	copy(buf[40:], hash[:])
	return sha256.Sum256(buf[:])
}

// Reason names the kind of damage Verify found.
type Reason string

const (
	// Modified: a record's content no longer matches its hash, or a record's
	// hash is not what its stream successor chains to.
	Modified Reason = "modified"
	// Removed: records are missing (a revision gap, a stream that does not
	// start at revision 0, a position gap in a dense log, or no record at a
	// recorded head's position).
	Removed Reason = "removed"
	// Reordered: a stream's records, or the log's positions, are out of order.
	Reordered Reason = "reordered"
	// Inserted: a record claims a revision its stream already had.
	Inserted Reason = "inserted"
	// Truncated: the log ends before a recorded head.
	Truncated Reason = "truncated"
	// Rewritten: every hash chain holds, but the log up to a recorded head no
	// longer has that head's digest: records were modified, removed,
	// reordered or inserted there and the hashes recomputed. Only the span
	// between the last matching head and this one can be named.
	Rewritten Reason = "rewritten"
)

// Problem is the first damage Verify found.
type Problem struct {
	// Position is the first bad position: the changed, misplaced or forged
	// record's, the missing one's where it can be known, else the first
	// where the damage shows. For Truncated it is the first position past
	// the log's end; for Rewritten the mismatching head's position.
	Position Position `json:"position"`
	Reason   Reason   `json:"reason"`
	Stream   string   `json:"stream,omitempty"`
	// After, for Rewritten, is the position of the last recorded head that
	// still matched (0 if none): the change lies in (After, Position].
	After  Position `json:"after,omitempty"`
	Detail string   `json:"detail"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s at position %d: %s", p.Reason, p.Position, p.Detail)
}

// VerifyOptions adjust Verify.
type VerifyOptions struct {
	// Heads are heads recorded earlier, in any order. The log must extend
	// every one of them.
	Heads []Head
	// Dense says that the adapter gives positions 1, 2, 3, … with no gaps
	// (the embedded log does), so that a missing position is a removed
	// record, named exactly. Engines with sparse positions leave it false.
	Dense bool
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Records uint64 `json:"records"`
	Streams int    `json:"streams"`
	// Head is the head of the log as read, to record for later runs.
	Head Head `json:"head"`
	// HeadsChecked counts the recorded heads the log was compared with.
	HeadsChecked int `json:"headsChecked"`
	// Problem is the first damage found; nil means the log verified.
	Problem *Problem `json:"problem,omitempty"`
}

// chainState is what Verify keeps per stream: O(streams) memory in all.
type chainState struct {
	next    Revision // the revision the next record must have
	lastPos Position
	last    [32]byte // the Hash of the stream's last record
}

// pendingGap is a revision gap whose kind is decided by the stream's next
// record: the missing revision turning up later means the stream was
// reordered, anything else that records were removed.
type pendingGap struct {
	stream  string
	missing Revision
}

// Verify reads the whole log from its start and checks every stream's hash
// chain (dense revisions from 0, each PrevHash the stream predecessor's Hash,
// each Hash recomputed from content) and the log's head digest against the
// recorded heads. It reads the log once, in order, holding per-stream state
// only. Damage is reported in the result, not as an error; the error is for
// failing to read the log at all.
func Verify(ctx context.Context, log Log, opts VerifyOptions) (VerifyResult, error) {
	heads := slices.Clone(opts.Heads)
	slices.SortFunc(heads, func(a, b Head) int { return cmp.Compare(a.Position, b.Position) })
	var (
		res     VerifyResult
		streams = map[string]*chainState{}
		digest  [32]byte
		lastPos Position
		matched Position // the last recorded head that matched
		gap     *pendingGap
	)
	report := func(p Problem) {
		if res.Problem == nil {
			res.Problem = &p
		}
	}
	// checkHeads compares the recorded heads at or before pos with the
	// digest so far (the digest up to and including lastPos).
	checkHeads := func(next Position) {
		for len(heads) > 0 && heads[0].Position < next {
			h := heads[0]
			heads = heads[1:]
			res.HeadsChecked++
			switch {
			case h.Position != lastPos:
				report(Problem{Position: h.Position, Reason: Removed,
					Detail: fmt.Sprintf("the log has no record at the recorded head's position %d", h.Position)})
			case h.Digest != digest:
				report(Problem{Position: h.Position, Reason: Rewritten, After: matched,
					Detail: fmt.Sprintf("the log up to position %d does not match the recorded head %s: history after position %d was rewritten", h.Position, h, matched)})
			default:
				matched = h.Position
			}
		}
	}
	checkHeads(1) // heads at position 0 match the empty prefix

	err := log.ReadAll(ctx, 0, func(r Record) error {
		switch {
		case res.Records > 0 && r.Position <= lastPos:
			report(Problem{Position: r.Position, Reason: Reordered, Stream: r.Stream,
				Detail: fmt.Sprintf("position %d comes after position %d", r.Position, lastPos)})
		case opts.Dense && r.Position != lastPos+1:
			detail := fmt.Sprintf("position %d is missing", lastPos+1)
			if r.Position > lastPos+2 {
				detail = fmt.Sprintf("positions %d..%d are missing", lastPos+1, r.Position-1)
			}
			report(Problem{Position: lastPos + 1, Reason: Removed, Detail: detail})
		}
		checkHeads(r.Position)
		res.Records++
		lastPos = r.Position
		digest = nextDigest(digest, r.Position, r.Hash)

		st := streams[r.Stream]
		if st == nil {
			st = &chainState{}
			streams[r.Stream] = st
		}
		if gap != nil && gap.stream == r.Stream {
			if r.Revision == gap.missing {
				res.Problem.Reason = Reordered
				res.Problem.Detail = fmt.Sprintf("stream %q has revision %d at position %d, after later revisions", r.Stream, r.Revision, r.Position)
			}
			gap = nil
		}
		checkChain(r, st, report, &gap, res.Problem == nil)
		st.next, st.lastPos, st.last = r.Revision+1, r.Position, r.Hash
		return nil
	})
	if err != nil {
		return res, err
	}
	checkHeads(lastPos + 1)
	if len(heads) > 0 {
		h := heads[len(heads)-1]
		res.HeadsChecked += len(heads)
		report(Problem{Position: lastPos + 1, Reason: Truncated,
			Detail: fmt.Sprintf("the log ends at position %d, before the recorded head at position %d", lastPos, h.Position)})
	}
	res.Streams = len(streams)
	res.Head = Head{Position: lastPos, Digest: digest}
	return res, nil
}

// checkChain checks one record against its stream's state. first says no
// problem was found yet, so that a gap may be left pending.
func checkChain(r Record, st *chainState, report func(Problem), gap **pendingGap, first bool) {
	switch {
	case r.Revision > st.next:
		report(Problem{Position: r.Position, Reason: Removed, Stream: r.Stream,
			Detail: fmt.Sprintf("stream %q jumps from revision %d to %d", r.Stream, int64(st.next)-1, r.Revision)})
		if first {
			*gap = &pendingGap{stream: r.Stream, missing: st.next}
		}
	case r.Revision < st.next:
		report(Problem{Position: r.Position, Reason: Inserted, Stream: r.Stream,
			Detail: fmt.Sprintf("stream %q has revision %d again, after revision %d", r.Stream, r.Revision, st.next-1)})
	case r.Hash != ChainHash(r.PrevHash, r.Stream, r.Revision, r.Event):
		report(Problem{Position: r.Position, Reason: Modified, Stream: r.Stream,
			Detail: fmt.Sprintf("the record (stream %q revision %d) does not match its hash", r.Stream, r.Revision)})
	case r.PrevHash != st.last:
		// Both records verify on their own, so one of them was replaced
		// with its hash recomputed; the earlier is the first that can be bad.
		pos := st.lastPos
		if r.Revision == 0 {
			pos = r.Position
		}
		report(Problem{Position: pos, Reason: Modified, Stream: r.Stream,
			Detail: fmt.Sprintf("stream %q revision %d at position %d does not chain to its predecessor", r.Stream, r.Revision, r.Position)})
	}
}
