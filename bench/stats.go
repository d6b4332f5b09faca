package main

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// result is one phase's measurements: every request's latency (time to
// the last byte of the answer), the wall time the requests took, errors.
type result struct {
	name        string
	concurrency int
	size        int // objects in the calendar when measured
	wall        time.Duration
	lats        []time.Duration
	errors      int
	firstErr    error
	cpu         cpuUse
}

func (r *result) add(o *result) {
	r.wall += o.wall
	r.lats = append(r.lats, o.lats...)
	r.errors += o.errors
	r.cpu.add(o.cpu)
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

func (r *result) fail(err error) {
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func (r *result) opsPerSec() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(len(r.lats)) / r.wall.Seconds()
}

// pct is the p-th percentile (nearest rank) of the sorted latencies.
func (r *result) pct(p float64) time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	s := slices.Clone(r.lats)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (r *result) max() time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	return slices.Max(r.lats)
}

// ms formats a duration in milliseconds with enough digits for sub-ms
// latencies.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// limit says when a phase stops: after ops requests if ops > 0, else after
// dur.
type limit struct {
	ops int
	dur time.Duration
}

// run calls op from conc workers until the limit is reached. op gets the
// worker number and a sequence number unique across workers; it returns
// the latency it measured (so it can leave client-side checks out) or an
// error. Workers carry the pprof label role=client so that a profile of the
// in-process server can leave the client out (-tagignore role=client).
func run(name string, conc int, lim limit, serverPid int, op func(worker, seq int) (time.Duration, error)) *result {
	var (
		mu   sync.Mutex
		res  = &result{name: name, concurrency: conc}
		next atomic.Int64
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(lim.dur)
	before := sampleCPU(serverPid)
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go pprof.Do(context.Background(), pprof.Labels("role", "client"), func(context.Context) {
			defer wg.Done()
			lats := make([]time.Duration, 0, 1024)
			var errs []error
			for {
				seq := int(next.Add(1) - 1)
				if lim.ops > 0 && seq >= lim.ops {
					break
				}
				if lim.ops <= 0 && time.Now().After(deadline) {
					break
				}
				d, err := op(w, seq)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				lats = append(lats, d)
			}
			mu.Lock()
			res.lats = append(res.lats, lats...)
			for _, e := range errs {
				res.fail(e)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	res.cpu = since(before, sampleCPU(serverPid))
	return res
}

// perOp is a CPU time per successful request, in µs.
func perOp(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(int64(d/time.Microsecond)/int64(n), 10)
}

// cpuCols are the CPU columns: server and client µs per request, and other
// processes' load in cores over the phase's wall time.
func (r *result) cpuCols(serverKnown bool) (srv, cli, other string) {
	if !r.cpu.ok {
		return "-", "-", "-"
	}
	srv = "-"
	if serverKnown {
		srv = perOp(r.cpu.server, len(r.lats))
	}
	cli = perOp(r.cpu.client, len(r.lats))
	other = "-"
	if r.wall >= time.Second {
		other = strconv.FormatFloat(r.cpu.other.Seconds()/r.wall.Seconds(), 'f', 2, 64)
	}
	return srv, cli, other
}
