// Running one action as the agent: limits, wall clock, resource-limit counters, leftover processes, output capture.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

const (
	// How often a running action's resource counters (and the worker's stdin) are looked at.
	poll = 10 * time.Millisecond
	// An action's processes get this oom_score_adj: the OOM killer takes them before the runner or PID 1.
	agentOOMAdj = "1000"
)

type result struct {
	status            int
	micros            int64
	oomKills, pidsMax int64
	leftover          int
	timedOut          bool
}

// run starts `bash -c action` as the agent and waits for it until it exits, hits the memory or pids limit (what
// happened decides its verdict, not which of the limit and the wall clock comes first), or its time is up. Every
// process it left is then counted and SIGKILLed. When the worker's stdin closes, nothing would read the answer:
// the runner ends with the action.
func (r *runner) run(action string, timeout time.Duration, log *errlog) (result, error) {
	out, err := os.OpenFile(r.scratch+"/out", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return result{}, err
	}
	oom0, pids0 := r.counters()
	// No Dir: the action inherits the runner's working directory, /work. A chdir in the child would come after the
	// uid change and fail when the agent has taken /work's search permission away (it owns /work), making its next
	// action an infrastructure failure.
	attr := &os.ProcAttr{
		Env:   r.env,
		Files: []*os.File{r.devNull, out, out},
		Sys: &syscall.SysProcAttr{
			// uid and gid 1000, no supplementary group; the uid change clears every capability.
			Credential: &syscall.Credential{Uid: uint32(r.agent), Gid: uint32(r.agent), Groups: []uint32{}},
		},
	}
	// oom_score_adj is per process and inherited at fork: the runner holds 1000 only while it starts the action
	// (no process of the agent runs then), so the action has it from its first instruction on.
	if err := setOOMAdj([]byte(agentOOMAdj)); err != nil {
		out.Close()
		return result{}, err
	}
	t0 := time.Now()
	p, startErr := os.StartProcess(r.bash, []string{"bash", "-c", action}, attr)
	if err := setOOMAdj(r.oomAdj); err != nil {
		// Never serve with the OOM killer's first place.
		fmt.Fprintln(os.Stderr, "runner: oom_score_adj:", err)
		r.leave(exitSetup)
	}
	out.Close()
	if startErr != nil {
		return result{}, startErr
	}
	done := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := p.Wait()
		done <- st
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	res := result{status: 137, timedOut: true}
	var st *os.ProcessState
	exited := false
wait:
	for {
		select {
		case st = <-done:
			exited = true
			break wait
		case <-deadline.C:
			break wait
		case <-tick.C:
			if oom, pids := r.counters(); oom > oom0 || pids > pids0 {
				res.timedOut = false
				break wait
			}
		case <-r.eof:
			r.leave(0)
		}
	}
	// An exit that came with the limit or the deadline is still the action's own.
	if !exited {
		select {
		case st = <-done:
			exited = true
		default:
		}
	}
	res.micros = time.Since(t0).Microseconds()
	if exited {
		res.timedOut = false
		res.status = exitStatus(st)
	}
	res.leftover = countProcesses()
	reap()
	if !exited {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			log.add("the action's process did not end after SIGKILL")
		}
	}
	oom1, pids1 := r.counters()
	res.oomKills, res.pidsMax = oom1-oom0, pids1-pids0
	return res, nil
}

// exitStatus is what bash's $? says: the exit code, or 128 + the signal that killed it.
func exitStatus(st *os.ProcessState) int {
	if st == nil {
		return 137
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return st.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// takeOutput is the action's output, at most outputCap+1 bytes (the extra byte tells the worker it was cut). The
// file is emptied afterwards so the scratch tmpfs (and the memory limit) does not keep it.
func (r *runner) takeOutput(log *errlog) []byte {
	f, err := os.Open(r.scratch + "/out")
	if err != nil {
		log.add("output: %v", err)
		return nil
	}
	defer f.Close()
	n, err := io.ReadFull(f, r.outBuf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		log.add("output: %v", err)
	}
	if err := os.Truncate(r.scratch+"/out", 0); err != nil {
		log.add("output: %v", err)
	}
	return r.outBuf[:n]
}

func setOOMAdj(v []byte) error {
	return os.WriteFile("/proc/self/oom_score_adj", v, 0)
}

// counters are the cgroup's OOM kills and refused forks so far.
func (r *runner) counters() (oomKills, pidsMax int64) {
	return counter(r.memEvents, "oom_kill"), counter(r.pidsEvents, "max")
}

func counter(path, key string) int64 {
	if path == "" {
		return 0
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var v int64
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		k, val, ok := bytes.Cut(line, []byte{' '})
		if ok && string(k) == key {
			v, _ = strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
		}
	}
	return v
}

// countProcesses counts the live processes but PID 1 and this runner: what the action left running.
func countProcesses() int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	self := os.Getpid()
	n := 0
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == 1 || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		// The state follows the command name, which may itself hold ") ".
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' {
			n++
		}
	}
	return n
}

// reap SIGKILLs every process but PID 1 and this runner until none is left (kill(-1) fails with ESRCH once the
// last one is gone and reaped, by PID 1 or by this runner's wait).
func reap() {
	for i := 0; i < 5000; i++ {
		if err := syscall.Kill(-1, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
			return
		}
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(100 * time.Microsecond)
		}
	}
}
