// Package reviewtest builds git repositories of a catalog in tests, with
// go-git: a base commit of a folder, then head commits made of edits.
package reviewtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a git repository with a work tree, made from a catalog folder.
type Repo struct {
	// Dir is the repository root; Catalog the catalog folder inside it.
	Dir     string
	Catalog string

	t       testing.TB
	repo    *git.Repository
	commits int
}

// New copies the catalog folder from into a new repository's root and
// commits it ("base").
func New(t testing.TB, from string) *Repo { return NewIn(t, from, "") }

// NewIn copies the catalog folder from into the folder sub of a new
// repository and commits it.
func NewIn(t testing.TB, from, sub string) *Repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r := &Repo{Dir: dir, Catalog: filepath.Join(dir, filepath.FromSlash(sub)), t: t}
	if err := os.CopyFS(r.Catalog, os.DirFS(from)); err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
	var err error
	if r.repo, err = git.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	r.Commit("base")
	return r
}

// Write creates or replaces a file of the catalog (a slash path relative
// to the catalog folder).
func (r *Repo) Write(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.Catalog, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Read returns a file of the catalog.
func (r *Repo) Read(rel string) string {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.Catalog, filepath.FromSlash(rel)))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

// Edit rewrites a file of the catalog; it fails the test when the edit
// changes nothing, so a scenario cannot silently test nothing.
func (r *Repo) Edit(rel string, edit func(string) string) {
	r.t.Helper()
	before := r.Read(rel)
	after := edit(before)
	if after == before {
		r.t.Fatalf("edit of %s changed nothing", rel)
	}
	r.Write(rel, after)
}

// Replace edits a file by replacing old with new once.
func (r *Repo) Replace(rel, old, new string) {
	r.t.Helper()
	r.Edit(rel, func(s string) string { return strings.Replace(s, old, new, 1) })
}

// Remove deletes a file or folder of the catalog.
func (r *Repo) Remove(rel string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.Catalog, filepath.FromSlash(rel))); err != nil {
		r.t.Fatal(err)
	}
}

// Commit stages every change of the work tree (deletions too) and
// commits it with a fixed author and a clock that advances a minute per
// commit, so the same edits give the same commit hashes. It returns the
// commit hash.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	r.commits++
	sig := &object.Signature{Name: "Pave Test", Email: "test@pave.dev", When: time.Date(2026, 1, 1, 12, r.commits, 0, 0, time.UTC)}
	hash, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return hash.String()
}

// AddServices writes n web-services spread over the example catalog's
// teams (payments, storefront, data), named svc-0000…, each passing the
// baseline policies, for tests and benchmarks at scale.
func (r *Repo) AddServices(n int) {
	r.t.Helper()
	teams := []string{"payments", "storefront", "data"}
	for i := range n {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%04d", i)
		r.Write("services/"+team+"/"+name+"/service.yaml", fmt.Sprintf(`apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: %[2]s
  team: %[1]s
spec:
  template: web-service
  image: registry.example.com/%[1]s/%[2]s:1.%[3]d.0
  port: 8080
  replicas: 2
  env:
    LOG_LEVEL: info
  healthCheck:
    path: /healthz
  environments:
    staging:
      replicas: 1
`, team, name, i%7))
	}
}
