// The snapshot of /work, /tmp and /dev/shm (a tar in the root-only scratch dir), restoring it, and writing files into /work.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

type fileID struct{ dev, ino uint64 }

// snapshot writes the entries a walk sees into a tar: modes (setuid, setgid and sticky bits included), owners,
// mtimes to the nanosecond (PAX), symbolic links as links, hard links as links to their first name, fifos.
type snapshot struct {
	r     *runner
	tw    *tar.Writer
	links map[fileID]string
	sums  map[fileID][]byte
	buf   []byte
	err   error
}

func (s *snapshot) header(name string, st *syscall.Stat_t) *tar.Header {
	return &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
		Format:  tar.FormatPAX,
	}
}

func (s *snapshot) write(hdr *tar.Header) bool {
	if s.err == nil {
		s.err = s.tw.WriteHeader(hdr)
	}
	return s.err == nil
}

// tree saves everything below root under the name prefix; with m, it lists the entries below /work too.
func (s *snapshot) tree(root, prefix string, m *manifest, log *errlog) (failed int, err error) {
	w := &walker{log: log}
	w.pre = func(dirfd int, name, rel string, st *syscall.Stat_t) bool {
		hdr := s.header(prefix+rel, st)
		link := ""
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			s.write(hdr)
		case syscall.S_IFLNK:
			target, err := readlinkat(dirfd, name, st.Size)
			if err != nil {
				w.fail("%s: %v", hdr.Name, err)
				break
			}
			link = target
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			s.write(hdr)
		case syscall.S_IFIFO:
			hdr.Typeflag = tar.TypeFifo
			s.write(hdr)
		case syscall.S_IFREG:
			id := fileID{uint64(st.Dev), uint64(st.Ino)}
			if first, ok := s.links[id]; ok {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				if s.write(hdr) && m != nil && s.sums[id] != nil {
					m.addHash(rel, s.sums[id])
				}
				break
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
			if !s.write(hdr) {
				break
			}
			var dst io.Writer = s.tw
			h := sha256.New()
			if m != nil {
				dst = hashingWriter{s.tw, h}
			}
			// The header promised st.Size bytes: a file that cannot give them breaks the snapshot.
			if err := s.r.readFile(dirfd, name, st, dst, s.buf); err != nil {
				w.fail("%s: %v", hdr.Name, err)
				if s.err == nil {
					s.err = fmt.Errorf("%s: %w", hdr.Name, err)
				}
				break
			}
			if st.Nlink > 1 {
				s.links[id] = hdr.Name
			}
			if m != nil {
				sum := h.Sum(nil)
				m.addHash(rel, sum)
				if st.Nlink > 1 {
					s.sums[id] = sum
				}
			}
		default:
			// Sockets (and devices, which nodev mounts make useless) are not saved, as GNU tar did.
			log.add("%s: %c ignored", hdr.Name, typeLetter(st.Mode))
		}
		if m != nil {
			m.add(rel, st, link)
		}
		return true
	}
	err = w.walk(root, "")
	return w.failed, err
}

// snap saves /work itself (its mode and mtime, which the agent who owns it restores), everything below /work, and
// everything below /tmp and /dev/shm (not those two, which are root's), after killing the agent's processes; it
// returns the manifest of /work as saved. A failed snapshot is removed: restore then fails instead of bringing back
// part of it.
func (r *runner) snap(log *errlog) (records, hashes []byte, err error) {
	reap()
	var st syscall.Stat_t
	if err := syscall.Lstat("/work", &st); err != nil {
		return nil, nil, err
	}
	r.workMode = st.Mode & 0o7777
	path := r.snapPath()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	s := &snapshot{r: r, tw: tar.NewWriter(bw), links: map[fileID]string{}, sums: map[fileID][]byte{}, buf: make([]byte, 64<<10)}
	root := s.header("work/", &st)
	root.Typeflag = tar.TypeDir
	s.write(root)
	m := r.newManifest()
	failed := 0
	for _, t := range []struct {
		root, prefix string
		m            *manifest
	}{{"/work", "work/", m}, {"/tmp", "tmp/", nil}, {"/dev/shm", "dev/shm/", nil}} {
		n, err := s.tree(t.root, t.prefix, t.m, log)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: %w", t.root, err)
		}
		failed += n
	}
	if s.err == nil {
		s.err = s.tw.Close()
	}
	if s.err == nil {
		s.err = bw.Flush()
	}
	if err := f.Close(); s.err == nil {
		s.err = err
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	if failed > 0 {
		return nil, nil, fmt.Errorf("%d entries could not be saved", failed)
	}
	if err := m.capErr(); err != nil {
		return nil, nil, err
	}
	return m.records.Bytes(), m.hashes.Bytes(), nil
}

// restore kills the agent's processes, empties the trees and extracts the snapshot as the agent.
func (r *runner) restore(log *errlog) error {
	f, err := os.Open(r.snapPath())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no snapshot")
		}
		return err
	}
	defer f.Close()
	reap()
	r.wipe(log)
	in := bufio.NewReaderSize(f, 256<<10)
	return asAgent(r.agent, func() error {
		return extract(in, "/", inSnapshot, false, log)
	})
}

// inSnapshot: the names a snapshot may hold.
func inSnapshot(name string) bool {
	return name == "work" || strings.HasPrefix(name, "work/") || strings.HasPrefix(name, "tmp/") || strings.HasPrefix(name, "dev/shm/")
}

// put extracts the worker's tar into /work as the agent.
func (r *runner) put(payload []byte, log *errlog) error {
	return asAgent(r.agent, func() error {
		return extract(bytes.NewReader(payload), "/work", func(string) bool { return true }, true, log)
	})
}
