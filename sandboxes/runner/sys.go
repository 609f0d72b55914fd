// The *at system calls the tree walks and the extraction use, relative to a directory descriptor (never a path from /).
package main

import (
	"syscall"
	"time"
	"unsafe"
)

const (
	atSymlinkNofollow = 0x100
	atRemoveDir       = 0x200
	// A directory to walk or extract into: never through a symbolic link.
	openDir = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	// A regular file to read: a fifo or a device opened by mistake must not block, a link is not followed.
	openRead = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW | syscall.O_NOCTTY | syscall.O_CLOEXEC
)

func retry(f func() syscall.Errno) error {
	for {
		switch e := f(); e {
		case 0:
			return nil
		case syscall.EINTR:
		default:
			return e
		}
	}
}

func fstatat(dirfd int, name string, st *syscall.Stat_t) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	return retry(func() syscall.Errno {
		_, _, e := syscall.Syscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), atSymlinkNofollow, 0, 0)
		return e
	})
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, flags, mode)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func unlinkat(dirfd int, name string, flags int) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags))
	if e != 0 {
		return e
	}
	return nil
}

func symlinkat(target string, dirfd int, name string) error {
	t, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), uintptr(dirfd), uintptr(unsafe.Pointer(p)))
	if e != 0 {
		return e
	}
	return nil
}

// linkat makes a hard link; the old name is not followed if it is a symbolic link (flags 0).
func linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	o, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(olddirfd), uintptr(unsafe.Pointer(o)), uintptr(newdirfd), uintptr(unsafe.Pointer(n)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func readlinkat(dirfd int, name string, size int64) (string, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return "", err
	}
	n := int(size) + 1
	if n < 64 {
		n = 64
	}
	for ; n <= 1<<16; n *= 2 {
		buf := make([]byte, n)
		r, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(n), 0, 0)
		if e != 0 {
			return "", e
		}
		if int(r) < n {
			return string(buf[:r]), nil
		}
	}
	return "", syscall.ENAMETOOLONG
}

func timespecs(t time.Time) *[2]syscall.Timespec {
	// Not through UnixNano: the agent may set any date, and nanoseconds since 1970 hold only ±292 years.
	ts := syscall.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	return &[2]syscall.Timespec{ts, ts}
}

// utimensat sets the access and modification times of name itself (a link is not followed); fd-only with name "".
func utimensat(dirfd int, name string, ts *[2]syscall.Timespec) error {
	var p *byte
	flags := uintptr(atSymlinkNofollow)
	if name != "" {
		var err error
		if p, err = syscall.BytePtrFromString(name); err != nil {
			return err
		}
	} else {
		flags = 0
	}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(ts)), flags, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func isDir(st *syscall.Stat_t) bool { return st.Mode&syscall.S_IFMT == syscall.S_IFDIR }
