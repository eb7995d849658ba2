package daemon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// flood keeps n idle connections open to addr, redialling each one the
// server closes, until stop is called: a client that never sends a byte.
func flood(t *testing.T, addr string, n int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var dialer net.Dialer
			for ctx.Err() == nil {
				conn, err := dialer.DialContext(ctx, "tcp", addr)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				go func() { <-ctx.Done(); conn.Close() }()
				io.Copy(io.Discard, conn) // returns when the server closes it
				conn.Close()
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// TestHostileTraffic runs pave serve with 256 file descriptors and floods
// its API port with ten times more idle connections than it accepts at
// once, and with a slowloris webhook: the probes keep answering, the
// daemon keeps applying, the API answers again once the flood stops, and
// the status API needs the token.
func TestHostileTraffic(t *testing.T) {
	resetClusters(t)
	dir := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	token := "e2e-api-token-0123456789abcdef"
	for name, v := range map[string]string{"token": token, "hook": "hook-secret"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lowFDs := func(bin string, args []string) *exec.Cmd {
		return exec.Command("sh", append([]string{"-c", `ulimit -n 256 && exec "$0" "$@"`, bin}, args...)...)
	}
	log := filepath.Join(t.TempDir(), "pave.log")
	const maxConns = 64
	d := startPaveWith(t, log, lowFDs, "--path", dir, "--api-token-file", filepath.Join(secrets, "token"),
		"--webhook-secret-file", filepath.Join(secrets, "hook"),
		"--http-max-conns", fmt.Sprint(maxConns), "--http-read-header-timeout", "2s", "--http-read-timeout", "3s",
		"--interval", "1h", "--wait-timeout", "20s")
	d.token = token
	waitFor(t, 3*time.Minute, "initial sync", func() (bool, string) { return d.get("/readyz", nil) == http.StatusOK, "" })
	waitFor(t, time.Minute, "every service Ready", d.allAt(exampleServices, "Ready", ""))

	t.Run("the status API needs the token", func(t *testing.T) {
		anon := &daemon{url: d.url, probe: d.probe}
		wrong := &daemon{url: d.url, probe: d.probe, token: strings.Repeat("x", len(token))}
		for _, c := range []struct {
			d    *daemon
			want int
		}{{anon, 401}, {wrong, 401}, {d, 200}} {
			for _, path := range []string{"/api/v1/services", "/api/v1/source", "/api/v1/services/payments/checkout"} {
				if got := c.d.get(path, nil); got != c.want {
					t.Errorf("%s with token %q: %d, want %d", path, c.d.token, got, c.want)
				}
			}
		}
		if got := anon.get("/healthz", nil); got != 200 {
			t.Errorf("/healthz on --probe-listen without a token: %d", got)
		}
	})

	t.Run("a flood of idle connections fails neither the probes nor the reconciler", func(t *testing.T) {
		const attackers = 10 * maxConns // more than the daemon's 256 descriptors
		stop := flood(t, strings.TrimPrefix(d.url, "http://"), attackers)
		defer stop()
		time.Sleep(time.Second)
		// A new connection per probe, as the kubelet makes them.
		kubelet := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := range 20 {
			for _, p := range []string{"/healthz", "/readyz"} {
				resp, err := kubelet.Get(d.probe + p)
				if err != nil {
					t.Fatalf("%s #%d under a flood of %d connections: %v", p, i, attackers, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s #%d under a flood of %d connections: %s", p, i, attackers, resp.Status)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if v := d.metric("pave_services"); v <= 0 {
			t.Errorf("/metrics under the flood: pave_services = %v", v)
		}
		// The daemon still reads the catalog and writes to the clusters.
		r := &repo{t: t, dir: dir}
		r.edit("services/storefront/catalog-api/service.yaml", "catalog-api:3.1.0", "catalog-api:3.3.0")
		prod, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 45*time.Second, "edit applied under the flood", func() (bool, string) {
			dep, err := prod.AppsV1().Deployments("storefront-prod").Get(context.Background(), "catalog-api", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			img := dep.Spec.Template.Spec.Containers[0].Image
			return img == "registry.example.com/storefront/catalog-api:3.3.0", img
		})
		stop()
		// Once the flood stops, the API answers again (the idle
		// connections are dropped by the header timeout).
		waitFor(t, 30*time.Second, "API after the flood", func() (bool, string) {
			code := d.get("/api/v1/services", nil)
			return code == http.StatusOK, fmt.Sprint(code)
		})
		data, _ := os.ReadFile(log)
		if bytes.Contains(data, []byte("too many open files")) {
			t.Error("pave ran out of file descriptors")
		}
	})

	t.Run("a webhook body sent byte by byte is cut off and triggers nothing", func(t *testing.T) {
		body := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", 300) + `"}`
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write([]byte(body))
		conn, err := net.Dial("tcp", strings.TrimPrefix(d.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /hooks/git HTTP/1.1\r\nHost: pave\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n", hex.EncodeToString(mac.Sum(nil)), len(body))
		start := time.Now()
		closed := make(chan struct{})
		var answer bytes.Buffer
		go func() { io.Copy(&answer, conn); close(closed) }()
		sent := 0
	slow:
		for ; sent < len(body); sent++ {
			select {
			case <-closed:
				break slow
			case <-time.After(50 * time.Millisecond):
				if _, err := io.WriteString(conn, body[sent:sent+1]); err != nil {
					break slow
				}
			}
		}
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the connection is still open")
		}
		if took := time.Since(start); took > 6*time.Second || sent == len(body) {
			t.Errorf("cut off after %s and %d of %d bytes, want within --http-read-timeout (3s)", took, sent, len(body))
		}
		if strings.Contains(answer.String(), "202 Accepted") {
			t.Errorf("a body that never arrived whole triggered a fetch:\n%s", answer.String())
		}
	})
}

// TestRepoURLWithCredentialsIsRefused: a token written into --repo stops
// pave serve at once with a hint, and appears in none of its output.
func TestRepoURLWithCredentialsIsRefused(t *testing.T) {
	for _, url := range []string{
		"https://user:e2e-secret-password@git.example.com/platform/catalog.git",
		"https://ghp_e2eTokenAsUser@github.com/platform/catalog.git",
	} {
		secret := "e2e-secret-password"
		if strings.Contains(url, "ghp_") {
			secret = "ghp_e2eTokenAsUser"
		}
		cmd := exec.Command(paveBin, "serve", "--repo", url, "--cache-dir", t.TempDir(),
			"--cluster", "prod="+testcluster.Cluster(t, "prod").Kubeconfig())
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
			t.Fatalf("%s: %v, want exit 2\n%s", url, err, out)
		}
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("the output shows the secret:\n%s", out)
		}
		if !bytes.Contains(out, []byte("use --git-token-file")) {
			t.Errorf("no hint:\n%s", out)
		}
	}
}
