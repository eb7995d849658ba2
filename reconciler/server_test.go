package reconciler

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/source"
)

const testToken = "0123456789abcdef-pave-test-token"

// listeners is a daemon's two listeners on loopback ports.
type listeners struct {
	d           *Daemon
	api, probes string // base URLs
	apiAddr     string
	triggers    *atomic.Int32
}

var hookSecret = []byte("hook-secret")

func sign(body string) string {
	mac := hmac.New(sha256.New, hookSecret)
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// serve starts the API and probe listeners of a daemon with no clusters,
// the webhook following branch main.
func serve(t *testing.T, o ServerOptions, token []byte) *listeners {
	t.Helper()
	d := New(logr.Discard(), nil, nil, DefaultOptions())
	triggers := &atomic.Int32{}
	hook, err := source.NewWebhook(source.WebhookOptions{Secret: hookSecret, Branch: "main", Trigger: func() { triggers.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	out := &listeners{d: d, triggers: triggers}
	for _, l := range []struct {
		h   http.Handler
		url *string
	}{
		{d.APIHandler(APIOptions{Webhook: hook, Token: token}), &out.api},
		{d.ProbeHandler(), &out.probes},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := NewServer(ln, l.h, o, logr.Discard())
		go s.Serve()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s.Shutdown(ctx)
		})
		*l.url = "http://" + ln.Addr().String()
	}
	out.apiAddr = strings.TrimPrefix(out.api, "http://")
	return out
}

func get(t *testing.T, url, auth string, timeout time.Duration) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// A client that sends its request one byte at a time holds a connection
// only until the read timeouts, and a webhook whose signed body never
// arrives whole triggers nothing.
func TestSlowClientsAreCutOff(t *testing.T) {
	o := DefaultServerOptions()
	o.ReadHeaderTimeout, o.ReadTimeout = 500*time.Millisecond, time.Second
	l := serve(t, o, nil)
	body := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", 200) + `"}`
	headers := "POST /hooks/git HTTP/1.1\r\nHost: pave\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: " + sign(body) +
		"\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n"

	for _, tc := range []struct {
		name        string
		fast, slow  string // sent at once, then byte by byte
		cutOffAfter time.Duration
	}{
		{"body byte by byte", headers, body, o.ReadTimeout},
		{"headers byte by byte", "", headers + body, o.ReadHeaderTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", l.apiAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				io.Copy(io.Discard, conn) // until the server closes the connection
				closed <- time.Since(start)
			}()
			if _, err := io.WriteString(conn, tc.fast); err != nil {
				t.Fatal(err)
			}
			sent := 0
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
		slow:
			for sent < len(tc.slow) {
				select {
				case <-closed:
					closed <- time.Since(start)
					break slow
				case <-tick.C:
					if _, err := io.WriteString(conn, tc.slow[sent:sent+1]); err != nil {
						break slow
					}
					sent++
				}
			}
			select {
			case took := <-closed:
				if took > tc.cutOffAfter+2*time.Second {
					t.Errorf("cut off after %s, want about %s", took, tc.cutOffAfter)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the connection is still open")
			}
			if sent == len(tc.slow) {
				t.Errorf("the whole request (%d bytes over %s) was read", sent, time.Since(start))
			}
			if n := l.triggers.Load(); n != 0 {
				t.Errorf("the webhook triggered %d fetches from a request that never arrived whole", n)
			}
		})
	}
	// The same request sent at normal speed is served.
	conn, err := net.Dial("tcp", l.apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, headers+body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusAccepted || l.triggers.Load() != 1 {
		t.Fatalf("signed push at normal speed: %v %v, %d triggers", resp, err, l.triggers.Load())
	}
}

// A client that asks for a large answer and does not read it holds the
// connection only until the write timeout: the answer is cut short.
func TestSlowReaderIsCutOff(t *testing.T) {
	o := DefaultServerOptions()
	o.WriteTimeout = time.Second
	l := serve(t, o, nil)
	// About 40 MB of status: more than the kernel buffers of both ends.
	for i := range 40000 {
		l.d.Status.update("team", fmt.Sprintf("service-%05d", i), "prod", func(_ *ServiceStatus, e *EnvironmentStatus) {
			e.Errors = []string{strings.Repeat("a long error message ", 45)}
		})
	}
	conn, err := net.Dial("tcp", l.apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /api/v1/services HTTP/1.1\r\nHost: pave\r\n\r\n")
	time.Sleep(o.WriteTimeout + 2*time.Second) // read nothing meanwhile
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Logf("cut off before the headers: %v", err)
		return
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Fatalf("read the whole answer (%d bytes) after the write timeout", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open: %v after %d bytes", err, n)
	}
	t.Logf("cut off after %d bytes: %v", n, err)
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// Many idle connections to the API hold at most MaxConns descriptors in
// the daemon, never fail /healthz on the probe listener, and are dropped
// after the header timeout, so the API serves again.
func TestIdleConnectionsDoNotStarveProbes(t *testing.T) {
	o := DefaultServerOptions()
	o.MaxConns, o.ReadHeaderTimeout, o.ReadTimeout = 20, time.Second, 2*time.Second
	l := serve(t, o, nil)

	const idle = 60
	before := openFDs(t)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range idle {
		c, err := net.Dial("tcp", l.apiAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond) // let the server accept what it will
	// The test holds the clients' ends (idle); the server may hold at
	// most MaxConns more. Without the limit it would hold all of them.
	if held := openFDs(t) - before - idle; held > o.MaxConns+5 {
		t.Errorf("the server holds %d connections, want at most %d", held, o.MaxConns)
	}
	for i := range 10 {
		if code, body, _ := get(t, l.probes+"/healthz", "", time.Second); code != http.StatusOK {
			t.Fatalf("/healthz #%d with %d idle API connections: %d %s", i, idle, code, body)
		}
	}
	if code, _, _ := get(t, l.probes+"/metrics", "", time.Second); code != http.StatusOK {
		t.Errorf("/metrics = %d", code)
	}
	if code, _, _ := get(t, l.api+"/api/v1/services", "", 300*time.Millisecond); code != 0 {
		t.Errorf("the API answered %d with %d connections open: MaxConns=%d is not enforced", code, idle, o.MaxConns)
	}
	// The idle connections are closed by the header timeout, the queued
	// ones after them, and the API answers again.
	deadline := time.Now().Add(time.Duration(idle/o.MaxConns)*o.ReadHeaderTimeout + 5*time.Second)
	for {
		code, _, _ := get(t, l.api+"/api/v1/services", "", 2*time.Second)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API did not recover after the idle connections timed out (last %d)", code)
		}
	}
}

func TestAPIToken(t *testing.T) {
	l := serve(t, DefaultServerOptions(), []byte(testToken))
	open := serve(t, DefaultServerOptions(), nil)
	for _, tc := range []struct {
		name, base, path, auth string
		want                   int
	}{
		{"no token", l.api, "/api/v1/services", "", 401},
		{"wrong token", l.api, "/api/v1/services", "Bearer " + strings.Repeat("x", len(testToken)), 401},
		{"token prefix", l.api, "/api/v1/services", "Bearer " + testToken[:len(testToken)-1], 401},
		{"token with a suffix", l.api, "/api/v1/services", "Bearer " + testToken + "x", 401},
		{"token as basic auth", l.api, "/api/v1/services", "Basic " + testToken, 401},
		{"bare token", l.api, "/api/v1/services", testToken, 401},
		{"empty bearer", l.api, "/api/v1/services", "Bearer ", 401},
		{"token", l.api, "/api/v1/services", "Bearer " + testToken, 200},
		{"scheme in lower case", l.api, "/api/v1/services", "bearer " + testToken, 200},
		{"one service, no token", l.api, "/api/v1/services/payments/checkout", "", 401},
		{"one service, token", l.api, "/api/v1/services/payments/checkout", "Bearer " + testToken, 404},
		{"source, no token", l.api, "/api/v1/source", "", 401},
		{"source, token", l.api, "/api/v1/source", "Bearer " + testToken, 200},
		{"unknown API path, no token", l.api, "/api/v2/secrets", "", 401},
		{"probes are not on the API listener", l.api, "/healthz", "", 404},
		{"metrics are not on the API listener", l.api, "/metrics", "", 404},
		{"healthz without a token", l.probes, "/healthz", "", 200},
		{"metrics without a token", l.probes, "/metrics", "", 200},
		{"the API is not on the probe listener", l.probes, "/api/v1/services", "Bearer " + testToken, 404},
		{"no token configured", open.api, "/api/v1/services", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := get(t, tc.base+tc.path, tc.auth, 2*time.Second)
			if code != tc.want {
				t.Fatalf("%s = %d, want %d\n%s", tc.path, code, tc.want, body)
			}
			if code == 401 {
				if h.Get("WWW-Authenticate") != `Bearer realm="pave"` {
					t.Errorf("401 without WWW-Authenticate: %v", h)
				}
				if strings.Contains(body, "services") {
					t.Errorf("401 leaks the status: %s", body)
				}
			}
		})
	}
	// The webhook keeps its own signature check: no bearer token needed.
	body := `{"ref":"refs/heads/main"}`
	req, _ := http.NewRequest(http.MethodPost, l.api+source.WebhookPath, strings.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || l.triggers.Load() != 1 {
		t.Errorf("signed webhook without a bearer token: %d, %d triggers", resp.StatusCode, l.triggers.Load())
	}
}

func TestSourceStatusNeverShowsCredentials(t *testing.T) {
	l := serve(t, DefaultServerOptions(), nil)
	l.d.SetSourceURL("https://ghp_urltoken@github.com/platform/catalog.git#main")
	l.d.Status.updateSource(func(s *SourceStatus) {
		s.LastError = `fetch https://robot:errsecret@github.com/platform/catalog.git branch main: authentication required`
		s.CatalogError = []string{`pave.yaml: clone https://robot:catsecret@git.example.com/x.git: denied`}
	})
	code, body, _ := get(t, l.api+"/api/v1/source", "", 2*time.Second)
	if code != 200 {
		t.Fatalf("/api/v1/source = %d %s", code, body)
	}
	for _, secret := range []string{"ghp_urltoken", "robot", "errsecret", "catsecret"} {
		if strings.Contains(body, secret) {
			t.Errorf("/api/v1/source shows %q:\n%s", secret, body)
		}
	}
	for _, want := range []string{`"url": "https://github.com/platform/catalog.git#main"`, "authentication required", "https://git.example.com/x.git: denied"} {
		if !strings.Contains(body, want) {
			t.Errorf("/api/v1/source lacks %s:\n%s", want, body)
		}
	}
}

func TestReadAPIToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got, err := ReadAPIToken(write("ok", "  "+testToken+"\n")); err != nil || string(got) != testToken {
		t.Errorf("ReadAPIToken = %q, %v", got, err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty", write("empty", "\n"), "is empty"},
		{"short", write("short", "hunter2"), "at least 16"},
		{"two words", write("words", "0123456789 abcdef"), "whitespace"},
	} {
		if _, err := ReadAPIToken(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestServerOptionsValidate(t *testing.T) {
	if err := DefaultServerOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*ServerOptions)
		want   string
	}{
		{"no read timeout", func(o *ServerOptions) { o.ReadTimeout = 0 }, "--http-read-timeout must be positive"},
		{"no header timeout", func(o *ServerOptions) { o.ReadHeaderTimeout = 0 }, "--http-read-header-timeout must be positive"},
		{"no write timeout", func(o *ServerOptions) { o.WriteTimeout = 0 }, "--http-write-timeout must be positive"},
		{"no idle timeout", func(o *ServerOptions) { o.IdleTimeout = -time.Second }, "--http-idle-timeout must be positive"},
		{"header longer than request", func(o *ServerOptions) { o.ReadHeaderTimeout = time.Minute }, "must not exceed"},
		{"tiny headers", func(o *ServerOptions) { o.MaxHeaderBytes = 100 }, "at least 4096"},
		{"no connections", func(o *ServerOptions) { o.MaxConns = 0 }, "--http-max-conns must be at least 1"},
	} {
		o := DefaultServerOptions()
		tc.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
