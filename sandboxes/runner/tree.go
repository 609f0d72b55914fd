// Walking the agent's trees as root without following a link: the manifest of /work and the wipe.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"syscall"
)

// walker visits every entry below a directory, depth first. Entries are looked at with fstatat(AT_SYMLINK_NOFOLLOW)
// relative to their directory and directories are opened with O_NOFOLLOW, so an agent-made symbolic link is an
// entry like any other, never a way out. However deep the tree (the nofile limit is 1024), two directory
// descriptors are open at a time: a directory's parent is closed while it is walked and opened again through
// "..", checked to be the same directory (the agent's processes are all dead by then: nothing moves).
type walker struct {
	// pre sees every entry (dirfd: its directory; rel: its path below the root); for a directory, true walks into it.
	pre func(dirfd int, name, rel string, st *syscall.Stat_t) bool
	// post sees a directory after its entries.
	post func(dirfd int, name, rel string)
	log  *errlog
	// stop, when set and true, ends the walk early (what it saw so far is all it visits).
	stop func() bool
	// Entries that could not be looked at, read or removed: the walk's result is incomplete.
	failed int
	buf    []byte
}

var errLost = errors.New("lost track of the directory being walked")

func (w *walker) fail(format string, a ...any) {
	w.failed++
	w.log.add(format, a...)
}

// walk walks the tree below root; rel prefixes the paths pre and post see.
func (w *walker) walk(root, rel string) error {
	fd, err := openat(-100 /* AT_FDCWD */, root, openDir, 0)
	if err != nil {
		return err
	}
	fd, err = w.dir(fd, rel)
	if fd >= 0 {
		syscall.Close(fd)
	}
	return err
}

// dir walks the directory open as fd and returns a descriptor of that directory (fd itself may have been closed).
func (w *walker) dir(fd int, rel string) (int, error) {
	names, err := w.names(fd)
	if err != nil {
		w.fail("%s: %v", rel, err)
		return fd, nil
	}
	for _, name := range names {
		if w.stop != nil && w.stop() {
			break
		}
		var st syscall.Stat_t
		path := rel + name
		if err := fstatat(fd, name, &st); err != nil {
			w.fail("%s: %v", path, err)
			continue
		}
		if !w.pre(fd, name, path, &st) || !isDir(&st) {
			continue
		}
		sub, err := openat(fd, name, openDir, 0)
		if err != nil {
			w.fail("%s: %v", path, err)
			continue
		}
		var here syscall.Stat_t
		if err := syscall.Fstat(fd, &here); err != nil {
			syscall.Close(sub)
			return fd, err
		}
		syscall.Close(fd)
		sub, err = w.dir(sub, path+"/")
		if err != nil {
			if sub >= 0 {
				syscall.Close(sub)
			}
			return -1, err
		}
		fd, err = openat(sub, "..", openDir, 0)
		syscall.Close(sub)
		if err != nil {
			return -1, err
		}
		var back syscall.Stat_t
		if err := syscall.Fstat(fd, &back); err != nil || back.Dev != here.Dev || back.Ino != here.Ino {
			syscall.Close(fd)
			return -1, errLost
		}
		if w.post != nil {
			w.post(fd, name, path)
		}
	}
	return fd, nil
}

func (w *walker) names(fd int) ([]string, error) {
	if w.buf == nil {
		w.buf = make([]byte, 32<<10)
	}
	var names []string
	for {
		n, err := syscall.Getdents(fd, w.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(w.buf[:n], -1, names)
	}
}

// manifest is the listing the bash runner made with find and sha256sum (sandboxes/manifest.ts parses it): a record
// `%y %m %P\0%l\0` per entry below /work, and a line `<sha256>  /work/<path>\0` per regular file. It is capped:
// an entry past maxEntries, or one that would take records and hashes past maxBytes, is not added and makes it over
// (its buffers are dropped). Paths grow with depth, so a deep tree of a few thousand entries would list megabytes.
type manifest struct {
	records, hashes      bytes.Buffer
	maxEntries, maxBytes int
	entries              int
	over                 bool
}

var errManifestCap = errors.New("the listing of /work is over its cap")

func (r *runner) newManifest() *manifest {
	return &manifest{maxEntries: r.manifestEntries, maxBytes: r.manifestBytes}
}

// fits reserves room for one more entry of n bytes, or makes the manifest over.
func (m *manifest) fits(entries, n int) bool {
	if !m.over && (m.entries+entries > m.maxEntries || m.records.Len()+m.hashes.Len()+n > m.maxBytes) {
		m.over = true
		m.records, m.hashes = bytes.Buffer{}, bytes.Buffer{}
	}
	m.entries += entries
	return !m.over
}

// capErr is errManifestCap, with the caps, once the manifest is over.
func (m *manifest) capErr() error {
	if !m.over {
		return nil
	}
	return fmt.Errorf("%w (%d entries, %d bytes)", errManifestCap, m.maxEntries, m.maxBytes)
}

func typeLetter(mode uint32) byte {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return 'f'
	case syscall.S_IFDIR:
		return 'd'
	case syscall.S_IFLNK:
		return 'l'
	case syscall.S_IFIFO:
		return 'p'
	case syscall.S_IFSOCK:
		return 's'
	case syscall.S_IFCHR:
		return 'c'
	case syscall.S_IFBLK:
		return 'b'
	}
	return 'U'
}

func (m *manifest) add(rel string, st *syscall.Stat_t, link string) {
	if !m.fits(1, len(rel)+len(link)+16) {
		return
	}
	m.records.WriteByte(typeLetter(st.Mode))
	m.records.WriteByte(' ')
	m.records.WriteString(strconv.FormatUint(uint64(st.Mode&0o7777), 8))
	m.records.WriteByte(' ')
	m.records.WriteString(rel)
	m.records.WriteByte(0)
	m.records.WriteString(link)
	m.records.WriteByte(0)
}

func (m *manifest) addHash(rel string, sum []byte) {
	if !m.fits(0, len(rel)+2*len(sum)+9) {
		return
	}
	m.hashes.WriteString(hex.EncodeToString(sum))
	m.hashes.WriteString("  /work/")
	m.hashes.WriteString(rel)
	m.hashes.WriteByte(0)
}

// manifestOf lists /work; an entry it could not read makes it fail (as find's status did), with what it did list.
// Over its cap, it stops at once and fails with errManifestCap. A file's hard links are hashed once.
func (r *runner) manifestOf(log *errlog) (records, hashes []byte, err error) {
	m := r.newManifest()
	sums := map[fileID][]byte{}
	buf := make([]byte, 64<<10)
	w := &walker{log: log, stop: func() bool { return m.over }}
	w.pre = func(dirfd int, name, rel string, st *syscall.Stat_t) bool {
		link := ""
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			var err error
			if link, err = readlinkat(dirfd, name, st.Size); err != nil {
				w.fail("%s: %v", rel, err)
			}
		case syscall.S_IFREG:
			id := fileID{uint64(st.Dev), uint64(st.Ino)}
			if sum, ok := sums[id]; ok {
				m.addHash(rel, sum)
				break
			}
			h := sha256.New()
			if err := r.readFile(dirfd, name, st, h, buf); err != nil {
				w.fail("%s: %v", rel, err)
			} else {
				sum := h.Sum(nil)
				m.addHash(rel, sum)
				if st.Nlink > 1 {
					sums[id] = sum
				}
			}
		}
		m.add(rel, st, link)
		return true
	}
	err = w.walk("/work", "")
	if err == nil {
		err = m.capErr()
	}
	if err == nil && w.failed > 0 {
		err = fmt.Errorf("%d entries could not be listed", w.failed)
	}
	return m.records.Bytes(), m.hashes.Bytes(), err
}

// readFile copies the regular file st (name in dirfd) into dst: opened without following a link and without
// blocking (a fifo the agent made in its place is refused by the fstat check, not waited on), and only the size
// fstat gave is read, which the tmpfs and the file-size limit bound.
func (r *runner) readFile(dirfd int, name string, st *syscall.Stat_t, dst io.Writer, buf []byte) error {
	fd, err := openat(dirfd, name, openRead, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var got syscall.Stat_t
	if err := syscall.Fstat(fd, &got); err != nil {
		return err
	}
	if got.Mode&syscall.S_IFMT != syscall.S_IFREG || got.Dev != st.Dev || got.Ino != st.Ino {
		return errors.New("changed while being read")
	}
	if got.Size > r.fileSize {
		return fmt.Errorf("larger than the file-size limit (%d bytes)", got.Size)
	}
	for left := got.Size; left > 0; {
		chunk := buf
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		n, err := syscall.Read(fd, chunk)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		if _, err := dst.Write(chunk[:n]); err != nil {
			return err
		}
		left -= int64(n)
	}
	return nil
}

// wipe empties /work, /tmp, /dev/shm and the POSIX message queues (as root: nothing the agent made can stop it, and
// unlinkat never follows a link), gives /work back the mode it had at the snapshot, and removes the agent's
// System V IPC objects.
func (r *runner) wipe(log *errlog) {
	for _, root := range []string{"/work", "/tmp", "/dev/shm", "/dev/mqueue"} {
		w := &walker{log: log}
		w.pre = func(dirfd int, name, rel string, st *syscall.Stat_t) bool {
			if isDir(st) {
				return true
			}
			if err := unlinkat(dirfd, name, 0); err != nil {
				w.fail("remove %s/%s: %v", root, rel, err)
			}
			return false
		}
		w.post = func(dirfd int, name, rel string) {
			if err := unlinkat(dirfd, name, atRemoveDir); err != nil {
				w.fail("remove %s/%s: %v", root, rel, err)
			}
		}
		if err := w.walk(root, ""); err != nil && !(root == "/dev/mqueue" && errors.Is(err, syscall.ENOENT)) {
			log.add("wipe %s: %v", root, err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Lstat("/work", &st); err != nil {
		log.add("wipe: %v", err)
	} else if st.Mode&0o7777 != r.workMode {
		if err := syscall.Chmod("/work", r.workMode); err != nil {
			log.add("chmod /work: %v", err)
		}
	}
	if ipcDirty() {
		r.removeIPC(log)
	}
}

// hashingWriter feeds what goes into the snapshot to the manifest's hash too (the file is read once).
type hashingWriter struct {
	w io.Writer
	h hash.Hash
}

func (t hashingWriter) Write(p []byte) (int, error) {
	t.h.Write(p)
	return t.w.Write(p)
}
