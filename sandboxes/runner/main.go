// The runner of a sandbox: one long-lived root process that serves the worker's requests on its stdin, answers on its stdout.
//
// Arguments: the output kept per action in bytes, the file-size limit in KiB, the root-only scratch dir, the agent's uid,
// and optionally the manifest's caps: its entries and its bytes (records and hashes).
//
// Requests (one line, then a payload of <len> bytes):
//
//	<op> <id> <timeout-seconds> <flags> <len>
//
// ops: exec (payload = action; flags r = restore first, m = manifest after), put (payload = tar for /work),
// snap, restore, manifest, reset, ping. Answer: one line
//
//	@@PIVOTRL <id> <status> <int,int,...> <size,size,...>
//
// followed by the sections' bytes. exec answers the integers exit status, duration (µs), OOM kills, pids-limit
// hits, leftover processes, timed out (0/1) and manifest over its cap (0/1; then the manifest sections are empty),
// and the sections output, manifest records, manifest hashes and errors; snap and manifest answer the records, the
// hashes and errors (and fail when the manifest is over its cap); the other ops errors only; a failed op answers
// `fail 0` and errors. Nothing the agent runs writes to the runner's stdout.
//
// The action is the only process a request starts (`bash -c <action>` as the agent): the snapshot, the restore, the
// manifest, the output capture and the cleanup all happen in this process, because a fork+exec costs milliseconds
// here and a bash runner spent most of a request on them.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// Exit statuses of a runner that cannot serve (the worker sees the stream end, with stderr).
	exitUsage    = 64
	exitNoWork   = 71
	exitProtocol = 72
	exitSetup    = 73
	// Bounds of what a request may carry (the worker writes a task's files, an action).
	maxHeader  = 4096
	maxPayload = 256 << 20
	// The error section is for people; a pathological tree must not make it unbounded.
	maxErrLog = 64 << 10
	// One line of it: a path in a message may be as long as a tree is deep.
	maxErrLine = 1 << 10
	// Answers above this size left buffers that the runner gives back at once (see answer).
	bigAnswer = 1 << 20
	// The manifest's caps when the worker names none (sandboxes/limits.ts has the same).
	defaultManifestEntries = 20000
	defaultManifestBytes   = 8 << 20
)

type request struct {
	op, id, timeout, flags string
	payload                []byte
}

type runner struct {
	outputCap int
	fileSize  int64
	// The manifest's caps: entries, and bytes of records and hashes.
	manifestEntries, manifestBytes int
	scratch                        string
	agent                          int
	bash                           string
	env                            []string
	devNull                        *os.File
	// The cgroup counters of OOM kills and refused forks (v1, else v2).
	memEvents, pidsEvents string
	// This process's own oom_score_adj, given back after each action is started with 1000.
	oomAdj []byte
	// The mode /work had at the snapshot (restored by wipe, as root, before the agent restores the rest).
	workMode uint32
	// True while /work, /tmp and /dev/shm hold exactly the snapshot (taken or restored since the last action or put).
	clean  bool
	eof    chan struct{}
	out    *bufio.Writer
	outBuf []byte
}

// errlog collects what went wrong during a request: the answer's last section.
type errlog struct{ bytes.Buffer }

func (l *errlog) add(format string, a ...any) {
	if l.Len() < maxErrLog {
		line := fmt.Sprintf(format, a...)
		if len(line) > maxErrLine {
			line = line[:maxErrLine] + "…"
		}
		l.WriteString(line + "\n")
	}
}

func main() {
	if len(os.Args) != 5 && len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: runner OUTPUT_CAP_BYTES FILE_SIZE_KIB SCRATCH_DIR AGENT_UID [MANIFEST_ENTRIES MANIFEST_BYTES]")
		os.Exit(exitUsage)
	}
	outputCap, e1 := strconv.Atoi(os.Args[1])
	fileSizeKiB, e2 := strconv.ParseInt(os.Args[2], 10, 64)
	agent, e3 := strconv.Atoi(os.Args[4])
	manifestEntries, manifestBytes := defaultManifestEntries, defaultManifestBytes
	var e4, e5 error
	if len(os.Args) == 7 {
		manifestEntries, e4 = strconv.Atoi(os.Args[5])
		manifestBytes, e5 = strconv.Atoi(os.Args[6])
	}
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil || outputCap < 0 || fileSizeKiB <= 0 || agent <= 0 ||
		manifestEntries <= 0 || manifestBytes <= 0 {
		fmt.Fprintln(os.Stderr, "runner: bad arguments")
		os.Exit(exitUsage)
	}
	// The runner needs no parallelism: one P keeps its thread count (which the pids limit counts) low.
	runtime.GOMAXPROCS(1)
	syscall.Umask(0o022)
	if err := syscall.Chdir("/work"); err != nil {
		os.Exit(exitNoWork)
	}
	r := &runner{
		outputCap:       outputCap,
		fileSize:        fileSizeKiB * 1024,
		manifestEntries: manifestEntries,
		manifestBytes:   manifestBytes,
		scratch:         os.Args[3],
		agent:           agent,
		workMode:        0o755,
		eof:             make(chan struct{}),
		out:             bufio.NewWriterSize(os.Stdout, 256<<10),
		outBuf:          make([]byte, outputCap+1),
	}
	if err := r.setup(); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(exitSetup)
	}
	reqs := make(chan *request)
	var readErr error
	go func() {
		readErr = readRequests(bufio.NewReaderSize(os.Stdin, maxHeader), reqs)
		close(reqs)
		close(r.eof)
	}()
	r.tellInit("up")
	for q := range reqs {
		r.serve(q)
	}
	if readErr != nil {
		fmt.Fprintln(os.Stderr, "runner:", readErr)
		r.leave(exitProtocol)
	}
	r.leave(0)
}

// leave ends the runner when its worker's stream has ended (or broke the protocol): the agent's processes are killed
// and PID 1 is told to stop, so the container stops with everything in it.
func (r *runner) leave(code int) {
	reap()
	r.tellInit("stop")
	os.Exit(code)
}

// setup readies everything an action needs, before any action can exhaust the pids limit.
func (r *runner) setup() error {
	// The agent gets no capability back through the inheritable or ambient sets (the uid change clears the rest).
	if err := clearInheritableCaps(); err != nil {
		return err
	}
	// The largest file the agent may write (soft = hard, inherited by the action): no sparse terabyte to hash.
	// This runner writes only the snapshot, into a scratch tmpfs no larger than this.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(r.fileSize), Max: uint64(r.fileSize)}); err != nil {
		return fmt.Errorf("RLIMIT_FSIZE: %w", err)
	}
	adj, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return err
	}
	r.oomAdj = bytes.TrimSpace(adj)
	if r.bash, err = exec.LookPath("bash"); err != nil {
		return err
	}
	if r.devNull, err = os.Open(os.DevNull); err != nil {
		return err
	}
	r.env = actionEnv(os.Environ(), r.bash)
	r.memEvents = readable("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")
	r.pidsEvents = readable("/sys/fs/cgroup/pids/pids.events", "/sys/fs/cgroup/pids.events")
	if err := saveRootCreds(); err != nil {
		return err
	}
	// The agent's thread is tried once: a runner that cannot become the agent and come back must not serve.
	if err := asAgent(r.agent, func() error { return nil }); err != nil {
		return fmt.Errorf("agent credentials: %w", err)
	}
	warmThreads(4)
	return nil
}

// actionEnv is the environment the bash runner gave its actions: the container's, as a shell passes it on.
func actionEnv(environ []string, bash string) []string {
	env := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != "PWD" && k != "OLDPWD" && k != "SHLVL" && k != "_" {
			env = append(env, kv)
		}
	}
	return append(env, "PWD=/work", "OLDPWD=/work", "SHLVL=1", "_="+bash)
}

func readable(paths ...string) string {
	for _, p := range paths {
		if f, err := os.Open(p); err == nil {
			f.Close()
			return p
		}
	}
	return ""
}

// readRequests parses requests until stdin ends (nil) or breaks the protocol.
func readRequests(in *bufio.Reader, reqs chan<- *request) error {
	for {
		line, err := in.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("request header: %w", err)
		}
		f := strings.Fields(string(line))
		if len(f) != 5 {
			return fmt.Errorf("malformed request %q", strings.TrimSpace(string(line)))
		}
		n, err := strconv.Atoi(f[4])
		if err != nil || n < 0 || n > maxPayload {
			return fmt.Errorf("bad payload length %q", f[4])
		}
		q := &request{op: f[0], id: f[1], timeout: f[2], flags: f[3], payload: make([]byte, n)}
		if _, err := io.ReadFull(in, q.payload); err != nil {
			return fmt.Errorf("payload of request %s: %w", q.id, err)
		}
		reqs <- q
	}
}

func (r *runner) serve(q *request) {
	defer func() {
		if len(q.payload) > bigAnswer {
			q.payload = nil
			debug.FreeOSMemory()
		}
	}()
	var log errlog
	fail := func() { r.answer(q.id, "fail", "0", log.Bytes()) }
	switch q.op {
	case "exec":
		r.exec(q, &log)
	case "put":
		r.clean = false
		if err := r.put(q.payload, &log); err != nil {
			log.add("put: %v", err)
			fail()
			return
		}
		r.answer(q.id, "ok", "0", log.Bytes())
	case "snap":
		r.clean = false
		m, h, err := r.snap(&log)
		if err != nil {
			log.add("snapshot: %v", err)
			fail()
			return
		}
		r.clean = true
		r.answer(q.id, "ok", "0", m, h, log.Bytes())
	case "restore":
		r.clean = false
		if err := r.restore(&log); err != nil {
			log.add("restore: %v", err)
			fail()
			return
		}
		r.clean = true
		r.answer(q.id, "ok", "0", log.Bytes())
	case "manifest":
		m, h, err := r.manifestOf(&log)
		if err != nil {
			log.add("manifest: %v", err)
			fail()
			return
		}
		r.answer(q.id, "ok", "0", m, h, log.Bytes())
	case "reset":
		r.clean = false
		reap()
		if err := os.Remove(r.snapPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.add("reset: %v", err)
		}
		r.workMode = 0o755
		r.wipe(&log)
		r.answer(q.id, "ok", "0", log.Bytes())
	case "ping":
		r.answer(q.id, "ok", "0", log.Bytes())
	default:
		log.add("unknown op %s", q.op)
		fail()
	}
}

func (r *runner) exec(q *request, log *errlog) {
	// Restoring is a no-op when nothing ran since the snapshot was taken or restored (and no IPC object is left).
	if strings.Contains(q.flags, "r") && (!r.clean || ipcDirty()) {
		if err := r.restore(log); err != nil {
			r.clean = false
			log.add("restore: %v", err)
			r.answer(q.id, "fail", "0", log.Bytes())
			return
		}
	}
	r.clean = false
	seconds, err := strconv.ParseFloat(q.timeout, 64)
	if err != nil || seconds <= 0 {
		log.add("bad timeout %q", q.timeout)
		r.answer(q.id, "fail", "0", log.Bytes())
		return
	}
	action := q.payload
	if i := bytes.IndexByte(action, 0); i >= 0 {
		action = action[:i]
	}
	res, err := r.run(string(action), time.Duration(seconds*float64(time.Second)), log)
	if err != nil {
		log.add("exec: %v", err)
		r.answer(q.id, "fail", "0", log.Bytes())
		return
	}
	out := r.takeOutput(log)
	var m, h []byte
	overCap := 0
	if strings.Contains(q.flags, "m") {
		m, h, err = r.manifestOf(log)
		if errors.Is(err, errManifestCap) {
			m, h, overCap = nil, nil, 1
		}
	}
	timedOut := 0
	if res.timedOut {
		timedOut = 1
	}
	ints := fmt.Sprintf("%d,%d,%d,%d,%d,%d,%d", res.status, res.micros, res.oomKills, res.pidsMax, res.leftover, timedOut, overCap)
	r.answer(q.id, "ok", ints, out, m, h, log.Bytes())
}

// answer writes the header line, then the sections (their sizes end with a comma, as the bash runner's did).
func (r *runner) answer(id, status, ints string, sections ...[]byte) {
	w := r.out
	w.WriteString("@@PIVOTRL " + id + " " + status + " " + ints + " ")
	for _, s := range sections {
		w.WriteString(strconv.Itoa(len(s)))
		w.WriteByte(',')
	}
	w.WriteByte('\n')
	size := 0
	for _, s := range sections {
		w.Write(s)
		size += len(s)
	}
	if err := w.Flush(); err != nil {
		// The worker is gone: nothing would read another answer.
		r.leave(0)
	}
	// The runner's memory counts against the sandbox's limit, which is the agent's: a large manifest's buffers
	// go back to the kernel now, not minutes later.
	if size > bigAnswer {
		debug.FreeOSMemory()
	}
}

// tellInit writes a word to PID 1 (sandboxes/init.sh) on its fifo in the scratch dir: `up` once this runner serves,
// `stop` when the worker's stream has ended, after which PID 1 exits and the container stops with everything in it.
func (r *runner) tellInit(word string) {
	f, err := os.OpenFile(r.scratch+"/.init", os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner: cannot reach PID 1:", err)
		return
	}
	f.WriteString(word + "\n")
	f.Close()
}

func (r *runner) snapPath() string { return r.scratch + "/snap.tar" }
