// Extracting a tar (the snapshot, the worker's files) as the agent, relative to directory descriptors, never through a link.
package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
)

// O_PATH (0x200000 on amd64 and arm64; the syscall package has no name for it): a handle for *at calls only.
const openPath = 0x200000 | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC

type dirAttrs struct {
	name  string
	mode  uint32
	mtime time.Time
}

// extractor writes entries below the directory root. Each entry's directory is reached one component at a time
// with O_NOFOLLOW from root, and every entry is made with an *at call relative to it: a symbolic link already there
// (or one the tar itself made) is replaced, never written through. Directories' modes and mtimes are set last,
// deepest first, as tar does: a directory must stay writable while it is filled, and filling it changes its mtime.
type extractor struct {
	root    int
	create  bool
	dirs    []dirAttrs
	cached  string
	cacheFd int
	buf     []byte
}

func extract(in io.Reader, root string, allowed func(string) bool, createParents bool, log *errlog) error {
	fd, err := openat(-100 /* AT_FDCWD */, root, openPath, 0)
	if err != nil {
		return err
	}
	x := &extractor{root: fd, create: createParents, cacheFd: -1, buf: make([]byte, 64<<10)}
	defer x.close()
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name, ok := cleanName(hdr.Name)
		if !ok || !allowed(name) {
			return fmt.Errorf("refusing entry %q", hdr.Name)
		}
		if err := x.entry(name, hdr, tr, allowed, log); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.finishDir(x.dirs[i]); err != nil {
			return fmt.Errorf("%s: %w", x.dirs[i].name, err)
		}
	}
	return nil
}

// cleanName is a tar name as a relative path with no empty, "." or ".." component ("" when it has none).
func cleanName(name string) (string, bool) {
	name = strings.TrimPrefix(strings.TrimRight(name, "/"), "./")
	if name == "" || strings.HasPrefix(name, "/") {
		return "", false
	}
	for _, c := range strings.Split(name, "/") {
		if c == "" || c == "." || c == ".." {
			return "", false
		}
	}
	return name, true
}

func split(name string) (dir, base string) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

func (x *extractor) close() {
	x.forget()
	syscall.Close(x.root)
}

func (x *extractor) forget() {
	if x.cacheFd >= 0 {
		syscall.Close(x.cacheFd)
	}
	x.cached, x.cacheFd = "", -1
}

// open returns a descriptor (O_PATH) of the directory dir below root, reached without following a link; missing
// directories are made (mode 0755, as tar makes a member's missing parents) when the extractor creates parents.
// The caller closes it unless it is root.
func (x *extractor) open(dir string) (int, error) {
	if dir == "" {
		return x.root, nil
	}
	cur := x.root
	for _, c := range strings.Split(dir, "/") {
		next, err := openat(cur, c, openPath, 0)
		if errors.Is(err, syscall.ENOENT) && x.create {
			if err = syscall.Mkdirat(cur, c, 0o755); err == nil || errors.Is(err, syscall.EEXIST) {
				next, err = openat(cur, c, openPath, 0)
			}
		}
		if err == nil {
			// O_PATH|O_NOFOLLOW opens a symbolic link itself: it must be a directory.
			var st syscall.Stat_t
			if err = syscall.Fstat(next, &st); err == nil && !isDir(&st) {
				err = syscall.ENOTDIR
			}
			if err != nil {
				syscall.Close(next)
			}
		}
		if cur != x.root {
			syscall.Close(cur)
		}
		if err != nil {
			return -1, fmt.Errorf("%s: %w", c, err)
		}
		cur = next
	}
	return cur, nil
}

// parent is the descriptor of an entry's directory; the last one is kept (a tar's entries come directory by directory).
func (x *extractor) parent(dir string) (int, error) {
	if dir == "" {
		return x.root, nil
	}
	if x.cacheFd >= 0 && x.cached == dir {
		return x.cacheFd, nil
	}
	x.forget()
	fd, err := x.open(dir)
	if err != nil {
		return -1, err
	}
	x.cached, x.cacheFd = dir, fd
	return fd, nil
}

// clear removes what is at base (an empty directory included), so that the entry can take its place.
func (x *extractor) clear(dirfd int, base string) error {
	var st syscall.Stat_t
	if err := fstatat(dirfd, base, &st); err != nil {
		return err
	}
	flags := 0
	if isDir(&st) {
		flags = atRemoveDir
		// The cached directory may be below the one removed (unless it is its parent, dirfd).
		if x.cacheFd != dirfd {
			x.forget()
		}
	}
	return unlinkat(dirfd, base, flags)
}

// make runs mk; when base exists already, it removes it and runs mk once more (tar's default for members that exist).
func (x *extractor) make(dirfd int, base string, mk func() error) error {
	err := mk()
	if errors.Is(err, syscall.EEXIST) {
		if err = x.clear(dirfd, base); err == nil {
			err = mk()
		}
	}
	return err
}

func (x *extractor) entry(name string, hdr *tar.Header, tr *tar.Reader, allowed func(string) bool, log *errlog) error {
	dir, base := split(name)
	mode := uint32(hdr.Mode & 0o7777)
	ts := timespecs(hdr.ModTime)
	if hdr.Typeflag == tar.TypeDir {
		pfd, err := x.parent(dir)
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := fstatat(pfd, base, &st); err == nil && !isDir(&st) {
			if err := unlinkat(pfd, base, 0); err != nil {
				return err
			}
		}
		if err := syscall.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		x.dirs = append(x.dirs, dirAttrs{name, mode, hdr.ModTime})
		return nil
	}
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		var fd int
		err := x.make(pfd, base, func() (err error) {
			fd, err = openat(pfd, base, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
			return err
		})
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		if err := x.copy(fd, tr); err != nil {
			return err
		}
		if err := syscall.Fchmod(fd, mode); err != nil {
			return err
		}
		return utimensat(fd, "", ts)
	case tar.TypeSymlink:
		if err := x.make(pfd, base, func() error { return symlinkat(hdr.Linkname, pfd, base) }); err != nil {
			return err
		}
		return utimensat(pfd, base, ts)
	case tar.TypeLink:
		target, ok := cleanName(hdr.Linkname)
		if !ok || !allowed(target) {
			return fmt.Errorf("refusing link to %q", hdr.Linkname)
		}
		tdir, tbase := split(target)
		tfd, err := x.open(tdir)
		if err != nil {
			return err
		}
		if tfd != x.root {
			defer syscall.Close(tfd)
		}
		return x.make(pfd, base, func() error { return linkat(tfd, tbase, pfd, base) })
	case tar.TypeFifo:
		if err := x.make(pfd, base, func() error { return syscall.Mknodat(pfd, base, syscall.S_IFIFO|0o600, 0) }); err != nil {
			return err
		}
		// The entry was just made a fifo (no process of the agent runs): not a link for fchmodat to follow.
		if err := syscall.Fchmodat(pfd, base, mode, 0); err != nil {
			return err
		}
		return utimensat(pfd, base, ts)
	default:
		log.add("%s: entry type %q skipped", name, hdr.Typeflag)
		return nil
	}
}

func (x *extractor) copy(fd int, r io.Reader) error {
	for {
		n, err := r.Read(x.buf)
		for off := 0; off < n; {
			m, werr := syscall.Write(fd, x.buf[off:n])
			if werr == syscall.EINTR {
				continue
			}
			if werr != nil {
				return werr
			}
			off += m
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// finishDir gives a directory its mode and mtime (its own entries are all in place by now).
func (x *extractor) finishDir(d dirAttrs) error {
	dir, base := split(d.name)
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := fstatat(pfd, base, &st); err != nil {
		return err
	}
	if !isDir(&st) {
		return syscall.ENOTDIR
	}
	// Checked to be a directory just now, with no process of the agent running: fchmodat follows no link here.
	if err := syscall.Fchmodat(pfd, base, d.mode, 0); err != nil {
		return err
	}
	return utimensat(pfd, base, timespecs(d.mtime))
}
