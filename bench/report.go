package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// find returns the result of the phase whose name starts with prefix,
// measured at size.
func (b *runner) find(prefix string, size int) *result {
	for _, r := range b.results {
		if strings.HasPrefix(r.name, prefix) && r.size == size {
			return r
		}
	}
	return nil
}

// verdicts judges the aims of issue 2 (2-core machine, loopback, 8
// clients) and issue 3 (serial queries). Latency aims are judged on the median and show p99 beside it.
type verdict struct{ aim, verdict, got string }

func (b *runner) verdicts() []verdict {
	n := b.o.objects
	var out []verdict
	judge := func(aim string, ok bool, got string) {
		v := "NOT MET"
		if ok {
			v = "met"
		}
		out = append(out, verdict{aim, v, got})
	}
	if r := b.find("PUT (fill)", n); r != nil {
		judge("PUT >= 3,000/s", r.opsPerSec() >= 3000, fmt.Sprintf("%.0f/s", r.opsPerSec()))
	}
	if r := b.find("GET", n); r != nil {
		judge("GET >= 10,000/s", r.opsPerSec() >= 10000, fmt.Sprintf("%.0f/s", r.opsPerSec()))
	}
	if r := b.find("PROPFIND", n); r != nil {
		aim := "PROPFIND Depth 1 of 10k <= 50 ms (p50)"
		if n != 10000 {
			aim = fmt.Sprintf("PROPFIND Depth 1 of %d <= 50 ms (p50; aim is for 10k)", n)
		}
		judge(aim, r.pct(50) <= 50*time.Millisecond, fmt.Sprintf("p50 %s ms, p99 %s ms", ms(r.pct(50)), ms(r.pct(99))))
	}
	incr := fmt.Sprintf("sync-collection incr. of %d", b.o.changes)
	if r := b.find(incr, n); r != nil {
		judge(fmt.Sprintf("incremental sync of %d <= 2 ms (p50)", b.o.changes), r.pct(50) <= 2*time.Millisecond,
			fmt.Sprintf("p50 %s ms, p99 %s ms at %d objects", ms(r.pct(50)), ms(r.pct(99)), n))
		if s := b.find(incr, b.o.small); s != nil && b.o.small > 0 {
			// "Not growing": an O(collection) cost would grow about as
			// the calendar does (10x from 1k to 10k); O(changes) stays flat
			// but for the store's log factors and noise. Judged as: the
			// median at N grows less than twice over the size ratio's
			// square root (x3.2 for x10), or by at most 0.25 ms.
			small, big := s.pct(50), r.pct(50)
			growth := float64(big) / float64(max(small, 1))
			ok := growth <= math.Sqrt(float64(n)/float64(b.o.small)) || big-small <= 250*time.Microsecond
			judge("incremental sync not growing with calendar size", ok,
				fmt.Sprintf("p50 %s ms at %d vs %s ms at %d objects: x%.2f for x%.1f objects (limit x%.2f)",
					ms(small), b.o.small, ms(big), n, growth, float64(n)/float64(b.o.small), math.Sqrt(float64(n)/float64(b.o.small))))
		}
	}
	// Issue 3: query p50 <= 2 ms at 10k and <= 5 ms at 100k; free-busy
	// of a month <= 5 ms. Judged on the serial phases' medians; a size
	// other than 10k or 100k is judged against the aim of the nearer one.
	qaim, note := 2*time.Millisecond, ""
	if n > 31622 { // nearer 100k than 10k (geometrically)
		qaim = 5 * time.Millisecond
	}
	if n != 10000 && n != 100000 {
		note = fmt.Sprintf("; aim is for %s", map[bool]string{true: "100k", false: "10k"}[n > 31622])
	}
	for _, name := range []string{"calendar-query week+data (serial)", "calendar-query month+data (serial)", "calendar-query week expand (serial)", "calendar-query month expand (serial)"} {
		if r := b.find(name, n); r != nil {
			judge(fmt.Sprintf("%s of %d <= %d ms (p50%s)", strings.TrimSuffix(name, " (serial)"), n, qaim/time.Millisecond, note), r.pct(50) <= qaim,
				fmt.Sprintf("p50 %s ms, p99 %s ms", ms(r.pct(50)), ms(r.pct(99))))
		}
	}
	if r := b.find("free-busy-query month (serial)", n); r != nil {
		judge(fmt.Sprintf("free-busy-query month of %d <= 5 ms (p50)", n), r.pct(50) <= 5*time.Millisecond,
			fmt.Sprintf("p50 %s ms, p99 %s ms", ms(r.pct(50)), ms(r.pct(99))))
	}
	return out
}

func (b *runner) report() {
	fmt.Println()
	fmt.Println("Results")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tobjects\tclients\tops\tops/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tsrv µs/op\tcli µs/op\tother cores\t")
	for _, r := range b.results {
		srv, cli, other := r.cpuCols(b.pid != 0)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", r.name, r.size, r.concurrency, len(r.lats), r.opsPerSec(),
			ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.max()), r.errors, srv, cli, other)
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("Aims (issue 2: 2-core machine, loopback, 8 clients; issue 3: serial queries; informational, the exit status reflects errors only)")
	for _, v := range b.verdicts() {
		fmt.Printf("  %-52s %-8s %s\n", v.aim, v.verdict, v.got)
	}

	fmt.Println()
	fmt.Println("Markdown")
	fmt.Println()
	fmt.Println("| phase | objects | clients | ops | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/op | client CPU µs/op | other load (cores) |")
	fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range b.results {
		srv, cli, other := r.cpuCols(b.pid != 0)
		fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %d | %s | %s | %s |\n", r.name, r.size, r.concurrency, len(r.lats), r.opsPerSec(),
			ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.max()), r.errors, srv, cli, other)
	}
	fmt.Println()
	for _, c := range b.cond {
		fmt.Println("- " + c)
	}
	fmt.Println("- ops/s of a serial phase is 1/mean latency; latency is send to last byte read")
	fmt.Println("- CPU µs/op: the server's and this client's user+system time per successful request (client time includes checking the answers); other load: CPU the rest of the machine used during the phase, in cores")
	for _, n := range b.notes {
		fmt.Println("- " + n)
	}
	fmt.Printf("- load average at the end: %s\n", loadavg())
	fmt.Println()
	fmt.Println("| aim | verdict | measured |")
	fmt.Println("|---|---|---|")
	for _, v := range b.verdicts() {
		fmt.Printf("| %s | %s | %s |\n", v.aim, v.verdict, v.got)
	}
}
