package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// DefaultTimeout bounds one fetch when GitOptions.Timeout is zero.
const DefaultTimeout = time.Minute

// cloneDir is the bare repository inside GitOptions.CacheDir.
const cloneDir = "repo.git"

// GitOptions configures a git source.
type GitOptions struct {
	// URL of the repository: https://, http:// (loopback only, unless
	// InsecureHTTP), ssh:// or scp-like user@host:path, or file:// (a local
	// repository, read in-process).
	URL string
	// Branch to follow (default "main").
	Branch string
	// CacheDir holds the local bare clone (CacheDir/repo.git), reused
	// across fetches and across runs.
	CacheDir string
	// Timeout bounds each fetch (default DefaultTimeout).
	Timeout time.Duration
	// Auth holds the paths of the credential files.
	Auth GitAuth
	// InsecureHTTP allows credentials over plain http:// to hosts other
	// than loopback.
	InsecureHTTP bool
}

// GitAuth names the files credentials are read from, on every fetch (so
// rotated Kubernetes Secrets are picked up). Surrounding whitespace in a
// token, username or password file is ignored.
type GitAuth struct {
	// TokenFile holds an access token for https (sent as the basic-auth
	// password of user "x-access-token", which GitHub, GitLab and Gitea
	// accept; use UsernameFile+PasswordFile for others).
	TokenFile string
	// UsernameFile and PasswordFile hold https basic-auth credentials.
	UsernameFile string
	PasswordFile string
	// CAFile is an extra PEM CA bundle for https.
	CAFile string
	// SSHKeyFile is the PEM private key for ssh (no passphrase).
	SSHKeyFile string
	// KnownHostsFile lists the accepted ssh host keys (OpenSSH
	// known_hosts format). Required for ssh: hosts are never trusted
	// blindly.
	KnownHostsFile string
}

// Git is a Source following one branch of a git repository.
type Git struct {
	opts     GitOptions
	endpoint *transport.Endpoint
	repoDir  string

	// sem is held by the goroutine doing a fetch, from start to end, even
	// after its caller gave up: only one goroutine ever writes the clone.
	sem chan struct{}

	// mu guards the fields below; they are only used with sem held.
	mu   sync.Mutex
	repo *git.Repository
	last *Revision // the revision returned by the last successful fetch
}

var _ Source = (*Git)(nil)

// NewGit checks the options and the credential files; it does not touch
// the network. The clone is created, or reused, on the first Fetch.
func NewGit(opts GitOptions) (*Git, error) {
	if opts.URL == "" {
		return nil, errors.New("git source: a repository URL is required")
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if !plumbing.ReferenceName("refs/heads/"+opts.Branch).IsBranch() || strings.ContainsAny(opts.Branch, " ~^:?*[\\") || strings.Contains(opts.Branch, "..") {
		return nil, fmt.Errorf("git source: invalid branch name %q", opts.Branch)
	}
	if opts.CacheDir == "" {
		return nil, errors.New("git source: a cache directory is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		// The parser's message quotes the URL: keep it, credentials removed.
		return nil, fmt.Errorf("git source: invalid repository URL: %s", RedactURLs(err.Error()))
	}
	if err := checkURLCredentials(ep); err != nil {
		return nil, fmt.Errorf("git source: %w: put them in a token file, or a username and password file", err)
	}
	g := &Git{opts: opts, endpoint: ep, repoDir: filepath.Join(opts.CacheDir, cloneDir), sem: make(chan struct{}, 1)}
	if _, err := g.auth(); err != nil {
		return nil, fmt.Errorf("git source %s: %w", g.redactedURL(), err)
	}
	return g, nil
}

// Notify returns nil: poll git, and wake it with the webhook.
func (g *Git) Notify() <-chan struct{} { return nil }

// Close releases nothing: the clone stays in the cache directory for the
// next run. A fetch still running in the background ends by its timeout.
func (g *Git) Close() error { return nil }

// URL is the repository URL without credentials, for logs.
func (g *Git) URL() string { return g.redactedURL() }

// Fetch brings the branch up to date in the local clone and returns its
// head commit. It returns when the fetch ends, ctx is done, or the timeout
// expires, whichever comes first; a fetch that outlives its caller keeps
// the clone to itself until it ends, and later calls wait for it (within
// their own deadline).
func (g *Git) Fetch(ctx context.Context) (*Revision, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	defer cancel()
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: a previous fetch is still running: %w", g.redactedURL(), ctx.Err())
	}
	type result struct {
		rev *Revision
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-g.sem }()
		rev, err := g.fetch(ctx)
		done <- result{rev, err}
	}()
	select {
	case r := <-done:
		return r.rev, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: %w (timeout %s)", g.redactedURL(), ctx.Err(), g.opts.Timeout)
	}
}

// openLocked opens the local clone once; g.mu is held.
func (g *Git) openLocked() error {
	if g.repo != nil {
		return nil
	}
	repo, err := openClone(g.repoDir)
	if err != nil {
		return err
	}
	g.repo = repo
	return nil
}

// fetch runs with sem held.
func (g *Git) fetch(ctx context.Context) (*Revision, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.openLocked(); err != nil {
		return nil, err
	}
	local := plumbing.NewRemoteReferenceName(git.DefaultRemoteName, g.opts.Branch)
	previous := plumbing.ZeroHash
	if g.last != nil {
		previous = plumbing.NewHash(g.last.ID)
	} else if ref, err := g.repo.Reference(local, true); err == nil {
		previous = ref.Hash() // left by a previous run
	}

	if err := g.download(ctx, local); err != nil {
		return nil, fmt.Errorf("fetch %s branch %s: %w", g.redactedURL(), g.opts.Branch, err)
	}
	ref, err := g.repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("fetch %s branch %s: %w", g.redactedURL(), g.opts.Branch, err)
	}
	head := ref.Hash()
	if g.last != nil && g.last.ID == head.String() {
		same := *g.last
		same.ForcePushed, same.Previous = false, g.last.ID
		return &same, nil
	}
	rev, err := g.revision(head, previous)
	if err != nil {
		return nil, fmt.Errorf("fetch %s branch %s: %w", g.redactedURL(), g.opts.Branch, err)
	}
	g.last = rev
	return rev, nil
}

// openClone opens the bare clone, creating it on first use.
func openClone(dir string) (*git.Repository, error) {
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create git cache: %w", err)
		}
		repo, err = git.Init(st, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open git cache %s: %w", dir, err)
	}
	return repo, nil
}

// download updates the local ref from the remote.
func (g *Git) download(ctx context.Context, local plumbing.ReferenceName) error {
	if g.endpoint.Protocol == "file" {
		return g.copyLocal(ctx, local)
	}
	auth, err := g.auth()
	if err != nil {
		return err
	}
	var caBundle []byte
	if g.opts.Auth.CAFile != "" {
		if caBundle, err = os.ReadFile(g.opts.Auth.CAFile); err != nil {
			return fmt.Errorf("read CA file: %w", err)
		}
	}
	var proxyOpts transport.ProxyOptions
	if deadline, ok := ctx.Deadline(); ok && g.endpoint.Protocol == "ssh" {
		// A little after the context, so that Fetch reports the timeout.
		proxyOpts = deadlineProxy(deadline.Add(250 * time.Millisecond))
	}
	remote := git.NewRemote(g.repo.Storer, &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{g.opts.URL}})
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", g.opts.Branch, local))
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs:     []config.RefSpec{spec},
		Auth:         auth,
		Tags:         git.NoTags,
		Force:        true,
		CABundle:     caBundle,
		ProxyOptions: proxyOpts,
	})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, git.NoMatchingRefSpecError{}):
		return fmt.Errorf("branch %q not found in the repository", g.opts.Branch)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("authentication required: the server refused the credentials (check %s)", g.credentialHint())
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("authorization failed: the credentials have no read access (check %s)", g.credentialHint())
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return errors.New("repository not found (or the credentials cannot see it)")
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return errors.New("the repository is empty")
	case strings.Contains(err.Error(), "no common algorithm for host key"):
		// known_hosts lists keys for the host, none of a type it offers.
		return fmt.Errorf("host key mismatch for %s: %s has no key of the types the server offers (possible man-in-the-middle attack, or the server's key changed): %w", g.endpoint.Host, g.opts.Auth.KnownHostsFile, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (timeout %s)", ctx.Err(), g.opts.Timeout)
	}
	return err
}

func (g *Git) credentialHint() string {
	a := g.opts.Auth
	switch {
	case a.TokenFile != "":
		return "the token in " + a.TokenFile
	case a.UsernameFile != "":
		return "the credentials in " + a.UsernameFile + " and " + a.PasswordFile
	case a.SSHKeyFile != "":
		return "the key in " + a.SSHKeyFile
	}
	return "the credential flags: none were given"
}

// redactedURL is the URL without credentials, safe for logs and errors.
func (g *Git) redactedURL() string { return RedactURL(g.opts.URL) }

// revision builds the Revision of a fetched commit.
func (g *Git) revision(head, previous plumbing.Hash) (*Revision, error) {
	commit, err := g.repo.CommitObject(head)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", head, err)
	}
	rev := &Revision{
		ID:      head.String(),
		Branch:  g.opts.Branch,
		Time:    commit.Committer.When,
		Message: firstLine(commit.Message),
		Author:  fmt.Sprintf("%s <%s>", commit.Author.Name, commit.Author.Email),
		git:     &gitRev{repoDir: g.repoDir, commit: head, tree: commit.TreeHash},
	}
	if !previous.IsZero() {
		rev.Previous = previous.String()
		rev.ForcePushed = previous != head && !isAncestor(g.repo, previous, commit)
	}
	rev.FS, err = newTreeFS(g.repoDir, commit.TreeHash, rev.Time)
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", head, err)
	}
	return rev, nil
}

// isAncestor reports whether old is an ancestor of commit. An unknown old
// commit counts as not an ancestor.
func isAncestor(repo *git.Repository, old plumbing.Hash, commit *object.Commit) bool {
	prev, err := repo.CommitObject(old)
	if err != nil {
		return false
	}
	ok, err := prev.IsAncestor(commit)
	return err == nil && ok
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// At returns an older revision of the followed branch from the local
// clone, by commit ID: the daemon renders an environment from the
// revision it is allowed to run (promotion, rollback), after a restart
// too. It reads only what an earlier fetch brought into the clone.
func (g *Git) At(_ context.Context, id string) (*Revision, error) {
	if !plumbing.IsHash(id) {
		return nil, fmt.Errorf("revision %q is not a commit ID", id)
	}
	h := plumbing.NewHash(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.openLocked(); err != nil {
		return nil, err
	}
	if _, err := g.repo.CommitObject(h); err != nil {
		return nil, fmt.Errorf("revision %s is not in the clone of %s: %w", shorten(id), g.redactedURL(), err)
	}
	rev, err := g.revision(h, plumbing.ZeroHash)
	if err != nil {
		return nil, err
	}
	return rev, nil
}
