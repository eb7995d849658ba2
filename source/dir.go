package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a folder must stay quiet before Dir notifies.
const DefaultDebounce = 300 * time.Millisecond

// DirOptions configures a folder source.
type DirOptions struct {
	// Debounce is the quiet time after the last change before Notify is
	// signalled (default DefaultDebounce).
	Debounce time.Duration
	// OnError, if set, receives watcher errors (e.g. a folder that could
	// not be watched). The source keeps going.
	OnError func(error)
}

// Dir is a Source reading a local folder, for development: pave serve
// --path DIR. Its revisions' FS is the live folder (through os.Root, so
// nothing outside it can be read), not a snapshot: an edit during a render
// shows up there, and Notify fires again for it.
type Dir struct {
	dir     string
	root    *os.Root
	opts    DirOptions
	watcher *fsnotify.Watcher
	notify  chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

var _ Source = (*Dir)(nil)

// NewDir opens the folder and starts watching it and every folder below
// (but .git), adding folders created later. Close stops the watcher.
func NewDir(dir string, opts DirOptions) (*Dir, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("folder source: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("folder source: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("folder source: watch %s: %w", abs, err)
	}
	d := &Dir{dir: abs, root: root, opts: opts, watcher: w, notify: make(chan struct{}, 1), done: make(chan struct{})}
	if err := d.watchTree(abs); err != nil {
		w.Close()
		root.Close()
		return nil, fmt.Errorf("folder source: watch %s: %w", abs, err)
	}
	d.wg.Add(1)
	go d.run()
	return d, nil
}

// Notify is signalled (without blocking; one pending signal at most) when
// the folder changed and then stayed quiet for the debounce time.
func (d *Dir) Notify() <-chan struct{} { return d.notify }

// Close stops watching and closes the folder.
func (d *Dir) Close() error {
	var err error
	d.once.Do(func() {
		close(d.done)
		err = d.watcher.Close()
		d.wg.Wait()
		err = errors.Join(err, d.root.Close())
	})
	return err
}

// Path is the folder's absolute path.
func (d *Dir) Path() string { return d.dir }

// watchTree adds a watch on dir and every folder below it, but .git.
func (d *Dir) watchTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if !e.IsDir() {
			return nil
		}
		if e.Name() == ".git" && p != dir {
			return filepath.SkipDir
		}
		return d.watcher.Add(p)
	})
}

func (d *Dir) ignored(p string) bool {
	rel, err := filepath.Rel(d.dir, p)
	if err != nil {
		return true
	}
	return slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), ".git")
}

func (d *Dir) run() {
	defer d.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-d.done:
			timer.Stop()
			return
		case ev, ok := <-d.watcher.Events:
			if !ok {
				return
			}
			if d.ignored(ev.Name) || ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
					// Files created before the watch was added are
					// covered by the notification sent anyway.
					if err := d.watchTree(ev.Name); err != nil {
						d.report(fmt.Errorf("watch %s: %w", ev.Name, err))
					}
				}
			}
			timer.Reset(d.opts.Debounce)
		case err, ok := <-d.watcher.Errors:
			if !ok {
				return
			}
			d.report(err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(d.opts.Debounce) // events were lost: look again
			}
		case <-timer.C:
			select {
			case d.notify <- struct{}{}:
			default:
			}
		}
	}
}

func (d *Dir) report(err error) {
	if d.opts.OnError != nil {
		d.opts.OnError(err)
	}
}

// Fetch hashes the folder's files (but .git) and returns the snapshot's
// revision: the ID changes exactly when a file's path, type or content
// changes. Files are read through os.Root: nothing outside the folder.
func (d *Dir) Fetch(ctx context.Context) (*Revision, error) {
	fsys := d.root.FS()
	files := map[string]string{}
	var newest time.Time
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return err
		}
		if e.Name() == ".git" { // a repository, or a worktree's link to one
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if t := info.ModTime(); t.After(newest) {
			newest = t
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			files[p] = "symlink:" + target
		case e.Type().IsRegular():
			sum, err := hashFile(fsys, p)
			if err != nil {
				return err
			}
			files[p] = sum
		default:
			files[p] = "irregular:" + e.Type().String() // never opened: a FIFO would block
		}
		return nil
	})
	if err != nil {
		// A file removed while it was read: the watcher notifies again.
		return nil, fmt.Errorf("read folder %s: %w", d.dir, err)
	}
	return &Revision{
		ID:      "dir:sha256:" + treeDigest(files),
		Time:    newest,
		Message: "local folder " + d.dir,
		FS:      fsys,
		files:   files,
	}, nil
}

func hashFile(fsys fs.FS, p string) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// treeDigest hashes the sorted (path, file digest) pairs.
func treeDigest(files map[string]string) string {
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%s\x00", p, files[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}
