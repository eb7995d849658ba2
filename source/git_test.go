package source

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/gitkit"
	"github.com/fluxcd/pkg/gittestserver"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// httpServer serves root/repo.git over HTTP with basic auth.
func httpServer(t *testing.T, user, pass string) (*gittestserver.GitServer, *workRepo) {
	t.Helper()
	srv := gittestserver.NewGitServer(t.TempDir()).Auth(user, pass)
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	return srv, newWorkRepo(t, filepath.Join(srv.Root(), "repo.git"))
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

func TestGitHTTPBasicAuth(t *testing.T) {
	srv, work := httpServer(t, "robot", "s3cret")
	c1 := work.commit("add checkout\n\nlonger body", map[string]string{
		"pave.yaml": "kind: Catalog\n",
		"services/payments/checkout/service.yaml": "name: checkout\n",
	})
	work.push("HEAD")

	secrets := t.TempDir()
	cache := t.TempDir()
	opts := GitOptions{
		URL:      srv.HTTPAddress() + "/repo.git",
		Branch:   "main",
		CacheDir: cache,
		Auth: GitAuth{
			UsernameFile: writeFile(t, filepath.Join(secrets, "user"), "robot\n"),
			PasswordFile: writeFile(t, filepath.Join(secrets, "pass"), "s3cret\n"),
		},
	}
	g, err := NewGit(opts)
	if err != nil {
		t.Fatal(err)
	}
	rev1 := fetch(t, g)
	if rev1.ID != c1 || rev1.Branch != "main" || rev1.Message != "add checkout" || rev1.Author != "Dev One <dev@example.com>" || rev1.ForcePushed || rev1.Previous != "" {
		t.Fatalf("first revision = %+v, want commit %s", rev1, c1)
	}
	if time.Since(rev1.Time) > time.Minute || time.Since(rev1.Time) < 0 {
		t.Errorf("revision time %v is not the commit time", rev1.Time)
	}
	if got := readString(t, rev1.FS, "services/payments/checkout/service.yaml"); got != "name: checkout\n" {
		t.Errorf("service.yaml = %q", got)
	}

	// The clone is kept and fetched into, never cloned again.
	clone := filepath.Join(cache, "repo.git")
	ino := inode(t, clone)
	writeFile(t, filepath.Join(clone, "sentinel"), "kept")

	again := fetch(t, g)
	if again.ID != c1 || again.ForcePushed {
		t.Errorf("unchanged fetch = %s (force-pushed %v), want %s", again.ID, again.ForcePushed, c1)
	}

	c2 := work.commit("edit checkout", map[string]string{
		"services/payments/checkout/service.yaml": "name: checkout\nport: 8080\n",
		"services/payments/ledger/service.yaml":   "name: ledger\n",
	})
	work.push("HEAD")
	rev2 := fetch(t, g)
	if rev2.ID != c2 || rev2.ForcePushed || rev2.Previous != c1 {
		t.Fatalf("second revision = %s (force-pushed %v, previous %s), want %s after %s", rev2.ID, rev2.ForcePushed, rev2.Previous, c2, c1)
	}
	if inode(t, clone) != ino {
		t.Error("the clone was recreated")
	}
	if _, err := os.Stat(filepath.Join(clone, "sentinel")); err != nil {
		t.Errorf("the clone was recreated: %v", err)
	}
	changed, err := ChangedPaths(rev1, rev2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"services/payments/checkout/service.yaml", "services/payments/ledger/service.yaml"}; !slices.Equal(changed, want) {
		t.Errorf("ChangedPaths = %q, want %q", changed, want)
	}

	// Force-push back to the first commit: that is the desired state.
	work.push(c1)
	rev3 := fetch(t, g)
	if rev3.ID != c1 || !rev3.ForcePushed || rev3.Previous != c2 {
		t.Fatalf("after force-push: %s (force-pushed %v, previous %s), want %s, true, %s", rev3.ID, rev3.ForcePushed, rev3.Previous, c1, c2)
	}
	changed, err = ChangedPaths(rev2, rev3) // not a fast-forward: still a tree diff
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"services/payments/checkout/service.yaml", "services/payments/ledger/service.yaml"}; !slices.Equal(changed, want) {
		t.Errorf("ChangedPaths after force-push = %q, want %q", changed, want)
	}
	// Older revisions stay readable: their FS is immutable.
	if got := readString(t, rev2.FS, "services/payments/ledger/service.yaml"); got != "name: ledger\n" {
		t.Errorf("old revision reads %q", got)
	}

	// A new process reuses the clone left by the previous run.
	g2, err := NewGit(opts)
	if err != nil {
		t.Fatal(err)
	}
	rev4 := fetch(t, g2)
	if rev4.ID != c1 || rev4.ForcePushed || rev4.Previous != c1 {
		t.Errorf("restart: %s (force-pushed %v), want %s", rev4.ID, rev4.ForcePushed, c1)
	}
	if inode(t, clone) != ino {
		t.Error("the clone was recreated on restart")
	}

	t.Run("wrong password", func(t *testing.T) {
		bad := opts
		bad.CacheDir = t.TempDir()
		bad.Auth.PasswordFile = writeFile(t, filepath.Join(t.TempDir(), "pass"), "hunter2")
		g, err := NewGit(bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Fetch(context.Background())
		if err == nil || !strings.Contains(err.Error(), "authentication required") || !strings.Contains(err.Error(), bad.Auth.UsernameFile) {
			t.Fatalf("err = %v, want authentication required naming the credential files", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		anon := opts
		anon.CacheDir = t.TempDir()
		anon.Auth = GitAuth{}
		g, err := NewGit(anon)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "authentication required") {
			t.Fatalf("err = %v, want authentication required", err)
		}
	})
	t.Run("missing branch", func(t *testing.T) {
		other := opts
		other.CacheDir = t.TempDir()
		other.Branch = "release"
		g, err := NewGit(other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), `branch "release" not found`) {
			t.Fatalf("err = %v, want branch not found", err)
		}
	})
}

func TestGitHTTPToken(t *testing.T) {
	srv, work := httpServer(t, tokenUser, "ghp_token")
	c1 := work.commit("one", map[string]string{"pave.yaml": "x\n"})
	work.push("HEAD")
	g, err := NewGit(GitOptions{
		URL:      srv.HTTPAddress() + "/repo.git",
		CacheDir: t.TempDir(),
		Auth:     GitAuth{TokenFile: writeFile(t, filepath.Join(t.TempDir(), "token"), "ghp_token\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rev := fetch(t, g); rev.ID != c1 {
		t.Errorf("revision %s, want %s", rev.ID, c1)
	}
}

func TestNewGitRefusals(t *testing.T) {
	dir := t.TempDir()
	token := writeFile(t, filepath.Join(dir, "token"), "t")
	key := writeFile(t, filepath.Join(dir, "key"), "k")
	for _, tc := range []struct {
		name string
		opts GitOptions
		want string
	}{
		{"no URL", GitOptions{CacheDir: dir}, "URL is required"},
		{"no cache", GitOptions{URL: "https://example.com/r.git"}, "cache directory"},
		{"password in URL", GitOptions{URL: "https://u:p@example.com/r.git", CacheDir: dir}, "carries credentials"},
		{"token over http", GitOptions{URL: "http://example.com/r.git", CacheDir: dir, Auth: GitAuth{TokenFile: token}}, "plain http"},
		{"missing token file", GitOptions{URL: "https://example.com/r.git", CacheDir: dir, Auth: GitAuth{TokenFile: filepath.Join(dir, "nope")}}, "read token file"},
		{"ssh without known_hosts", GitOptions{URL: "ssh://git@example.com/r.git", CacheDir: dir, Auth: GitAuth{SSHKeyFile: key}}, "known_hosts"},
		{"ssh known_hosts missing", GitOptions{URL: "git@example.com:r.git", CacheDir: dir, Auth: GitAuth{SSHKeyFile: key, KnownHostsFile: filepath.Join(dir, "nope")}}, "known_hosts file"},
		{"git protocol", GitOptions{URL: "git://example.com/r.git", CacheDir: dir}, "unsupported protocol"},
		{"bad branch", GitOptions{URL: "https://example.com/r.git", CacheDir: dir, Branch: "a..b"}, "invalid branch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGit(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// sshFixture is an SSH git server whose host key is known, and a client key
// it accepts.
type sshFixture struct {
	url, addr  string
	hostKey    ssh.PublicKey
	clientKey  string // path of the client's private key
	knownHosts string // path of a known_hosts with the right key
	work       *workRepo
}

func newSSHServer(t *testing.T) *sshFixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &sshFixture{clientKey: writeFile(t, filepath.Join(dir, "id_ed25519"), string(pem.EncodeToMemory(block)))}

	keyDir := t.TempDir()
	srv := gittestserver.NewGitServer(t.TempDir()).KeyDir(keyDir).Auth("git", "")
	want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(clientPub)))
	srv.PublicKeyLookupFunc(func(content string) (*gitkit.PublicKey, error) {
		if content != want {
			return nil, errors.New("unknown client key")
		}
		return &gitkit.PublicKey{Id: "test"}, nil
	})
	if err := srv.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go srv.StartSSH()
	t.Cleanup(func() { srv.StopSSH() })

	data, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub")) // generated by ListenSSH
	if err != nil {
		t.Fatal(err)
	}
	f.hostKey, _, _, _, err = ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	f.url = srv.SSHAddress() + "/repo.git"
	f.addr = strings.TrimPrefix(srv.SSHAddress(), "ssh://git@")
	f.knownHosts = writeFile(t, filepath.Join(dir, "known_hosts"), knownhosts.Line([]string{f.addr}, f.hostKey)+"\n")
	f.work = newWorkRepo(t, filepath.Join(srv.Root(), "repo.git"))
	return f
}

func TestGitSSH(t *testing.T) {
	f := newSSHServer(t)
	c1 := f.work.commit("one", map[string]string{"pave.yaml": "x\n"})
	f.work.push("HEAD")
	opts := GitOptions{
		URL:      f.url,
		CacheDir: t.TempDir(),
		Timeout:  20 * time.Second,
		Auth:     GitAuth{SSHKeyFile: f.clientKey, KnownHostsFile: f.knownHosts},
	}
	g, err := NewGit(opts)
	if err != nil {
		t.Fatal(err)
	}
	if rev := fetch(t, g); rev.ID != c1 || readString(t, rev.FS, "pave.yaml") != "x\n" {
		t.Fatalf("revision %s, want %s", rev.ID, c1)
	}
	c2 := f.work.commit("two", map[string]string{"pave.yaml": "y\n"})
	f.work.push("HEAD")
	if rev := fetch(t, g); rev.ID != c2 {
		t.Fatalf("revision %s, want %s", rev.ID, c2)
	}

	t.Run("no known_hosts", func(t *testing.T) {
		o := opts
		o.Auth.KnownHostsFile = ""
		if _, err := NewGit(o); err == nil || !strings.Contains(err.Error(), "refusing to connect to an unverified host") {
			t.Fatalf("err = %v, want a refusal", err)
		}
	})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherRSA, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	otherEd, _ := ssh.NewPublicKey(otherPub)
	for name, other := range map[string]ssh.PublicKey{"wrong host key": otherRSA, "wrong host key type": otherEd} {
		t.Run(name, func(t *testing.T) {
			o := opts
			o.CacheDir = t.TempDir()
			o.Auth.KnownHostsFile = writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), knownhosts.Line([]string{f.addr}, other)+"\n")
			g, err := NewGit(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.Fetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
				t.Fatalf("err = %v, want host key mismatch", err)
			}
		})
	}
	t.Run("unknown host", func(t *testing.T) {
		o := opts
		o.CacheDir = t.TempDir()
		o.Auth.KnownHostsFile = writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), knownhosts.Line([]string{"git.example.com"}, f.hostKey)+"\n")
		g, err := NewGit(o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Fetch(context.Background())
		if err == nil || !strings.Contains(err.Error(), "unknown host") {
			t.Fatalf("err = %v, want unknown host", err)
		}
	})
	t.Run("client key refused", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, _ := ssh.MarshalPrivateKey(priv, "")
		o := opts
		o.CacheDir = t.TempDir()
		o.Auth.SSHKeyFile = writeFile(t, filepath.Join(t.TempDir(), "key"), string(pem.EncodeToMemory(block)))
		g, err := NewGit(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("err = %v, want an authentication failure", err)
		}
	})
}

func TestGitFileURL(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "catalog.git")
	work := newWorkRepo(t, bare)
	c1 := work.commit("one", map[string]string{"pave.yaml": "x\n", "services/a/b/service.yaml": "b\n"})
	work.push("HEAD")
	g, err := NewGit(GitOptions{URL: "file://" + bare, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rev1 := fetch(t, g)
	if rev1.ID != c1 || readString(t, rev1.FS, "services/a/b/service.yaml") != "b\n" {
		t.Fatalf("revision %s, want %s", rev1.ID, c1)
	}
	c2 := work.commit("two", map[string]string{"services/a/b/service.yaml": "", "templates/t/Chart.yaml": "t\n"})
	work.push("HEAD")
	rev2 := fetch(t, g)
	if rev2.ID != c2 || rev2.ForcePushed {
		t.Fatalf("revision %s (force-pushed %v), want %s", rev2.ID, rev2.ForcePushed, c2)
	}
	changed, err := ChangedPaths(rev1, rev2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"services/a/b/service.yaml", "templates/t/Chart.yaml"}; !slices.Equal(changed, want) {
		t.Errorf("ChangedPaths = %q, want %q", changed, want)
	}
	all, err := ChangedPaths(nil, rev2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pave.yaml", "templates/t/Chart.yaml"}; !slices.Equal(all, want) {
		t.Errorf("ChangedPaths(nil) = %q, want %q", all, want)
	}
	// An older revision is read back from the clone (promotion and
	// rollback render from it), an unknown one is refused.
	old, err := g.At(context.Background(), c1)
	if err != nil {
		t.Fatal(err)
	}
	if old.ID != c1 || old.Message != "one" || readString(t, old.FS, "services/a/b/service.yaml") != "b\n" {
		t.Errorf("At(%s) = %s %q", c1, old.ID, old.Message)
	}
	if _, err := g.At(context.Background(), strings.Repeat("1", 40)); err == nil || !strings.Contains(err.Error(), "not in the clone") {
		t.Errorf("At(unknown) err = %v, want not in the clone", err)
	}
	if _, err := g.At(context.Background(), "HEAD"); err == nil {
		t.Error("At(HEAD): no error, want a commit ID required")
	}
	work.push(c1)
	if rev := fetch(t, g); rev.ID != c1 || !rev.ForcePushed {
		t.Errorf("after force-push: %s (force-pushed %v), want %s, true", rev.ID, rev.ForcePushed, c1)
	}

	g2, _ := NewGit(GitOptions{URL: "file://" + bare, Branch: "nope", CacheDir: t.TempDir()})
	if _, err := g2.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), `branch "nope" not found`) {
		t.Errorf("err = %v, want branch not found", err)
	}
}

// stuckServer accepts connections and never answers.
func stuckServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestGitStuckRemote(t *testing.T) {
	addr := stuckServer(t)
	keyDir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	key := writeFile(t, filepath.Join(keyDir, "key"), string(pem.EncodeToMemory(block)))
	known := writeFile(t, filepath.Join(keyDir, "known_hosts"), "")
	for _, tc := range []struct {
		name string
		opts GitOptions
	}{
		{"http", GitOptions{URL: "http://" + addr + "/repo.git"}},
		{"ssh", GitOptions{URL: "ssh://git@" + addr + "/repo.git", Auth: GitAuth{SSHKeyFile: key, KnownHostsFile: known}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.CacheDir = t.TempDir()
			tc.opts.Timeout = time.Second
			g, err := NewGit(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				start := time.Now()
				_, err = g.Fetch(context.Background())
				if took := time.Since(start); took > 3*time.Second {
					t.Errorf("fetch %d took %s with a 1s timeout", i, took)
				}
				if err == nil || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("fetch %d: err = %v, want a deadline error", i, err)
				}
			}
			// The first fetch's goroutine ended by its deadline: the
			// source is not wedged, the second fetch really ran.
			if strings.Contains(err.Error(), "still running") {
				t.Errorf("second fetch found the first still running: %v", err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			if _, err := g.Fetch(ctx); err == nil {
				t.Error("fetch with a cancelled context succeeded")
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("fetch took %s after its context expired", took)
			}
		})
	}
}

// Revisions are read while the source fetches the next ones.
func TestGitConcurrentReads(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "r.git")
	work := newWorkRepo(t, bare)
	work.commit("one", map[string]string{"pave.yaml": "v0\n", "dir/a.txt": "a\n", "link": "->dir/a.txt"})
	work.push("HEAD")
	g, err := NewGit(GitOptions{URL: "file://" + bare, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rev := fetch(t, g)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got, err := fs.ReadFile(rev.FS, "dir/a.txt"); err != nil || string(got) != "a\n" {
					t.Errorf("read dir/a.txt: %q, %v", got, err)
					return
				}
				if got, err := fs.ReadLink(rev.FS, "link"); err != nil || got != "dir/a.txt" {
					t.Errorf("read link: %q, %v", got, err)
					return
				}
				if _, err := fs.Stat(rev.FS, "pave.yaml"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 5 {
		work.commit("more", map[string]string{"pave.yaml": fmt.Sprintf("v%d\n", i+1)})
		work.push("HEAD")
		if r := fetch(t, g); readString(t, r.FS, "pave.yaml") != fmt.Sprintf("v%d\n", i+1) {
			t.Errorf("fetch %d reads the wrong content", i)
		}
		// Concurrent Fetch calls are serialized.
		var fw sync.WaitGroup
		for range 2 {
			fw.Add(1)
			go func() { defer fw.Done(); fetch(t, g) }()
		}
		fw.Wait()
	}
	close(stop)
	wg.Wait()
}
