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

// extractor writes entries below the directory root. It reaches each entry's directory from the last one, one
// component at a time: down with O_NOFOLLOW (a symbolic link already there, or one the tar itself made, is never
// gone through), up through "..", checked to be the directory it came from (no process of the agent runs). Entries
// are made with *at calls relative to it, so a link in an entry's place is replaced, never written through. Moving
// from one entry's directory to the next costs a few calls however deep the tree, and holds two descriptors.
// Directories' modes and mtimes are set last, deepest first, as tar does: a directory must stay writable while it
// is filled, and filling it changes its mtime.
type extractor struct {
	root   int
	create bool
	dirs   []dirAttrs
	// The directory the extractor is in: its descriptor (root at the top), its path's components, and the
	// identity of every directory on that path (ids[0] is root's).
	cur int
	cwd []string
	ids []fileID
	buf []byte
}

func extract(in io.Reader, root string, allowed func(string) bool, createParents bool, log *errlog) error {
	fd, err := openat(-100 /* AT_FDCWD */, root, openPath, 0)
	if err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return err
	}
	x := &extractor{root: fd, create: createParents, cur: fd, ids: []fileID{idOf(&st)}, buf: make([]byte, 64<<10)}
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

func idOf(st *syscall.Stat_t) fileID { return fileID{uint64(st.Dev), uint64(st.Ino)} }

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
	if x.cur != x.root {
		syscall.Close(x.cur)
	}
	syscall.Close(x.root)
}

// cd moves to the directory dir below root and returns its descriptor (O_PATH; the extractor's, not to be closed).
// Missing directories are made (mode 0755, as tar makes a member's missing parents) when the extractor creates
// parents.
func (x *extractor) cd(dir string) (int, error) {
	var want []string
	if dir != "" {
		want = strings.Split(dir, "/")
	}
	n := 0
	for n < len(x.cwd) && n < len(want) && x.cwd[n] == want[n] {
		n++
	}
	for len(x.cwd) > n {
		if err := x.up(); err != nil {
			return -1, err
		}
	}
	for _, c := range want[n:] {
		if err := x.down(c); err != nil {
			return -1, fmt.Errorf("%s: %w", c, err)
		}
	}
	return x.cur, nil
}

func (x *extractor) up() error {
	depth := len(x.cwd)
	if depth == 1 {
		syscall.Close(x.cur)
		x.cur, x.cwd, x.ids = x.root, x.cwd[:0], x.ids[:1]
		return nil
	}
	parent, err := openat(x.cur, "..", openPath, 0)
	if err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(parent, &st); err != nil || idOf(&st) != x.ids[depth-1] {
		syscall.Close(parent)
		return errLost
	}
	syscall.Close(x.cur)
	x.cur, x.cwd, x.ids = parent, x.cwd[:depth-1], x.ids[:depth]
	return nil
}

func (x *extractor) down(c string) error {
	next, err := openat(x.cur, c, openPath, 0)
	if errors.Is(err, syscall.ENOENT) && x.create {
		if err = syscall.Mkdirat(x.cur, c, 0o755); err == nil || errors.Is(err, syscall.EEXIST) {
			next, err = openat(x.cur, c, openPath, 0)
		}
	}
	if err != nil {
		return err
	}
	// O_PATH|O_NOFOLLOW opens a symbolic link itself: it must be a directory.
	var st syscall.Stat_t
	if err := syscall.Fstat(next, &st); err != nil || !isDir(&st) {
		syscall.Close(next)
		return syscall.ENOTDIR
	}
	if x.cur != x.root {
		syscall.Close(x.cur)
	}
	x.cur, x.cwd, x.ids = next, append(x.cwd, c), append(x.ids, idOf(&st))
	return nil
}

// clear removes what is at base (an empty directory included), so that the entry can take its place.
func (x *extractor) clear(dirfd int, base string) error {
	var st syscall.Stat_t
	if err := fstatat(dirfd, base, &st); err != nil {
		return err
	}
	flags := 0
	if isDir(&st) {
		// Never one on the extractor's path: base is an entry of the directory it is in.
		flags = atRemoveDir
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
		pfd, err := x.cd(dir)
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
	pfd, err := x.cd(dir)
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
		// The target's directory, then the entry's: the extractor holds one, so the first is duplicated.
		tdir, tbase := split(target)
		tcur, err := x.cd(tdir)
		if err != nil {
			return err
		}
		r1, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(tcur), syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		tfd := int(r1)
		defer syscall.Close(tfd)
		if pfd, err = x.cd(dir); err != nil {
			return err
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
	pfd, err := x.cd(dir)
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
