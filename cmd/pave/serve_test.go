package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/reconciler"
)

func TestServeRefusesCredentialsInRepo(t *testing.T) {
	hint := "use --git-token-file (or --git-username-file and --git-password-file) and a URL without them"
	for _, tc := range []struct{ url, secret, want string }{
		{"https://user:secret-password@git.example.com/platform/catalog.git", "secret-password", hint},
		{"https://ghp_tokenAsUser0123@github.com/platform/catalog.git", "ghp_tokenAsUser0123", hint},
		{"https://git.example.com/platform/catalog.git?private_token=glpat-inquery", "glpat-inquery", hint},
		{"robot:scp-password@git.example.com:platform/catalog.git", "scp-password", hint},
		{"https://robot:unparsable-secret@git.example.com:badport/catalog.git", "unparsable-secret", `invalid port ":badport"`},
	} {
		t.Run(tc.url, func(t *testing.T) {
			// No cluster flag: the URL is refused before anything else runs.
			code, stdout, stderr := pave(t, "serve", "--repo", tc.url, "--cache-dir", t.TempDir())
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, stderr)
			}
			if strings.Contains(stdout+stderr, tc.secret) {
				t.Errorf("the output shows the secret:\n%s%s", stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "pave: --repo: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want --repo and %q", stderr, tc.want)
			}
		})
	}
}

func TestServeRefusesUnboundedServers(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-read-timeout", "0"}, "--http-read-timeout must be positive"},
		{[]string{"--http-idle-timeout", "0"}, "--http-idle-timeout must be positive"},
		{[]string{"--http-max-conns", "0"}, "--http-max-conns must be at least 1"},
		{[]string{"--api-token-file", short}, "--api-token-file: API token in " + short + " is 7 characters long, want at least 16"},
		{[]string{"--api-token-file", filepath.Join(dir, "missing")}, "--api-token-file: read API token"},
	} {
		code, _, stderr := pave(t, append([]string{"serve", "--path", dir}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, stderr, exitUsage, tc.want)
		}
		if strings.Contains(stderr, "hunter2") {
			t.Errorf("%v: the output shows the token: %s", tc.args, stderr)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// pave serve answers the API on --listen behind --api-token-file and the
// probes on --probe-listen, with no token, and stops on cancel.
func TestServeListeners(t *testing.T) {
	catalogDir := copyCatalog(t)
	dir := t.TempDir()
	token := "serve-test-token-0123456789"
	tokenFile := filepath.Join(dir, "token")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	for path, content := range map[string]string{
		tokenFile: token + "\n",
		// A cluster that never answers: the listeners do not depend on it.
		kubeconfig: "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api, probes := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newServeCmd()
	cmd.SetArgs([]string{"--path", catalogDir, "--cluster", "prod=" + kubeconfig, "--cluster", "staging=" + kubeconfig,
		"--listen", api, "--probe-listen", probes, "--api-token-file", tokenFile, "--shutdown-timeout", "1s", "--interval", "1h"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop on cancel")
		}
	}()

	get := func(url, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("http://"+probes+"/healthz", ""); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered on --probe-listen")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct {
		url, auth string
		want      int
	}{
		{"http://" + api + "/api/v1/services", "", http.StatusUnauthorized},
		{"http://" + api + "/api/v1/services", "Bearer not-the-token-0123456789", http.StatusUnauthorized},
		{"http://" + api + "/api/v1/services", "Bearer " + token, http.StatusOK},
		// The probes are not on the API listener: the dashboard, behind
		// the same token, does not know the path.
		{"http://" + api + "/healthz", "Bearer " + token, http.StatusNotFound},
		{"http://" + api + "/healthz", "", http.StatusUnauthorized},
		{"http://" + api + "/", "", http.StatusUnauthorized},
		{"http://" + api + "/", "Bearer " + token, http.StatusOK},
		{"http://" + probes + "/metrics", "", http.StatusOK},
		{"http://" + probes + "/api/v1/services", "Bearer " + token, http.StatusNotFound},
	} {
		if code, body := get(tc.url, tc.auth); code != tc.want {
			t.Errorf("GET %s (%q) = %d, want %d\n%s", tc.url, tc.auth, code, tc.want, body)
		}
	}
	code, body := get("http://"+api+"/api/v1/source", "Bearer "+token)
	if code != http.StatusOK || !strings.Contains(body, catalogDir) {
		t.Errorf("/api/v1/source = %d %s", code, body)
	}
}

// TestServeHelpFlagsOnce: pave serve --help lists every flag once, and
// each default is the one its subsystem's options hold (written once, in
// DefaultOptions); leader election has one switch, --leader-elect.
func TestServeHelpFlagsOnce(t *testing.T) {
	code, stdout, stderr := pave(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	seen := map[string]string{}
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)\b(.*)$`)
	for _, line := range strings.Split(stdout, "\n") {
		m := flagLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := seen[m[1]]; dup {
			t.Errorf("--%s is listed twice", m[1])
		}
		seen[m[1]] = m[2]
	}
	d, srv := reconciler.DefaultOptions(), reconciler.DefaultServerOptions()
	for flag, def := range map[string]string{
		"interval":                       d.Interval.String(),
		"resync-interval":                d.ResyncInterval.String(),
		"concurrency":                    fmt.Sprint(d.Concurrency),
		"wait-timeout":                   d.Apply.WaitTimeout.String(),
		"drift-mode":                     fmt.Sprintf("%q", d.Apply.DriftMode),
		"shutdown-timeout":               d.ShutdownTimeout.String(),
		"min-backoff":                    d.MinBackoff.String(),
		"max-backoff":                    d.MaxBackoff.String(),
		"http-read-timeout":              srv.ReadTimeout.String(),
		"http-max-conns":                 fmt.Sprint(srv.MaxConns),
		"branch":                         `"main"`,
		"git-timeout":                    "1m0s",
		"leader-election-lease-duration": "35s",
		"leader-election-renew-deadline": "30s",
		"leader-election-retry-period":   "5s",
	} {
		rest, ok := seen[flag]
		if !ok {
			t.Errorf("--%s is not listed", flag)
			continue
		}
		if !strings.HasSuffix(rest, "(default "+def+")") {
			t.Errorf("--%s: %q, want (default %s)", flag, strings.TrimSpace(rest), def)
		}
	}
	if _, ok := seen["leader-elect"]; !ok {
		t.Error("--leader-elect is not listed")
	}
	if _, ok := seen["enable-leader-election"]; ok {
		t.Error("--enable-leader-election is listed beside --leader-elect")
	}
}

// TestServeRejectsBadDaemonFlags: the library's second leader-election
// switch is not a flag of pave serve, and the daemon's options are checked
// before anything starts.
func TestServeRejectsBadDaemonFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--enable-leader-election"}, "unknown flag: --enable-leader-election"},
		{[]string{"--drift-mode", "ignore"}, `invalid argument "ignore" for "--drift-mode" flag: must be correct or warn`},
		{[]string{"--concurrency", "0"}, "--concurrency must be at least 1, got 0"},
		{[]string{"--min-backoff", "10m", "--max-backoff", "1m"}, "--min-backoff (10m0s) must not exceed --max-backoff (1m0s)"},
		{[]string{"--interval", "0s"}, "--interval must be positive"},
		{[]string{"--wait-timeout", "-1s"}, "--wait-timeout must not be negative"},
		{[]string{"--shards", "3", "--leader-elect"}, "--shards and --leader-elect exclude each other"},
		{[]string{"--shards", "3", "--shard-identity", "Pave_1"}, `--shard-identity "Pave_1"`},
		{[]string{"--shards", "3", "--shard-identity", "a", "--shard-renew-deadline", "20s"}, "--shard-renew-deadline (20s) must be positive and shorter than --shard-lease-duration (15s)"},
	} {
		code, _, stderr := pave(t, append([]string{"serve", "--path", dir}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
