package source

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tests drive the real git CLI in temporary folders to make commits and
// push them: the code under test never runs git.

// gitEnv isolates git from the user's configuration.
func gitEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Dev One", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev One", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// workRepo is a repository to commit in, pushing to a bare repository.
type workRepo struct {
	t    *testing.T
	dir  string
	bare string
}

// newWorkRepo creates a work repository and the bare repository it pushes
// to, at bare (which must not exist yet).
func newWorkRepo(t *testing.T, bare string) *workRepo {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, filepath.Dir(bare), "init", "-q", "--bare", "-b", "main", bare)
	w := &workRepo{t: t, dir: t.TempDir(), bare: bare}
	gitCmd(t, w.dir, "init", "-q", "-b", "main")
	return w
}

// commit writes files (content "" deletes, content "->target" makes a
// symlink), commits them and returns the commit hash.
func (w *workRepo) commit(msg string, files map[string]string) string {
	w.t.Helper()
	for name, content := range files {
		p := filepath.Join(w.dir, filepath.FromSlash(name))
		os.Remove(p)
		if content == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			w.t.Fatal(err)
		}
	}
	gitCmd(w.t, w.dir, "add", "-A")
	gitCmd(w.t, w.dir, "commit", "-q", "--allow-empty", "-m", msg)
	return gitCmd(w.t, w.dir, "rev-parse", "HEAD")
}

// push pushes a commit (or HEAD) to main of the bare repository, forcing.
func (w *workRepo) push(rev string) {
	w.t.Helper()
	gitCmd(w.t, w.dir, "push", "-q", "-f", w.bare, rev+":refs/heads/main")
}

// copyDir copies a folder's regular files into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fetch(t *testing.T, g Source) *Revision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := g.Fetch(ctx)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return rev
}

func readString(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}
