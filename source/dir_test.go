package source

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const testDebounce = 150 * time.Millisecond

func newTestDir(t *testing.T) (string, *Dir) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"pave.yaml":                    "kind: Catalog\n",
		"services/a/b/service.yaml":    "b\n",
		".git/HEAD":                    "ref: refs/heads/main\n",
		"templates/web/templates/x.md": "x\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		writeFile(t, p, content)
	}
	d, err := NewDir(dir, DirOptions{Debounce: testDebounce, OnError: func(err error) { t.Logf("watcher: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return dir, d
}

// waitNotify reports whether a notification arrives within d.
func waitNotify(d *Dir, within time.Duration) bool {
	select {
	case <-d.Notify():
		return true
	case <-time.After(within):
		return false
	}
}

func TestDirRevisions(t *testing.T) {
	dir, d := newTestDir(t)
	rev1 := fetch(t, d)
	if len(rev1.ID) != len("dir:sha256:")+64 || rev1.ID[:11] != "dir:sha256:" {
		t.Fatalf("ID = %q", rev1.ID)
	}
	if got := readString(t, rev1.FS, "services/a/b/service.yaml"); got != "b\n" {
		t.Errorf("FS reads %q", got)
	}
	if _, err := rev1.FS.Open("../x"); err == nil {
		t.Error("the FS opened a path outside the folder")
	}

	// Same content → same ID, even with new modification times; .git is
	// ignored.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "pave.yaml"), later, later)
	writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/other\n")
	if rev := fetch(t, d); rev.ID != rev1.ID {
		t.Errorf("ID changed without a content change: %s → %s", rev1.ID, rev.ID)
	}

	writeFile(t, filepath.Join(dir, "services/a/b/service.yaml"), "b2\n")
	os.Symlink("../../../pave.yaml", filepath.Join(dir, "services/a/b/link"))
	rev2 := fetch(t, d)
	if rev2.ID == rev1.ID {
		t.Fatal("ID did not change with the content")
	}
	changed, err := ChangedPaths(rev1, rev2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"services/a/b/link", "services/a/b/service.yaml"}; !slices.Equal(changed, want) {
		t.Errorf("ChangedPaths = %q, want %q", changed, want)
	}
	os.Remove(filepath.Join(dir, "services/a/b/link"))
	writeFile(t, filepath.Join(dir, "services/a/b/service.yaml"), "b\n")
	if rev := fetch(t, d); rev.ID != rev1.ID {
		t.Errorf("ID after reverting = %s, want %s", rev.ID, rev1.ID)
	}
}

func TestDirNotify(t *testing.T) {
	dir, d := newTestDir(t)
	if waitNotify(d, 2*testDebounce) {
		t.Fatal("notified with no change")
	}

	// A burst of edits → one notification once they settle.
	for i := range 5 {
		writeFile(t, filepath.Join(dir, "pave.yaml"), "kind: Catalog\n#"+string(rune('a'+i))+"\n")
		time.Sleep(testDebounce / 5)
	}
	if !waitNotify(d, 3*time.Second) {
		t.Fatal("no notification after edits")
	}
	if waitNotify(d, 3*testDebounce) {
		t.Error("a burst of edits gave more than one notification")
	}

	// A new folder is watched: a file created in it later is noticed.
	sub := filepath.Join(dir, "services", "c", "d")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if !waitNotify(d, 3*time.Second) {
		t.Fatal("no notification for a new folder")
	}
	writeFile(t, filepath.Join(sub, "service.yaml"), "d\n")
	if !waitNotify(d, 3*time.Second) {
		t.Fatal("no notification for a file in a new folder")
	}

	// Changes under .git are ignored.
	writeFile(t, filepath.Join(dir, ".git", "index"), "x")
	if waitNotify(d, 3*testDebounce) {
		t.Error("notified for a change under .git")
	}

	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
