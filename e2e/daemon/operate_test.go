package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// TestOperatorVerbs is the operator's story against the pave binary: prod
// waits for `pave promote`, a wrong token changes nothing, `pave suspend`
// stops drift correction until `pave resume`, and `pave history` lists
// what was deployed. Everything is checked in the prod cluster itself,
// not only in pave's status.
func TestOperatorVerbs(t *testing.T) {
	resetClusters(t)
	ctx := context.Background()
	prod, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	image := func() string {
		d, err := prod.AppsV1().Deployments("ops-prod").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}

	// A catalog of one service of its own team, prod approved by hand.
	work := t.TempDir()
	r := exampleRepo(t, work, "services", "exceptions")
	bare := r.bare
	r.edit("pave.yaml", "teams:\n", "teams:\n  - name: ops\n    owners: [ops@example.com]\n")
	r.edit("pave.yaml", "  - name: prod\n    cluster: prod\n", "  - name: prod\n    cluster: prod\n    promotion:\n      approval: manual\n")
	r.write("services/ops/api/service.yaml", "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: api, team: ops}\nspec:\n  template: worker\n  image: registry.example.com/ops/api:1.0.0\n  port: 9090\n  replicas: 2\n")
	git(t, r.dir, "init", "-q", "-b", "main")
	first := r.commitPush("ops/api 1.0.0")

	token := filepath.Join(work, "token")
	if err := os.WriteFile(token, []byte("an-operator-token-of-32-characters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongToken := filepath.Join(work, "wrong")
	if err := os.WriteFile(wrongToken, []byte("not-the-operator-token-at-all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startPave(t, filepath.Join(work, "pave.log"), "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache"),
		"--api-token-file", token, "--interval", "1s", "--resync-interval", "2s", "--wait-timeout", "20s")
	d.token = "an-operator-token-of-32-characters"

	// pave runs the CLI against the daemon; it returns the exit status and
	// both outputs.
	pave := func(tokenFile string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(paveBin, append(args, "--server", d.url, "--token-file", tokenFile)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	status := func() map[string]map[string]any {
		t.Helper()
		code, out, stderr := pave(token, "status", "ops/api", "-o", "json")
		if code != 0 {
			t.Fatalf("pave status: exit %d: %s", code, stderr)
		}
		var s struct {
			Environments map[string]map[string]any `json:"environments"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("pave status -o json: %v\n%s", err, out)
		}
		return s.Environments
	}
	field := func(env, name string) string {
		v, _ := status()[env][name].(string)
		return v
	}

	waitFor(t, 2*time.Minute, "pave serve ready", func() (bool, string) { return d.get("/readyz", nil) == http.StatusOK, "" })

	// The first revision: staging, then prod once approved.
	waitFor(t, 2*time.Minute, "staging Ready at the first revision", func() (bool, string) {
		return field("staging", "phase") == "Ready" && field("staging", "appliedRevision") == first, field("staging", "phase")
	})
	waitFor(t, 30*time.Second, "prod awaiting approval", func() (bool, string) {
		g := field("prod", "gate")
		return strings.Contains(g, "awaiting approval"), g
	})

	t.Run("a wrong token is refused and changes nothing", func(t *testing.T) {
		code, _, stderr := pave(wrongToken, "promote", "ops/api", "--env", "prod")
		if code != 2 || !strings.Contains(stderr, "refused the token") {
			t.Errorf("promote with a wrong token: exit %d\n%s", code, stderr)
		}
		time.Sleep(3 * time.Second)
		if got := image(); !strings.HasPrefix(got, "<") {
			t.Errorf("prod has the Deployment (%s) without an approval", got)
		}
		if g := field("prod", "gate"); !strings.Contains(g, "awaiting approval") {
			t.Errorf("prod gate after a refused promote: %q", g)
		}
	})

	t.Run("pave promote lets prod take the revision", func(t *testing.T) {
		code, out, stderr := pave(token, "promote", "ops/api", "--env", "prod")
		if code != 0 {
			t.Fatalf("promote: exit %d\n%s%s", code, out, stderr)
		}
		waitFor(t, time.Minute, "prod runs 1.0.0", func() (bool, string) {
			return image() == "registry.example.com/ops/api:1.0.0" && field("prod", "phase") == "Ready", image()
		})
		code, out, _ = pave(token, "status")
		if code != 0 || !strings.Contains(out, "ops/api") || !strings.Contains(out, first[:12]) {
			t.Errorf("pave status table: exit %d\n%s", code, out)
		}
		// Environments in delivery order, not by name.
		staging := regexp.MustCompile(`(?m)^ops/api +staging `).FindStringIndex(out)
		prod := regexp.MustCompile(`(?m)^ops/api +prod `).FindStringIndex(out)
		if staging == nil || prod == nil || staging[0] > prod[0] {
			t.Errorf("pave status lists staging after prod:\n%s", out)
		}
	})

	t.Run("a new revision waits in front of prod for the next approval", func(t *testing.T) {
		r.edit("services/ops/api/service.yaml", ":1.0.0", ":1.1.0")
		second := r.commitPush("ops/api 1.1.0")
		waitFor(t, time.Minute, "staging at 1.1.0, prod awaiting approval", func() (bool, string) {
			s := status()
			staging, _ := s["staging"]["appliedRevision"].(string)
			pending, _ := s["prod"]["pendingRevision"].(string)
			return staging == second && pending == second && strings.Contains(fmt.Sprint(s["prod"]["gate"]), "awaiting approval"), fmt.Sprint(s["prod"])
		})
		if got := image(); got != "registry.example.com/ops/api:1.0.0" {
			t.Errorf("prod runs %s before the approval", got)
		}
		if code, _, stderr := pave(token, "promote", "ops/api", "--env", "prod"); code != 0 {
			t.Fatalf("promote: exit %d\n%s", code, stderr)
		}
		waitFor(t, time.Minute, "prod runs 1.1.0", func() (bool, string) { return image() == "registry.example.com/ops/api:1.1.0", image() })
	})

	t.Run("suspend stops drift correction until resume", func(t *testing.T) {
		if code, _, stderr := pave(token, "suspend", "ops/api", "--env", "prod"); code != 0 {
			t.Fatalf("suspend: exit %d\n%s", code, stderr)
		}
		waitFor(t, 10*time.Second, "suspended in the status", func() (bool, string) {
			v, _ := status()["prod"]["suspended"].(bool)
			return v, fmt.Sprint(status()["prod"])
		})
		// Read and written again when the Deployment controller wrote its
		// status in between, as kubectl edit would.
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			dep, err := prod.AppsV1().Deployments("ops-prod").Get(ctx, "api", metav1.GetOptions{})
			if err != nil {
				return err
			}
			dep.Spec.Template.Spec.Containers[0].Image = "registry.example.com/ops/api:hotfix"
			_, err = prod.AppsV1().Deployments("ops-prod").Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Several resyncs (every 2 s) pass: a suspended service is left alone.
		time.Sleep(6 * time.Second)
		if got := image(); got != "registry.example.com/ops/api:hotfix" {
			t.Errorf("a suspended service was corrected: %s", got)
		}
		if code, _, stderr := pave(token, "resume", "ops/api", "--env", "prod"); code != 0 {
			t.Fatalf("resume: exit %d\n%s", code, stderr)
		}
		waitFor(t, 30*time.Second, "drift corrected after resume", func() (bool, string) { return image() == "registry.example.com/ops/api:1.1.0", image() })
	})

	t.Run("pave history lists prod's deployments, newest first", func(t *testing.T) {
		code, out, stderr := pave(token, "history", "ops/api", "--env", "prod", "-o", "json")
		if code != 0 {
			t.Fatalf("history: exit %d\n%s", code, stderr)
		}
		var h struct {
			Environments map[string][]struct {
				Revision string `json:"revision"`
				Result   string `json:"result"`
			} `json:"environments"`
		}
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		deps := h.Environments["prod"]
		if len(deps) < 2 || deps[len(deps)-1].Revision != first || deps[0].Result != "Ready" {
			t.Errorf("prod history: %+v", deps)
		}
	})
}
