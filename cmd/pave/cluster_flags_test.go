package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notReadyKubeconfig writes a kubeconfig for an API server whose /readyz
// answers 503: a cluster that does not answer.
func notReadyKubeconfig(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`, srv.URL)
	if err := os.WriteFile(file, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestClusterFlagNamesAClusterOfPaveYAML: a --cluster NAME no environment
// uses is refused with the names pave.yaml has; it used to leave the
// intended cluster's services without credentials, one line each.
func TestClusterFlagNamesAClusterOfPaveYAML(t *testing.T) {
	kc := notReadyKubeconfig(t)
	for _, command := range []string{"apply", "diff"} {
		code, stdout, stderr := pave(t, command, "--catalog", exampleCatalog, "--cluster", "prod="+kc, "--cluster", "prdo="+kc)
		want := `pave: --cluster prdo=` + kc + `: pave.yaml has no cluster "prdo" (its environments use: staging, prod)`
		if code != exitUsage || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant: %s", command, code, stdout, stderr, want)
		}
	}
}

// TestUnreachableClusterReportedOnce: a cluster that does not answer (or
// has no --cluster) is one line with the number of services it holds
// back, not one line per service.
func TestUnreachableClusterReportedOnce(t *testing.T) {
	kc := notReadyKubeconfig(t)

	code, stdout, stderr := pave(t, "apply", "--catalog", exampleCatalog, "--cluster", "prod="+kc)
	if code != exitFailure {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	wantApply := []string{
		"cluster unreachable: prod: /readyz answered 503 Service Unavailable (8 services not applied)\n",
		"cluster unreachable: no credentials for cluster staging (pass --cluster staging=KUBECONFIG) (8 services not applied)\n",
	}
	for _, w := range wantApply {
		if strings.Count(stdout, w) != 1 {
			t.Errorf("apply: %q not once:\n%s", w, stdout)
		}
	}
	if n := strings.Count(stdout, "cluster unreachable"); n != 2 {
		t.Errorf("apply: %d lines about unreachable clusters, want 2:\n%s", n, stdout)
	}
	if n := strings.Count(stdout, "ClusterUnreachable"); n != 16 {
		t.Errorf("apply: %d service rows marked ClusterUnreachable, want 16:\n%s", n, stdout)
	}

	code, stdout, stderr = pave(t, "diff", "--catalog", exampleCatalog, "--cluster", "prod="+kc)
	want := "no --cluster staging given (8 services not diffed)\ncluster unreachable: prod: /readyz answered 503 Service Unavailable (8 services not diffed)\n"
	if code != exitFailure || stderr != want || stdout != "" {
		t.Errorf("diff: exit %d\nstdout: %s\nstderr: %s\nwant stderr: %s", code, stdout, stderr, want)
	}
}
