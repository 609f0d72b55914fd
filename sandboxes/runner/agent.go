// The runner's privileges: what the action inherits, a thread that acts as the agent, and the agent's System V IPC objects.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

type capHeader struct {
	version uint32
	pid     int32
}

type capData struct{ effective, permitted, inheritable uint32 }

const (
	capVersion3          = 0x20080522
	prCapAmbient         = 47
	prCapAmbientClearAll = 4
	// "unchanged" for setresuid/setresgid.
	keepID = ^uintptr(0)
)

var (
	rootGroups []uint32
	rootCaps   [2]capData
)

func capget(data *[2]capData) error {
	hdr := capHeader{version: capVersion3}
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capget: %w", e)
	}
	return nil
}

// clearInheritableCaps empties the inheritable and ambient sets on every thread (capabilities are per thread, and
// the action is forked from any of them): the uid change at exec clears the others.
func clearInheritableCaps() error {
	var data [2]capData
	if err := capget(&data); err != nil {
		return err
	}
	data[0].inheritable, data[1].inheritable = 0, 0
	hdr := capHeader{version: capVersion3}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if _, _, e := syscall.AllThreadsSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", e)
	}
	return nil
}

// saveRootCreds remembers what a thread that acted as the agent must come back to.
func saveRootCreds() error {
	n, _, e := syscall.RawSyscall(syscall.SYS_GETGROUPS, 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("getgroups: %w", e)
	}
	rootGroups = make([]uint32, n+1)
	n, _, e = syscall.RawSyscall(syscall.SYS_GETGROUPS, uintptr(len(rootGroups)), uintptr(unsafe.Pointer(&rootGroups[0])), 0)
	if e != 0 {
		return fmt.Errorf("getgroups: %w", e)
	}
	rootGroups = rootGroups[:n]
	return capget(&rootCaps)
}

// asAgent runs fn on an OS thread whose effective uid and gid are the agent's, with no supplementary group: the
// kernel then checks fn's file operations as the agent's (no capability is effective), and what fn creates is
// the agent's, as when the bash runner ran `setpriv tar`. Credentials are per thread in Linux; Go's own setuid
// calls change every thread, so raw syscalls change this locked one only, and it is given back to the scheduler
// only once it is verifiably root again (else it ends with the goroutine).
func asAgent(uid int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := becomeAgent(uid); err != nil {
			done <- err
			return
		}
		err := fn()
		if back := backToRoot(); back != nil {
			err = errors.Join(err, fmt.Errorf("thread not back to root: %w", back))
		} else {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

func becomeAgent(uid int) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, keepID, uintptr(uid), keepID); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, keepID, uintptr(uid), keepID); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	return nil
}

// backToRoot gives the thread back its effective root (the real and saved uids stayed 0, so the kernel copies the
// permitted capabilities back to the effective set), and checks it.
func backToRoot() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, keepID, 0, keepID); e != 0 {
		return e
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, keepID, 0, keepID); e != 0 {
		return e
	}
	var groups uintptr
	if len(rootGroups) > 0 {
		groups = uintptr(unsafe.Pointer(&rootGroups[0]))
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(rootGroups)), groups, 0); e != 0 {
		return e
	}
	var ids [3]uint32
	if _, _, e := syscall.RawSyscall(syscall.SYS_GETRESUID, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&ids[1])), uintptr(unsafe.Pointer(&ids[2]))); e != 0 || ids != [3]uint32{} {
		return errors.New("uids not restored")
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_GETRESGID, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&ids[1])), uintptr(unsafe.Pointer(&ids[2]))); e != 0 || ids != [3]uint32{} {
		return errors.New("gids not restored")
	}
	var caps [2]capData
	if err := capget(&caps); err != nil || caps != rootCaps {
		return errors.New("capabilities not restored")
	}
	return nil
}

// warmThreads makes the Go runtime start OS threads now. Threads count against the pids limit: once an action's
// fork bomb has used it up, the runtime could not start one (and would abort), so it must already have enough
// idle ones for the blocking calls it makes while an action runs.
func warmThreads(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := syscall.Timespec{Nsec: 20e6}
			syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		}()
	}
	wg.Wait()
}

var sysvIPC = [...]struct {
	path string
	rmid func(id int) syscall.Errno
}{
	{"/proc/sysvipc/shm", func(id int) syscall.Errno {
		_, _, e := syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), 0 /* IPC_RMID */, 0)
		return e
	}},
	{"/proc/sysvipc/msg", func(id int) syscall.Errno {
		_, _, e := syscall.Syscall(syscall.SYS_MSGCTL, uintptr(id), 0, 0)
		return e
	}},
	{"/proc/sysvipc/sem", func(id int) syscall.Errno {
		_, _, e := syscall.Syscall6(syscall.SYS_SEMCTL, uintptr(id), 0, 0, 0, 0, 0)
		return e
	}},
}

// ipcIDs lists the System V IPC objects of one kind (the second column of every line after the header).
func ipcIDs(path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ids []int
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		if f := bytes.Fields(line); i > 0 && len(f) > 1 {
			if id, err := strconv.Atoi(string(f[1])); err == nil {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// ipcDirty is true when the agent left System V IPC objects (the sandbox has its own IPC namespace).
func ipcDirty() bool {
	for _, k := range sysvIPC {
		if len(ipcIDs(k.path)) > 0 {
			return true
		}
	}
	return false
}

// removeIPC removes the agent's System V IPC objects, as the agent (IPC_RMID wants the owner's effective uid, and
// the runner lacks CAP_SYS_ADMIN), as `ipcrm -a` run by the agent did.
func (r *runner) removeIPC(log *errlog) {
	_ = asAgent(r.agent, func() error {
		for _, k := range sysvIPC {
			for _, id := range ipcIDs(k.path) {
				if e := k.rmid(id); e != 0 && e != syscall.EINVAL && e != syscall.EIDRM {
					log.add("remove %s %d: %v", k.path, id, e)
				}
			}
		}
		return nil
	})
}
