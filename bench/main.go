// Command bench is Kalends' load benchmark (`make bench`, or `go run
// ./bench`). It builds cmd/kalends, starts `kalends serve` as a child
// process on a loopback port over a fresh data directory, and drives it
// over HTTP like a load tool: keep-alive clients with Basic auth, N
// concurrent workers. Phases, each measured on its own:
//
//  1. PUT: fill one calendar to -objects realistic events (~1.3 KB, with a
//     VTIMEZONE, one in four recurring), -concurrency clients;
//  2. GET of random objects, -concurrency clients;
//  3. PROPFIND Depth 1 of the whole calendar (getetag, getcontenttype),
//     serial;
//  4. calendar-multiget of -multiget random hrefs with calendar-data,
//     -concurrency clients;
//  5. sync-collection, serial: initial (getetag), and incremental after
//     -changes modified objects, at two sizes (-small objects, taken while
//     filling, and -objects) to show whether it grows with the calendar.
//  6. (issue 3) on a calendar of its own, made with MKCALENDAR and filled
//     with -objects objects of the realistic mix (bench/mix.go: single,
//     all-day, recurring with EXDATEs and moved overrides, unbounded, TZID
//     and floating, around a fixed reference date): calendar-query with a
//     week and a month window with getetag + calendar-data, the same with
//     <C:expand>, and free-busy-query for a month, -queries each serially
//     at random windows, then the week query and free-busy with
//     -concurrency clients; each answer checked exactly against the
//     instances the generator knows.
//
// -phases picks some of them (e.g. -phases query for the 100k run, which
// then fills only the query calendar).
//
// Every answer is checked (status 2xx, ETags, member counts, sync deltas of
// exactly the changed hrefs); any failure counts as an error and makes the
// exit status 1. The aims of issues 2 and 3 are reported as met / not met, for
// information only: speed is measured here, never asserted by a test.
//
// Latency is from sending the request to reading the last byte of the
// answer. The client runs on the same machine and shares its cores with
// the server; the output says so, with the conditions of the run.
//
// -inprocess runs the server inside this process (assembled from its
// packages like testkit) so that -cpuprofile can see the server side: each
// phase writes PREFIX-<phase>.pprof; the client's goroutines carry the
// pprof label role=client, so `go tool pprof -tagignore role=client`
// leaves them out. Figures to quote come from the default, child-process
// mode.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

type options struct {
	objects, small, concurrency int
	duration                    time.Duration
	ops                         int
	reps, changes, multiget     int
	keepData, inProcess         bool
	server, user, pass          string
	calendar, bin, cpuprofile   string
	seed                        uint64
	phases                      map[string]bool
	mix                         string
	queries                     int
}

// phaseNames are what -phases takes; "issue2" is the first five.
var phaseNames = []string{"put", "get", "propfind", "multiget", "sync", "query"}

func parsePhases(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		switch p = strings.TrimSpace(p); p {
		case "all":
			for _, n := range phaseNames {
				out[n] = true
			}
		case "issue2":
			for _, n := range phaseNames[:5] {
				out[n] = true
			}
		case "put", "get", "propfind", "multiget", "sync", "query":
			out[p] = true
		default:
			return nil, fmt.Errorf("-phases: unknown phase %q (want all, issue2, or some of %s)", p, strings.Join(phaseNames, ","))
		}
	}
	return out, nil
}

func main() {
	var o options
	flag.IntVar(&o.objects, "objects", 10000, "objects in the calendar")
	flag.IntVar(&o.small, "small", 1000, "calendar size for the first sync measurement (taken while filling; 0 or >= -objects: skip)")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent clients for the PUT, GET and multiget phases")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the GET and multiget phases run")
	flag.IntVar(&o.ops, "ops", 0, "if > 0, the GET and multiget phases run this many requests instead of -duration")
	flag.IntVar(&o.reps, "reps", 30, "repetitions of the serial phases (PROPFIND, initial and incremental sync)")
	flag.IntVar(&o.changes, "changes", 60, "modified objects between two incremental syncs")
	flag.IntVar(&o.multiget, "multiget", 50, "hrefs per calendar-multiget")
	flag.BoolVar(&o.keepData, "keep-data", false, "keep the data directory (and the server's log) after the run")
	flag.BoolVar(&o.inProcess, "inprocess", false, "run the server in this process (for -cpuprofile of the server side)")
	flag.StringVar(&o.server, "server", "", "URL of an already running server to target instead of starting one (needs -user, -pass)")
	flag.StringVar(&o.user, "user", "bench", "user name")
	flag.StringVar(&o.pass, "pass", "", "password (default: a generated one for a server this tool starts)")
	flag.StringVar(&o.calendar, "calendar", "", "calendar path (default /calendars/USER/default/)")
	flag.StringVar(&o.bin, "bin", "", "a built kalends binary to start (default: go build ./cmd/kalends)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile per phase to PREFIX-<phase>.pprof (this process: client, and the server with -inprocess)")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed for the objects each request picks, the realistic mix and the query windows")
	phases := flag.String("phases", "all", "phases to run, comma-separated: all, issue2 (= put,get,propfind,multiget,sync: the default calendar) and/or query (calendar-query and free-busy-query on a calendar of their own, realistic mix); get, propfind, multiget and sync fill the default calendar first")
	flag.StringVar(&o.mix, "mix", "issue2", "objects of the default calendar (issue-2 phases): issue2 (1.3 KB events, one in four recurring; the figures of issue 2) or realistic (the query phases' mix, see bench/mix.go); the query calendar always holds the realistic mix")
	flag.IntVar(&o.queries, "queries", 100, "queries per serial query phase")
	flag.Parse()
	var err error
	if o.phases, err = parsePhases(*phases); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if err := bench(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func bench(o options) error {
	if o.objects < 1 || o.concurrency < 1 || o.reps < 1 || o.changes < 1 || o.multiget < 1 || o.queries < 1 {
		return errors.New("-objects, -concurrency, -reps, -changes, -multiget and -queries must be positive")
	}
	if o.mix != "issue2" && o.mix != "realistic" {
		return fmt.Errorf("-mix %q: want issue2 or realistic", o.mix)
	}
	if o.small >= o.objects {
		o.small = 0
	}
	if o.changes > o.small && o.small > 0 || o.changes > o.objects {
		return fmt.Errorf("-changes %d is more than the calendar holds", o.changes)
	}
	if o.multiget > o.objects {
		o.multiget = o.objects
	}

	var tg *target
	prefix := "ev"
	switch {
	case o.server != "":
		if o.pass == "" {
			return errors.New("-server needs -user and -pass")
		}
		tg = &target{url: o.server, user: o.user, pass: o.pass, stop: func() error { return nil },
			describe: "already running server at " + o.server + " (its GOMAXPROCS unknown)"}
		prefix = fmt.Sprintf("bench%x", time.Now().UnixNano()) // apart from earlier runs
	default:
		dir, err := os.MkdirTemp("", "kalends-bench-")
		if err != nil {
			return err
		}
		if o.keepData {
			defer fmt.Fprintf(os.Stderr, "bench: data kept in %s\n", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		if o.pass == "" {
			o.pass = fmt.Sprintf("pw-%x", rand.Uint64())
		}
		if o.inProcess {
			tg, err = startInProcess(dir, o.user, o.pass)
		} else {
			tg, err = startChild(o.bin, dir, o.user, o.pass)
		}
		if err != nil {
			return err
		}
	}
	defer func() {
		if serr := tg.stop(); serr != nil {
			fmt.Fprintf(os.Stderr, "bench: stopping the server: %v\n", serr)
		}
	}()
	if o.calendar == "" {
		o.calendar = "/calendars/" + o.user + "/default/"
	}
	b := &runner{o: o, c: newClient(tg.url, tg.user, tg.pass, o.calendar, o.concurrency), prefix: prefix, pid: tg.pid,
		rng: rand.New(rand.NewPCG(o.seed, 2)), rev: make([]int, o.objects), ok: make([]bool, o.objects)}
	b.conditions(tg)
	if err := b.phases(); err != nil {
		return err
	}
	b.report()
	if n := b.errors(); n > 0 {
		return fmt.Errorf("%d requests failed or gave wrong answers; first: %v", n, b.firstErr())
	}
	return nil
}

type runner struct {
	o      options
	c      *client
	prefix string
	rngMu  sync.Mutex
	rng    *rand.Rand
	rev    []int // each object's current revision (0 = as first PUT)
	// ok[i] says object i's first PUT was answered 2xx; live lists those
	// objects below the current size. A failed PUT is counted as an error
	// and the run goes on with the objects that exist.
	ok      []bool
	live    []int
	base    int // members the calendar had before the run (-server)
	results []*result
	cond    []string
	notes   []string // what the query phases' answers held
	objSize int
	minSize int // the least an object's GET must return
	pid     int // the server's process, 0 if it is this one or unknown
}

func (b *runner) intn(n int) int {
	b.rngMu.Lock()
	defer b.rngMu.Unlock()
	return b.rng.IntN(n)
}

// distinct returns k distinct random object numbers below n.
func (b *runner) distinct(k, n int) []int {
	b.rngMu.Lock()
	defer b.rngMu.Unlock()
	p := b.rng.Perm(n)
	return p[:k]
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// sourceState names the commit the server was built from, and whether the
// working tree differed from it (several people work in one tree).
func sourceState() string {
	rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	s := "commit " + strings.TrimSpace(string(rev))
	if n := strings.Count(string(st), "\n"); n > 0 {
		s += fmt.Sprintf(" with %d modified tracked files in the working tree", n)
	}
	return s
}

func (b *runner) conditions(tg *target) {
	b.objSize, b.minSize = len(event(b.prefix, 1, 0)), len(event(b.prefix, 1, 0))-200
	what := "VEVENT with VTIMEZONE, 1 in 4 recurring"
	if b.o.mix == "realistic" {
		sum := 0
		for i := range 200 {
			sum += len(b.object(i, 0))
		}
		b.objSize, b.minSize, what = sum/200, 250, "the realistic mix of the query phases"
	}
	b.cond = []string{
		fmt.Sprintf("machine: %d cores (%s), %s/%s, %s", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version()),
		fmt.Sprintf("server: %s; source at %s", tg.describe, sourceState()),
		fmt.Sprintf("client: this process, GOMAXPROCS %d, %d keep-alive HTTP/1.1 clients with Basic auth over loopback", runtime.GOMAXPROCS(0), b.o.concurrency),
		"the client shares the machine's cores with the server: its CPU time is taken from the server's",
		fmt.Sprintf("load average at start: %s (other work on the machine shows as \"other load\", in cores, per phase)", loadavg()),
		fmt.Sprintf("objects: %d in one calendar, ~%d bytes each (%s); durable PUTs (fsync, group commit) on the data directory's disk", b.o.objects, b.objSize, what),
		fmt.Sprintf("phases: %s", b.phaseList()),
		fmt.Sprintf("GET and multiget run %s; serial phases %d repetitions; incremental sync after %d modified objects; multiget of %d hrefs with calendar-data", b.limitText(), b.o.reps, b.o.changes, b.o.multiget),
	}
	fmt.Println("Kalends load benchmark")
	for _, c := range b.cond {
		fmt.Println("  " + c)
	}
	fmt.Println()
}

func (b *runner) limitText() string {
	if b.o.ops > 0 {
		return fmt.Sprintf("%d requests each", b.o.ops)
	}
	return fmt.Sprintf("%s each", b.o.duration)
}

func (b *runner) limit() limit { return limit{ops: b.o.ops, dur: b.o.duration} }

// profiled runs one phase, with a CPU profile of it if asked.
func (b *runner) profiled(name string, f func() error) error {
	if b.o.cpuprofile == "" {
		return f()
	}
	path := b.o.cpuprofile + "-" + name + ".pprof"
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	err = f()
	pprof.StopCPUProfile()
	return err
}

// profiledIf is profiled for a phase that was asked for, else nothing.
func (b *runner) profiledIf(ok bool, name string, f func() error) error {
	if !ok {
		return nil
	}
	return b.profiled(name, f)
}

func (b *runner) record(r *result, size int) {
	r.size = size
	b.results = append(b.results, r)
	srv, cli, other := r.cpuCols(b.pid != 0)
	fmt.Printf("%-42s %6d ops %6.0f ops/s  p50 %5s p90 %5s p99 %5s max %5s ms  errors %d  CPU µs/op server %s client %s, other load %s cores\n",
		r.name+fmt.Sprintf(" @%d", size), len(r.lats), r.opsPerSec(), ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.max()), r.errors, srv, cli, other)
	if r.firstErr != nil {
		fmt.Printf("    first error: %v\n", r.firstErr)
	}
}

func (b *runner) phases() error {
	if b.want("put") || b.want("get") || b.want("propfind") || b.want("multiget") || b.want("sync") {
		if err := b.issue2Phases(); err != nil {
			return err
		}
	}
	if b.want("query") {
		return b.queryPhases()
	}
	return nil
}

// issue2Phases fills the default calendar and runs the chosen phases of
// issue 2 on it.
func (b *runner) issue2Phases() error {
	// The calendar's members before the run: 0 for a server we started.
	body, _, err := b.c.propfind()
	if err != nil {
		return fmt.Errorf("the calendar %s: %w", b.o.calendar, err)
	}
	ms, err := parseMultistatus(body)
	if err != nil {
		return err
	}
	b.base = ms.members(b.o.calendar)

	put := &result{name: "PUT (fill)", concurrency: b.o.concurrency}
	fill := func(from, to int) error {
		return b.profiled(fmt.Sprintf("put-%d", to), func() error {
			r := run("PUT", b.o.concurrency, limit{ops: to - from}, b.pid, func(_, seq int) (time.Duration, error) {
				i := from + seq
				d, err := b.c.put(b.c.href(b.prefix, i), b.object(i, 0))
				b.ok[i] = err == nil
				return d, err
			})
			put.add(r)
			b.live = b.live[:0]
			for i := range to {
				if b.ok[i] {
					b.live = append(b.live, i)
				}
			}
			fmt.Printf("(filled to %d: %d PUTs, %.0f/s, %d errors)\n", to, to-from, r.opsPerSec(), r.errors)
			return nil
		})
	}
	if b.o.small > 0 && b.want("sync") {
		if err := fill(0, b.o.small); err != nil {
			return err
		}
		if err := b.syncPhase(b.o.small); err != nil {
			return err
		}
		if err := fill(b.o.small, b.o.objects); err != nil {
			return err
		}
	} else if err := fill(0, b.o.objects); err != nil {
		return err
	}
	b.record(put, b.o.objects)

	n := b.o.objects
	if err := b.profiledIf(b.want("get"), "get", func() error {
		b.record(run("GET", b.o.concurrency, b.limit(), b.pid, func(_, _ int) (time.Duration, error) {
			return b.c.get(b.c.href(b.prefix, b.live[b.intn(len(b.live))]), b.minSize)
		}), n)
		return nil
	}); err != nil {
		return err
	}

	if err := b.profiledIf(b.want("propfind"), "propfind", func() error {
		r := run("PROPFIND Depth 1 (serial)", 1, limit{ops: b.o.reps}, b.pid, func(_, _ int) (time.Duration, error) {
			body, d, err := b.c.propfind()
			if err != nil {
				return d, err
			}
			ms, err := parseMultistatus(body)
			if err != nil {
				return d, err
			}
			if got := ms.members(b.o.calendar); got != b.base+len(b.live) {
				return d, fmt.Errorf("PROPFIND Depth 1: %d members with an ETag, want %d", got, b.base+len(b.live))
			}
			return d, nil
		})
		b.record(r, n)
		return nil
	}); err != nil {
		return err
	}

	if err := b.profiledIf(b.want("multiget"), "multiget", func() error {
		r := run(fmt.Sprintf("calendar-multiget of %d", b.o.multiget), b.o.concurrency, b.limit(), b.pid, func(_, _ int) (time.Duration, error) {
			hrefs := make([]string, 0, b.o.multiget)
			for _, i := range b.distinct(min(b.o.multiget, len(b.live)), len(b.live)) {
				hrefs = append(hrefs, b.c.href(b.prefix, b.live[i]))
			}
			body, d, err := b.c.multiget(hrefs)
			if err != nil {
				return d, err
			}
			// A cheap check, so as not to take much CPU from the server:
			// one calendar-data per href and no other status than 200.
			if got := strings.Count(string(body), "BEGIN:VCALENDAR"); got != len(hrefs) {
				return d, fmt.Errorf("multiget: %d calendar-data in the answer, want %d", got, len(hrefs))
			}
			if strings.Contains(string(body), "HTTP/1.1 4") || strings.Contains(string(body), "HTTP/1.1 5") {
				return d, fmt.Errorf("multiget: an href answered with an error status: %.300s", body)
			}
			return d, nil
		})
		b.record(r, n)
		return nil
	}); err != nil {
		return err
	}

	if !b.want("sync") {
		return nil
	}
	return b.syncPhase(n)
}

// syncPhase measures sync-collection on a calendar of size objects: the
// initial sync, -reps times, then -reps rounds of (modify -changes random
// objects with -concurrency clients; incremental sync from the previous
// round's token, timed), each delta checked to hold exactly the changed
// hrefs.
func (b *runner) syncPhase(size int) error {
	return b.profiled(fmt.Sprintf("sync-%d", size), func() error {
		var token string
		initial := run("sync-collection initial (serial)", 1, limit{ops: b.o.reps}, b.pid, func(_, _ int) (time.Duration, error) {
			body, d, err := b.c.syncCollection("")
			if err != nil {
				return d, err
			}
			ms, err := parseMultistatus(body)
			if err != nil {
				return d, err
			}
			if got := ms.members(b.o.calendar); got != b.base+len(b.live) {
				return d, fmt.Errorf("initial sync: %d members with an ETag, want %d", got, b.base+len(b.live))
			}
			if ms.SyncToken == "" {
				return d, errors.New("initial sync: no sync-token")
			}
			token = ms.SyncToken
			return d, nil
		})
		b.record(initial, size)
		if token == "" {
			return errors.New("no sync token to continue from")
		}

		modify := &result{name: fmt.Sprintf("PUT (modify %d)", b.o.changes), concurrency: b.o.concurrency}
		incr := &result{name: fmt.Sprintf("sync-collection incr. of %d (serial)", b.o.changes), concurrency: 1}
		for range b.o.reps {
			changed := b.distinct(min(b.o.changes, len(b.live)), len(b.live))
			for k, j := range changed {
				changed[k] = b.live[j]
				b.rev[changed[k]]++
			}
			// A modification the server refused (an error already) may or
			// may not be in the delta; the check is on those it took.
			done := make([]bool, len(changed))
			modify.add(run("PUT", b.o.concurrency, limit{ops: len(changed)}, b.pid, func(_, seq int) (time.Duration, error) {
				i := changed[seq]
				d, err := b.c.put(b.c.href(b.prefix, i), b.object(i, b.rev[i]))
				done[seq] = err == nil
				return d, err
			}))
			want := make(map[string]bool, len(changed))
			for k, i := range changed {
				if done[k] {
					want[b.c.href(b.prefix, i)] = true
				}
			}
			before := sampleCPU(b.pid)
			body, d, err := b.c.syncCollection(token)
			incr.cpu.add(since(before, sampleCPU(b.pid)))
			if err != nil {
				incr.fail(err)
				continue
			}
			incr.lats = append(incr.lats, d)
			incr.wall += d
			ms, err := parseMultistatus(body)
			if err != nil {
				incr.fail(err)
				continue
			}
			got := 0
			for _, r := range ms.Responses {
				if want[r.Href] {
					got++
				}
			}
			// A server we did not start may have other writers; ours
			// must answer exactly the changed hrefs.
			if got != len(want) || (b.o.server == "" && len(ms.Responses) > len(changed)) {
				incr.fail(fmt.Errorf("incremental sync: %d responses, %d of the %d changed hrefs", len(ms.Responses), got, len(want)))
			}
			if ms.SyncToken == "" || ms.SyncToken == token {
				incr.fail(fmt.Errorf("incremental sync: token %q after %q", ms.SyncToken, token))
				continue
			}
			token = ms.SyncToken
		}
		b.record(modify, size)
		b.record(incr, size)
		return nil
	})
}

func (b *runner) errors() (n int) {
	for _, r := range b.results {
		n += r.errors
	}
	return n
}

func (b *runner) firstErr() error {
	for _, r := range b.results {
		if r.firstErr != nil {
			return r.firstErr
		}
	}
	return nil
}

// object is object i of the default calendar at revision rev.
func (b *runner) object(i, rev int) []byte {
	if b.o.mix != "realistic" {
		return event(b.prefix, i, rev)
	}
	data := realistic(b.prefix, b.o.seed, i).data
	if rev == 0 {
		return data
	}
	// A modification that leaves the instances alone: new DTSTAMP and
	// LAST-MODIFIED, and a SEQUENCE.
	stamp := mixRef.Add(time.Duration(rev) * time.Minute).Format("20060102T150405Z")
	text := strings.ReplaceAll(string(data), "20251201T090000Z", stamp)
	text = strings.Replace(text, "\r\nDTSTAMP:", fmt.Sprintf("\r\nSEQUENCE:%d\r\nDTSTAMP:", rev), 1)
	return []byte(text)
}

func (b *runner) want(phase string) bool { return b.o.phases[phase] }

func (b *runner) phaseList() string {
	var out []string
	for _, p := range phaseNames {
		if b.want(p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}
