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
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"encoding/json"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/pave-dev/pave/reconciler/apply"
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
	for _, want := range []string{`"url":"https://github.com/platform/catalog.git#main"`, "authentication required", "https://git.example.com/x.git: denied"} {
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

// call is one call the recording operator received.
type call struct{ verb, target, env, revision string }

// recordingOperator records what the write API asks of it and answers
// err (nil: accepted) and history.
type recordingOperator struct {
	mu      sync.Mutex
	calls   []call
	err     error
	history map[string][]apply.Deployment // by environment
}

func (o *recordingOperator) record(c call) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
	return o.err
}

func (o *recordingOperator) Calls() []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

func (o *recordingOperator) Promote(_ context.Context, service, env string) error {
	return o.record(call{"promote", service, env, ""})
}

func (o *recordingOperator) PromoteTemplate(_ context.Context, template, env string) error {
	return o.record(call{"promote-template", template, env, ""})
}

func (o *recordingOperator) Rollback(_ context.Context, service, env, revision string) error {
	return o.record(call{"rollback", service, env, revision})
}

func (o *recordingOperator) Suspend(_ context.Context, service, env string) error {
	return o.record(call{"suspend", service, env, ""})
}

func (o *recordingOperator) Resume(_ context.Context, service, env string) error {
	return o.record(call{"resume", service, env, ""})
}

func (o *recordingOperator) History(_ context.Context, service, env string) ([]apply.Deployment, error) {
	if err := o.record(call{"history", service, env, ""}); err != nil {
		return nil, err
	}
	h, ok := o.history[env]
	if !ok {
		return nil, fmt.Errorf("environment %s: %w", env, ErrNotFound)
	}
	return h, nil
}

// operatorAPI serves a daemon's API with op behind token, logging into
// the returned buffer.
func operatorAPI(t *testing.T, token []byte, op Operator) (string, *Daemon, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := funcr.New(func(prefix, args string) { logs.WriteString(prefix + " " + args + "\n") }, funcr.Options{})
	d := New(log, nil, nil, DefaultOptions())
	srv := httptest.NewServer(d.APIHandler(APIOptions{Token: token, Operator: op}))
	t.Cleanup(srv.Close)
	return srv.URL, d, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// do sends one request and returns the status code and body.
func do(t *testing.T, method, url, auth, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// writeEndpoints is one valid request to every write endpoint.
var writeEndpoints = []struct{ path, body string }{
	{"/api/v1/services/payments/checkout/promote", `{"env":"prod"}`},
	{"/api/v1/services/payments/checkout/rollback", `{"env":"prod","revision":"abc123"}`},
	{"/api/v1/services/payments/checkout/suspend", `{"env":"prod"}`},
	{"/api/v1/services/payments/checkout/resume", ``},
	{"/api/v1/templates/web-service/promote", `{"env":"prod"}`},
}

// A write without the bearer token, or with a wrong one, is refused with
// 401 and never reaches the operator; the refusal is logged without what
// the client sent.
func TestOperatorAPIRefusesMissingOrWrongToken(t *testing.T) {
	op := &recordingOperator{}
	url, _, logs := operatorAPI(t, []byte(testToken), op)
	wrong := "0123456789abcdef-not-the-token!!"
	for _, ep := range writeEndpoints {
		for _, auth := range []string{"", "Bearer " + wrong, "Basic " + testToken, "Bearer " + testToken + "x"} {
			code, body, h := do(t, http.MethodPost, url+ep.path, auth, ep.body)
			if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
				t.Errorf("POST %s with %q = %d %s, want 401", ep.path, auth, code, body)
			}
		}
	}
	if c := op.Calls(); len(c) != 0 {
		t.Fatalf("the operator was called without a valid token: %v", c)
	}
	if n := strings.Count(logs.String(), "refused an API write without a valid bearer token"); n != 4*len(writeEndpoints) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, 4*len(writeEndpoints), logs)
	}
	if strings.Contains(logs.String(), wrong) || strings.Contains(logs.String(), testToken) {
		t.Errorf("the log shows a token:\n%s", logs)
	}
	// The same requests with the token go through.
	for _, ep := range writeEndpoints {
		if code, body, _ := do(t, http.MethodPost, url+ep.path, "Bearer "+testToken, ep.body); code != http.StatusOK {
			t.Errorf("POST %s with the token = %d %s", ep.path, code, body)
		}
	}
	if c := op.Calls(); len(c) != len(writeEndpoints) {
		t.Errorf("calls with the token: %v", c)
	}
}

// Without --api-token-file the write endpoints answer 403 and call
// nothing, even though the reads (history included) are open; without an
// operator they do not exist.
func TestOperatorAPIOffWithoutToken(t *testing.T) {
	op := &recordingOperator{history: map[string][]apply.Deployment{"prod": {{Revision: "abc"}}}}
	url, _, logs := operatorAPI(t, nil, op)
	for _, ep := range writeEndpoints {
		code, body, _ := do(t, http.MethodPost, url+ep.path, "", ep.body)
		if code != http.StatusForbidden || !strings.Contains(body, `"error":"the write API is off: pave serve runs without --api-token-file"`) {
			t.Errorf("POST %s without a configured token = %d %s, want 403", ep.path, code, body)
		}
	}
	if c := op.Calls(); len(c) != 0 {
		t.Fatalf("the operator was called with the write API off: %v", c)
	}
	if !strings.Contains(logs.String(), "the write API is off") {
		t.Errorf("refusals not logged:\n%s", logs)
	}
	if code, body, _ := do(t, http.MethodGet, url+"/api/v1/services/payments/checkout/history?env=prod", "", ""); code != http.StatusOK {
		t.Errorf("history without a configured token = %d %s", code, body)
	}

	none, _, _ := operatorAPI(t, []byte(testToken), nil)
	for _, ep := range append(writeEndpoints, struct{ path, body string }{"/api/v1/services/payments/checkout/history", ""}) {
		if code, body, _ := do(t, http.MethodPost, none+ep.path, "Bearer "+testToken, ep.body); code != http.StatusNotFound {
			t.Errorf("POST %s without an operator = %d %s, want 404", ep.path, code, body)
		}
	}
}

// Each verb reaches the operator with the service (or template), the
// environment and the revision of the request, from the JSON body or the
// query; malformed requests are refused with 400 before the operator.
func TestOperatorAPIRoutes(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		want             call   // zero: not called
		code             int    // 0: 200
		errorHas         string // in the 4xx body
	}{
		{"promote", "/api/v1/services/payments/checkout/promote", `{"env":"prod"}`, call{"promote", "payments/checkout", "prod", ""}, 0, ""},
		{"promote, env in the query", "/api/v1/services/payments/checkout/promote?env=prod", ``, call{"promote", "payments/checkout", "prod", ""}, 0, ""},
		{"promote, env in both", "/api/v1/services/payments/checkout/promote?env=prod", `{"env":"prod"}`, call{"promote", "payments/checkout", "prod", ""}, 0, ""},
		{"promote without env", "/api/v1/services/payments/checkout/promote", `{}`, call{}, 400, "promote needs env"},
		{"promote with a revision", "/api/v1/services/payments/checkout/promote", `{"env":"prod","revision":"abc"}`, call{}, 400, "promote takes no revision"},
		{"env differs between body and query", "/api/v1/services/payments/checkout/promote?env=staging", `{"env":"prod"}`, call{}, 400, `env is "prod" in the body but "staging" in the query`},
		{"unknown body field", "/api/v1/services/payments/checkout/promote", `{"env":"prod","force":true}`, call{}, 400, `unknown field "force"`},
		{"unknown query parameter", "/api/v1/services/payments/checkout/promote?env=prod&force=1", ``, call{}, 400, `unknown query parameter "force"`},
		{"body not JSON", "/api/v1/services/payments/checkout/promote", `env=prod`, call{}, 400, "body:"},
		{"two JSON values", "/api/v1/services/payments/checkout/promote", `{"env":"prod"} {"env":"staging"}`, call{}, 400, "more than one JSON value"},
		{"body too large", "/api/v1/services/payments/checkout/promote", `{"env":"` + strings.Repeat("p", maxOperatorBody) + `"}`, call{}, 400, "too large"},
		{"rollback to the last healthy revision", "/api/v1/services/payments/checkout/rollback", `{"env":"prod"}`, call{"rollback", "payments/checkout", "prod", ""}, 0, ""},
		{"rollback to a revision", "/api/v1/services/payments/checkout/rollback?env=prod&revision=0123abcd", ``, call{"rollback", "payments/checkout", "prod", "0123abcd"}, 0, ""},
		{"rollback without env", "/api/v1/services/payments/checkout/rollback", `{"revision":"0123abcd"}`, call{}, 400, "rollback needs env"},
		{"suspend one environment", "/api/v1/services/payments/checkout/suspend", `{"env":"staging"}`, call{"suspend", "payments/checkout", "staging", ""}, 0, ""},
		{"suspend every environment", "/api/v1/services/payments/checkout/suspend", ``, call{"suspend", "payments/checkout", "", ""}, 0, ""},
		{"resume one environment", "/api/v1/services/payments/checkout/resume?env=prod", ``, call{"resume", "payments/checkout", "prod", ""}, 0, ""},
		{"resume every environment", "/api/v1/services/payments/checkout/resume", `{}`, call{"resume", "payments/checkout", "", ""}, 0, ""},
		{"resume with a revision", "/api/v1/services/payments/checkout/resume", `{"revision":"abc"}`, call{}, 400, "resume takes no revision"},
		{"promote a template wave", "/api/v1/templates/web-service/promote", `{"env":"prod"}`, call{"promote-template", "web-service", "prod", ""}, 0, ""},
		{"promote a template wave without env", "/api/v1/templates/web-service/promote", ``, call{}, 400, "promote-template needs env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := &recordingOperator{}
			url, _, logs := operatorAPI(t, []byte(testToken), op)
			code, body, _ := do(t, http.MethodPost, url+tc.path, "Bearer "+testToken, tc.body)
			want := tc.code
			if want == 0 {
				want = http.StatusOK
			}
			if code != want {
				t.Fatalf("POST %s %s = %d %s, want %d", tc.path, tc.body, code, body, want)
			}
			calls := op.Calls()
			if tc.want == (call{}) {
				if len(calls) != 0 {
					t.Errorf("the operator was called: %v", calls)
				}
				var e map[string]string
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e["error"], tc.errorHas) {
					t.Errorf("error body %s (%v), want %q in {\"error\": ...}", body, err, tc.errorHas)
				}
				return
			}
			if len(calls) != 1 || calls[0] != tc.want {
				t.Fatalf("calls = %v, want [%v]", calls, tc.want)
			}
			var res OperatorResult
			if err := json.Unmarshal([]byte(body), &res); err != nil || res.Verb != tc.want.verb || res.Env != tc.want.env || res.Revision != tc.want.revision || res.Service+res.Template != tc.want.target {
				t.Errorf("answer %s (%v), want %v", body, err, tc.want)
			}
			// Every write is logged with its verb, target, environment
			// and the client's address, never the token.
			line := logs.String()
			for _, want := range []string{`"msg"="operator request done"`, `"verb"="` + tc.want.verb + `"`, `"` + tc.want.target + `"`, `"env"="` + tc.want.env + `"`, `"remote"="127.0.0.1:`} {
				if !strings.Contains(line, want) {
					t.Errorf("log lacks %s:\n%s", want, line)
				}
			}
			if strings.Contains(line, testToken) {
				t.Errorf("the log shows the token:\n%s", line)
			}
		})
	}
}

// The operator's errors become 404, 409, 501 (else 500) with
// {"error": "..."}, and are logged.
func TestOperatorAPIErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("service payments/nope: %w", ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("prod has no revision awaiting approval: %w", ErrConflict), http.StatusConflict},
		{fmt.Errorf("template waves: %w", ErrNotSupported), http.StatusNotImplemented},
		{errors.New("write the inventory: etcdserver: request timed out"), http.StatusInternalServerError},
		{fmt.Errorf("clone https://robot:hunter22@git.example.com/c.git: %w", ErrConflict), http.StatusConflict},
	} {
		op := &recordingOperator{err: tc.err}
		url, _, logs := operatorAPI(t, []byte(testToken), op)
		for _, ep := range writeEndpoints {
			code, body, _ := do(t, http.MethodPost, url+ep.path, "Bearer "+testToken, ep.body)
			var e struct{ Error string }
			if code != tc.code || json.Unmarshal([]byte(body), &e) != nil || e.Error != source.RedactURLs(tc.err.Error()) {
				t.Errorf("POST %s with the operator failing %q = %d %s, want %d", ep.path, tc.err, code, body, tc.code)
			}
			if strings.Contains(body, "hunter22") {
				t.Errorf("the answer shows a credential: %s", body)
			}
		}
		if !strings.Contains(logs.String(), `"msg"="operator request refused"`) || !strings.Contains(logs.String(), fmt.Sprintf(`"status"=%d`, tc.code)) {
			t.Errorf("refusal not logged:\n%s", logs)
		}
	}
}

// Only POST changes anything; other methods get 405 and an Allow header.
func TestOperatorAPIMethodNotAllowed(t *testing.T) {
	op := &recordingOperator{}
	url, _, _ := operatorAPI(t, []byte(testToken), op)
	for _, ep := range writeEndpoints {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			code, body, h := do(t, m, url+ep.path+"?env=prod", "Bearer "+testToken, "")
			if code != http.StatusMethodNotAllowed || h.Get("Allow") != http.MethodPost || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s = %d %v %s, want 405 with Allow: POST", m, ep.path, code, h.Get("Allow"), body)
			}
		}
	}
	if code, _, _ := do(t, http.MethodPost, url+"/api/v1/services/payments/checkout/history", "Bearer "+testToken, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST history = %d, want 405", code)
	}
	if c := op.Calls(); len(c) != 0 {
		t.Errorf("the operator was called: %v", c)
	}
}

// History answers one environment (?env=) or every environment the
// service has a status in, newest first as the operator gives them.
func TestOperatorAPIHistory(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	op := &recordingOperator{history: map[string][]apply.Deployment{
		"staging": {{Revision: "bbb", Start: t0.Add(time.Hour)}, {Revision: "aaa", Start: t0}},
		"prod":    {{Revision: "aaa", Start: t0.Add(2 * time.Hour)}},
	}}
	url, d, _ := operatorAPI(t, []byte(testToken), op)
	for _, env := range []string{"staging", "prod"} {
		d.Status.update("payments", "checkout", env, func(*ServiceStatus, *EnvironmentStatus) {})
	}
	auth := "Bearer " + testToken
	get := func(path string) (int, ServiceHistory, string) {
		code, body, _ := do(t, http.MethodGet, url+path, auth, "")
		var h ServiceHistory
		if code == 200 {
			if err := json.Unmarshal([]byte(body), &h); err != nil {
				t.Fatalf("%s: %v\n%s", path, err, body)
			}
		}
		return code, h, body
	}
	code, h, body := get("/api/v1/services/payments/checkout/history")
	if code != 200 || h.Service != "payments/checkout" || len(h.Environments) != 2 ||
		len(h.Environments["staging"]) != 2 || h.Environments["staging"][0].Revision != "bbb" || h.Environments["prod"][0].Revision != "aaa" {
		t.Errorf("every environment: %d %s", code, body)
	}
	code, h, body = get("/api/v1/services/payments/checkout/history?env=prod")
	if code != 200 || len(h.Environments) != 1 || len(h.Environments["prod"]) != 1 {
		t.Errorf("?env=prod: %d %s", code, body)
	}
	if code, _, body := get("/api/v1/services/payments/checkout/history?env=qa"); code != 404 || !strings.Contains(body, "environment qa: not found") {
		t.Errorf("unknown environment: %d %s", code, body)
	}
	if code, _, body := get("/api/v1/services/payments/nope/history"); code != 404 {
		t.Errorf("unknown service: %d %s", code, body)
	}
	if code, _, body := get("/api/v1/services/payments/checkout/history?limit=3"); code != 400 {
		t.Errorf("unknown parameter: %d %s", code, body)
	}
	if code, _, _ := do(t, http.MethodGet, url+"/api/v1/services/payments/checkout/history", "", ""); code != 401 {
		t.Errorf("history without the token = %d, want 401", code)
	}
}

// TestServicesAPIIsTaggedAndStreamed: GET /api/v1/services answers the
// status of every service shown, sorted, as Services does; with the ETag
// it gave, a poll that finds nothing changed gets 304 and no body; a
// change to a service, or to the share shown, gives a new answer.
func TestServicesAPIIsTaggedAndStreamed(t *testing.T) {
	l := serve(t, ServerOptions{}, nil)
	for i := range 300 {
		l.d.Status.Set(ServiceStatus{Team: fmt.Sprintf("team%d", i%7), Name: fmt.Sprintf("svc%03d", i),
			Environments: map[string]*EnvironmentStatus{"staging": {Phase: PhaseReady, Errors: []string{`<"quoted">`}}, "prod": {Phase: PhasePending}}})
	}
	fetch := func(tag string) (int, []byte, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, l.api+"/api/v1/services", nil)
		if tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body, resp.Header.Get("ETag")
	}
	same := func(body []byte) {
		t.Helper()
		want, _ := json.Marshal(map[string]any{"services": l.d.Status.Services()})
		if got := strings.TrimSpace(string(body)); got != string(want) {
			t.Fatalf("answer differs from the store's services:\n got %.300s\nwant %.300s", got, want)
		}
	}

	code, body, tag := fetch("")
	if code != 200 || tag == "" {
		t.Fatalf("first poll: %d, ETag %q", code, tag)
	}
	same(body)
	if code, body, again := fetch(tag); code != http.StatusNotModified || len(body) != 0 || again != tag {
		t.Fatalf("poll with a tag that holds: %d, %d bytes, ETag %q (want 304, none, %q)", code, len(body), again, tag)
	}

	l.d.Status.update("team3", "svc003", "prod", func(_ *ServiceStatus, e *EnvironmentStatus) { e.Phase = PhaseReady })
	code, body, changed := fetch(tag)
	if code != 200 || changed == tag {
		t.Fatalf("poll after a service changed: %d, ETag %q (was %q)", code, changed, tag)
	}
	same(body)

	l.d.Status.Only(func(id string) bool { return strings.HasPrefix(id, "team1/") })
	code, body, share := fetch(changed)
	if code != 200 || share == changed {
		t.Fatalf("poll after the share changed: %d, ETag %q (was %q)", code, share, changed)
	}
	same(body)
	var got struct{ Services []ServiceStatus }
	if err := json.Unmarshal(body, &got); err != nil || len(got.Services) == 0 {
		t.Fatalf("share's answer: %v, %d services", err, len(got.Services))
	}
	for _, s := range got.Services {
		if s.Team != "team1" {
			t.Fatalf("a service outside the share is shown: %s", s.Service)
		}
	}
}
