package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU accounting per phase, from /proc (Linux; elsewhere the columns stay
// empty). Process times are the threads' run time in nanoseconds. The
// machine may be shared: the time its cores were busy beyond the server's
// and this client's is "other" load, reported in cores so that a run
// disturbed by other work can be told apart; it comes from /proc/stat's
// 1/100 s ticks, so it is shown only for phases of a second or more.

const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux

type cpuSample struct {
	ok             bool
	server, client time.Duration
	busy           time.Duration // all cores, everything but idle and iowait
}

// procCPU is a process's CPU time: the sum of its threads' run time from
// /proc/PID/task/*/schedstat (nanoseconds; a thread that exits takes its
// time with it, which Go's threads rarely do), else utime+stime from
// /proc/PID/stat (ticks).
func procCPU(pid string) (time.Duration, bool) {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err == nil {
		var sum int64
		ok := true
		for _, t := range tasks {
			data, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/schedstat")
			if err != nil {
				continue // exited since the listing
			}
			f := strings.Fields(string(data))
			if len(f) < 1 {
				ok = false
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				ok = false
				break
			}
			sum += n
		}
		if ok {
			return time.Duration(sum), true
		}
	}
	return statCPU(pid)
}

func statCPU(pid string) (time.Duration, bool) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name (which may hold spaces, in parens):
	// state is field 3, utime 14, stime 15.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * tick, true
}

// machineBusy is the time all cores spent not idle, from /proc/stat.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for k, v := range f[1:] {
		if k == 3 || k == 4 || k >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * tick, true
}

// sampleCPU reads the counters; serverPid 0 means the server is this
// process (or unknown), and its time is left at 0.
func sampleCPU(serverPid int) cpuSample {
	var s cpuSample
	var ok1, ok2, ok3 bool
	s.client, ok1 = procCPU("self")
	s.busy, ok2 = machineBusy()
	ok3 = true
	if serverPid != 0 {
		s.server, ok3 = procCPU(strconv.Itoa(serverPid))
	}
	s.ok = ok1 && ok2 && ok3
	return s
}

// cpuUse is what a phase used between two samples.
type cpuUse struct {
	ok                    bool
	server, client, other time.Duration
}

func (u *cpuUse) add(o cpuUse) {
	if !o.ok {
		return
	}
	u.ok = true
	u.server += o.server
	u.client += o.client
	u.other += o.other
}

func since(a, b cpuSample) cpuUse {
	if !a.ok || !b.ok {
		return cpuUse{}
	}
	u := cpuUse{ok: true, server: b.server - a.server, client: b.client - a.client}
	u.other = max(0, (b.busy-a.busy)-u.server-u.client)
	return u
}
