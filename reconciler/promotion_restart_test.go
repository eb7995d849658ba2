package reconciler

import (
	"context"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/pave-dev/pave/source"
)

// commitAll commits every file of a work tree, at the daemon's clock.
func commitAll(t *testing.T, repo *git.Repository, msg string, at time.Time) {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "dev", Email: "dev@example.com", When: at}
	if _, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
}

// gitSource follows branch main of a repository on this machine, with its
// clone in cache.
func gitSource(t *testing.T, repoDir, cache string) source.Source {
	t.Helper()
	g, err := source.NewGit(source.GitOptions{URL: "file://" + repoDir, Branch: "main", CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestPromotionSurvivesRestart: with a git source, prod waits for an
// approval while staging runs a newer revision; a restarted daemon takes
// prod's revision from its inventory, reads that revision back from the
// clone and keeps prod on it (it even corrects drift from it), until the
// approval.
func TestPromotionSurvivesRestart(t *testing.T) {
	const id = "restart/api"
	const file = "services/restart/api/service.yaml"
	const img = "registry.example.com/restart/api:"
	dir := catalogDir(t, []string{"restart"}, map[string]string{id: webService(img + "1.0.0")})
	withPromotion(t, dir, "{approval: manual}")
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "api 1.0.0", start.Add(-time.Hour))
	cache := t.TempDir()
	d := runSource(t, dir, gitSource(t, dir, cache))
	ctx := context.Background()
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "awaiting approval")
	if err := d.Promote(ctx, id, "prod"); err != nil {
		t.Fatal(err)
	}
	d.envPhase(time.Minute, id, "prod", PhaseReady)
	v1 := d.Status.Source().Revision

	editFile(t, dir, file, "1.0.0", "1.1.0")
	commitAll(t, repo, "api 1.1.0", start)
	d.refetch()
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "awaiting approval")
	d.stop()

	// Someone edits prod while pave is down; a new pave (a new clone too)
	// restores prod's revision from the inventory.
	tamper(t, "prod", "restart-prod", "api", img+"hotfix")
	d = runSource(t, dir, gitSource(t, dir, t.TempDir()))
	e := d.gateIs(time.Minute, id, "prod", "awaiting approval")
	if e.AppliedRevision != v1 {
		t.Errorf("prod after the restart runs %s, want %s", e.AppliedRevision, v1)
	}
	d.resyncAll()
	liveImage(t, 30*time.Second, "prod", "restart-prod", "api", img+"1.0.0")
	liveImage(t, time.Second, "staging", "restart-staging", "api", img+"1.1.0")

	// The approval promotes the newer revision.
	if err := d.Promote(ctx, id, "prod"); err != nil {
		t.Fatal(err)
	}
	d.gateIs(time.Minute, id, "prod", "")
	liveImage(t, 30*time.Second, "prod", "restart-prod", "api", img+"1.1.0")
}
