package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// teams are the example catalog's teams; services are dealt out to them in
// turn.
var teams = []string{"payments", "storefront", "data"}

// benchCatalog is a copy of catalog-repo-example with its own services
// replaced by n synthetic web-services (2 replicas each) and one
// environment, staging: every tool of the comparison deploys to one
// cluster.
type benchCatalog struct {
	dir string
	ids []string // team/name
}

func (e *env) writeCatalog(dir string, n int) (*benchCatalog, error) {
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(e.root, "catalog-repo-example"))); err != nil {
		return nil, err
	}
	for _, d := range []string{"services", "exceptions"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			return nil, err
		}
	}
	c := &benchCatalog{dir: dir}
	prod := "  - name: prod\n    cluster: prod\n    namespace: \"{team}-{env}\"\n"
	if err := c.edit("pave.yaml", prod, ""); err != nil {
		return nil, err
	}
	// The peers apply a template change everywhere at once: so does pave
	// here (one wave, where its default is 1, 10% and the rest).
	if err := c.edit("pave.yaml", "\nteams:\n", "\ntemplates:\n  web-service:\n    rollout: {waves: [\"100%\"]}\nteams:\n"); err != nil {
		return nil, err
	}
	for j := range n {
		team := teams[j%len(teams)]
		name := fmt.Sprintf("svc-%04d", j)
		c.ids = append(c.ids, team+"/"+name)
		svc := fmt.Sprintf("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: %s, team: %s}\nspec:\n  template: web-service\n  image: registry.example.com/%s/%s:1.0.0\n  port: 8080\n  replicas: 2\n", name, team, team, name)
		if err := c.write(filepath.Join("services", team, name, "service.yaml"), svc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *benchCatalog) write(rel, content string) error {
	p := filepath.Join(c.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func (c *benchCatalog) edit(rel, old, new string) error {
	data, err := os.ReadFile(filepath.Join(c.dir, rel))
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(old)) {
		return fmt.Errorf("%s does not contain %q", rel, old)
	}
	return c.write(rel, strings.Replace(string(data), old, new, 1))
}

// oneServiceChange changes the image tag of the first service.
func (c *benchCatalog) oneServiceChange() error {
	id := c.ids[0]
	team, name, _ := strings.Cut(id, "/")
	return c.edit(filepath.Join("services", team, name, "service.yaml"), ":1.0.0", ":1.0.1")
}

// templateChange adds an annotation to the Deployment of every
// web-service (the one in the template library, which web-service
// includes): every service's rendered objects change.
func (c *benchCatalog) templateChange() error {
	return c.edit("templates/web-service/templates/deployment.yaml", `include "pave.deployment" .`,
		`include "pave.deployment" . | replace "kind: Deployment\nmetadata:\n" "kind: Deployment\nmetadata:\n  annotations:\n    platform.example.com/bench: \"1\"\n"`)
}

// gitRepo is a work tree and the bare repository it pushes to.
type gitRepo struct {
	dir, bare string
}

func newGitRepo(ctx context.Context, dir, bare string) (*gitRepo, error) {
	r := &gitRepo{dir: dir, bare: bare}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := git(ctx, filepath.Dir(bare), "init", "-q", "--bare", "-b", "main", bare); err != nil {
		return nil, err
	}
	// git http-backend serves only repositories that allow it.
	if _, err := git(ctx, bare, "config", "http.receivepack", "false"); err != nil {
		return nil, err
	}
	if _, err := git(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	return r, nil
}

// commitPush commits everything in the work tree, pushes it and returns the
// commit.
func (r *gitRepo) commitPush(ctx context.Context, msg string) (string, error) {
	if _, err := git(ctx, r.dir, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := git(ctx, r.dir, "commit", "-q", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	if _, err := git(ctx, r.dir, "push", "-q", "-f", r.bare, "HEAD:main"); err != nil {
		return "", err
	}
	out, err := git(ctx, r.dir, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
