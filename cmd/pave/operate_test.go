package main

import (
	"context"
	"encoding/json"
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
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
)

const (
	apiToken = "0123456789abcdef-cli-test-token"
	revA     = "aaaaaaaaaaaa1111111111111111111111111111"
	revB     = "bbbbbbbbbbbb2222222222222222222222222222"
)

// opCall is one call the recording operator received.
type opCall struct{ verb, target, env, revision string }

// recordingOperator records what the API asks of it and answers err.
type recordingOperator struct {
	mu      sync.Mutex
	calls   []opCall
	err     error
	history map[string][]apply.Deployment
}

func (o *recordingOperator) record(c opCall) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
	return o.err
}

func (o *recordingOperator) Calls() []opCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

func (o *recordingOperator) Promote(_ context.Context, service, env string) error {
	return o.record(opCall{"promote", service, env, ""})
}

func (o *recordingOperator) PromoteTemplate(_ context.Context, template, env string) error {
	return o.record(opCall{"promote-template", template, env, ""})
}

func (o *recordingOperator) Rollback(_ context.Context, service, env, revision string) error {
	return o.record(opCall{"rollback", service, env, revision})
}

func (o *recordingOperator) Suspend(_ context.Context, service, env string) error {
	return o.record(opCall{"suspend", service, env, ""})
}

func (o *recordingOperator) Resume(_ context.Context, service, env string) error {
	return o.record(opCall{"resume", service, env, ""})
}

func (o *recordingOperator) History(_ context.Context, service, env string) ([]apply.Deployment, error) {
	if err := o.record(opCall{"history", service, env, ""}); err != nil {
		return nil, err
	}
	h, ok := o.history[env]
	if !ok {
		return nil, fmt.Errorf("%s has no environment %s: %w", service, env, reconciler.ErrNotFound)
	}
	return h, nil
}

// paveServer runs a daemon's real API handler with op behind token ("":
// none) and two services in its status; it returns the server's URL.
func paveServer(t *testing.T, token string, op reconciler.Operator) string {
	t.Helper()
	d := reconciler.New(logr.Discard(), nil, nil, reconciler.DefaultOptions())
	d.Status.Set(reconciler.ServiceStatus{Team: "payments", Name: "checkout", Environments: map[string]*reconciler.EnvironmentStatus{
		"staging": {Phase: reconciler.PhaseReady, AppliedRevision: revB},
		"prod":    {Phase: reconciler.PhaseFailed, AppliedRevision: revA, Health: "CrashLoopBackOff"},
	}})
	d.Status.Set(reconciler.ServiceStatus{Team: "search", Name: "indexer", Environments: map[string]*reconciler.EnvironmentStatus{
		"staging": {Phase: reconciler.PhaseProgressing, AppliedRevision: revB},
	}})
	var tok []byte
	if token != "" {
		tok = []byte(token)
	}
	srv := httptest.NewServer(d.APIHandler(reconciler.APIOptions{Token: tok, Operator: op}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// tokenFile writes token to a file and returns its path.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noServerEnv keeps the environment of whoever runs the tests out.
func noServerEnv(t *testing.T) {
	t.Setenv(envServer, "")
	t.Setenv(envTokenFile, "")
}

func TestStatusTable(t *testing.T) {
	noServerEnv(t)
	url := paveServer(t, apiToken, &recordingOperator{})
	tf := tokenFile(t, apiToken)

	code, stdout, stderr := pave(t, "status", "--server", url, "--token-file", tf)
	want := `SERVICE            ENVIRONMENT  PHASE        RUNNING       PENDING  GATE
payments/checkout  prod         Failed       aaaaaaaaaaaa  -        -
payments/checkout  staging      Ready        bbbbbbbbbbbb  -        -
search/indexer     staging      Progressing  bbbbbbbbbbbb  -        -
`
	if code != 0 || stdout != want {
		t.Errorf("pave status: exit %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}

	// One service; the server and the token from the environment.
	t.Setenv(envServer, url)
	t.Setenv(envTokenFile, tf)
	code, stdout, stderr = pave(t, "status", "search/indexer")
	want = `SERVICE         ENVIRONMENT  PHASE        RUNNING       PENDING  GATE
search/indexer  staging      Progressing  bbbbbbbbbbbb  -        -
`
	if code != 0 || stdout != want {
		t.Errorf("pave status search/indexer: exit %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}

	// -o json is what the API returned.
	for _, tc := range []struct{ args []string }{{[]string{"status", "-o", "json"}}, {[]string{"status", "payments/checkout", "-o", "json"}}} {
		path := "/api/v1/services"
		if len(tc.args) == 4 {
			path += "/" + tc.args[1]
		}
		req, _ := http.NewRequest(http.MethodGet, url+path, nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		api, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, stdout, _ := pave(t, tc.args...)
		if code != 0 || stdout != string(api) || !json.Valid([]byte(stdout)) {
			t.Errorf("%v: exit %d\n%s\nwant the API's answer:\n%s", tc.args, code, stdout, api)
		}
	}

	code, _, stderr = pave(t, "status", "payments/nope")
	if code != exitFailure || stderr != "pave: status of payments/nope: no such service\n" {
		t.Errorf("unknown service: exit %d, %q", code, stderr)
	}
}

// The status the daemon serves while promoting carries the pending
// revision, the gate, a suspension and a rollback hold per environment;
// pave status shows them.
func TestStatusShowsGatesAndHolds(t *testing.T) {
	noServerEnv(t)
	body, err := os.ReadFile("testdata/status/gates.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/services" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	code, stdout, stderr := pave(t, "status", "--server", srv.URL)
	want := `SERVICE            ENVIRONMENT  PHASE    RUNNING       PENDING       GATE
payments/checkout  prod         Ready    aaaaaaaaaaaa  bbbbbbbbbbbb  awaiting approval
payments/checkout  staging      Ready    bbbbbbbbbbbb  -             -
payments/ledger    prod         Ready    aaaaaaaaaaaa  bbbbbbbbbbbb  halted: staging Failed: CrashLoopBackOff in Deployment/ledger
payments/ledger    staging      Failed   bbbbbbbbbbbb  -             -
search/indexer     prod         Ready    aaaaaaaaaaaa  -             suspended
search/indexer     staging      Ready    aaaaaaaaaaaa  bbbbbbbbbbbb  held at aaaaaaaaaaaa
shop/cart          prod         Waiting  -             bbbbbbbbbbbb  soaking, 6m left
shop/cart          staging      Ready    bbbbbbbbbbbb  -             -
`
	if code != 0 || stdout != want {
		t.Errorf("exit %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}
}

// Each verb sends its request to the right endpoint with the right
// environment and revision, and says what it did.
func TestOperatorVerbs(t *testing.T) {
	noServerEnv(t)
	tf := tokenFile(t, apiToken)
	for _, tc := range []struct {
		args   []string
		want   opCall
		stdout string
	}{
		{[]string{"promote", "payments/checkout", "--env", "prod"}, opCall{"promote", "payments/checkout", "prod", ""},
			"approved payments/checkout for prod\n"},
		{[]string{"promote", "--template", "web-service", "--env", "prod"}, opCall{"promote-template", "web-service", "prod", ""},
			"approved the next wave of template web-service in prod\n"},
		{[]string{"rollback", "payments/checkout", "--env", "prod"}, opCall{"rollback", "payments/checkout", "prod", ""},
			"rolling back payments/checkout in prod to the last healthy revision; held there until a commit changes it or pave resume\n"},
		{[]string{"rollback", "payments/checkout", "--env", "prod", "--to", revA}, opCall{"rollback", "payments/checkout", "prod", revA},
			"rolling back payments/checkout in prod to aaaaaaaaaaaa; held there until a commit changes it or pave resume\n"},
		{[]string{"suspend", "payments/checkout"}, opCall{"suspend", "payments/checkout", "", ""},
			"suspended payments/checkout in every environment\n"},
		{[]string{"suspend", "payments/checkout", "--env", "staging"}, opCall{"suspend", "payments/checkout", "staging", ""},
			"suspended payments/checkout in staging\n"},
		{[]string{"resume", "payments/checkout"}, opCall{"resume", "payments/checkout", "", ""},
			"resumed payments/checkout in every environment\n"},
		{[]string{"resume", "payments/checkout", "--env", "prod"}, opCall{"resume", "payments/checkout", "prod", ""},
			"resumed payments/checkout in prod\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			op := &recordingOperator{}
			url := paveServer(t, apiToken, op)
			code, stdout, stderr := pave(t, append(tc.args, "--server", url, "--token-file", tf)...)
			if code != 0 || stdout != tc.stdout {
				t.Errorf("exit %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, tc.stdout, stderr)
			}
			if c := op.Calls(); len(c) != 1 || c[0] != tc.want {
				t.Errorf("calls = %v, want [%v]", c, tc.want)
			}
		})
	}
}

// A refused request ends with a message that says what to do and the
// exit code of its kind: 2 for the caller's mistakes (flags, token), 1
// for requests the server turned down, 3 when the server could not be
// reached. Nothing refused reaches the operator.
func TestOperatorVerbsRefused(t *testing.T) {
	noServerEnv(t)
	tf := tokenFile(t, apiToken)
	wrong := tokenFile(t, "0123456789abcdef-not-the-token")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name     string
		opErr    error
		token    string // the server's; "" none
		args     []string
		code     int
		stderr   string
		reaches  bool // the request reaches the operator
		noServer bool // omit --server
	}{
		{name: "wrong token", token: apiToken, args: []string{"promote", "payments/checkout", "--env", "prod", "--token-file", wrong},
			code: exitUsage, stderr: "pave: promote payments/checkout in prod: the server refused the token: check --token-file\n"},
		{name: "no token", token: apiToken, args: []string{"suspend", "payments/checkout"},
			code: exitUsage, stderr: "pave: suspend payments/checkout in every environment: the server requires a bearer token: give --token-file or set PAVE_TOKEN_FILE\n"},
		{name: "write API off", args: []string{"rollback", "payments/checkout", "--env", "prod"},
			code: exitFailure, stderr: "pave: roll back payments/checkout in prod: the write API is off: pave serve runs without --api-token-file\n"},
		{name: "unknown service", token: apiToken, opErr: fmt.Errorf("service payments/nope: %w", reconciler.ErrNotFound), args: []string{"promote", "payments/nope", "--env", "prod", "--token-file", tf},
			code: exitFailure, stderr: "pave: promote payments/nope in prod: service payments/nope: not found\n", reaches: true},
		{name: "nothing to promote", token: apiToken, opErr: fmt.Errorf("prod runs the newest revision already: %w", reconciler.ErrConflict), args: []string{"promote", "payments/checkout", "--env", "prod", "--token-file", tf},
			code: exitFailure, stderr: "pave: promote payments/checkout in prod: prod runs the newest revision already: conflict\n", reaches: true},
		{name: "no waves yet", token: apiToken, opErr: fmt.Errorf("template waves: %w", reconciler.ErrNotSupported), args: []string{"promote", "--template", "web-service", "--env", "prod", "--token-file", tf},
			code: exitFailure, stderr: "pave: promote template web-service in prod: template waves: not supported (this pave serve does not support it yet)\n", reaches: true},
		{name: "server error", token: apiToken, opErr: errors.New("write state: etcdserver: request timed out"), args: []string{"resume", "payments/checkout", "--token-file", tf},
			code: exitInternal, stderr: "pave: resume payments/checkout in every environment: the server failed (500 Internal Server Error): write state: etcdserver: request timed out\n", reaches: true},
		{name: "terminal escapes in the answer", token: apiToken, opErr: fmt.Errorf("image \x1b]8;;http://evil\a: %w", reconciler.ErrConflict), args: []string{"promote", "payments/checkout", "--env", "prod", "--token-file", tf},
			code: exitFailure, stderr: "pave: promote payments/checkout in prod: image ", reaches: true},
		{name: "connection refused", args: []string{"status", "--server", deadURL}, noServer: true,
			code: exitInternal, stderr: "pave: status of every service: cannot reach the pave server at " + deadURL + ": connection refused (is pave serve running there? check --server)\n"},
		{name: "no server", args: []string{"promote", "payments/checkout", "--env", "prod"}, noServer: true,
			code: exitUsage, stderr: "pave: no server: give --server URL or set PAVE_SERVER\nRun 'pave promote --help' for usage.\n"},
		{name: "server URL with credentials", args: []string{"status", "--server", "http://robot:secret@pave.example"}, noServer: true,
			code: exitUsage, stderr: "pave: --server http://robot:xxxxx@pave.example: the URL carries credentials; give the API token with --token-file\nRun 'pave status --help' for usage.\n"},
		{name: "short token file", token: apiToken, args: []string{"status", "--token-file", tokenFile(t, "hunter2")},
			code: exitUsage, stderr: "at least 16"},
		{name: "promote without env", token: apiToken, args: []string{"promote", "payments/checkout", "--token-file", tf},
			code: exitUsage, stderr: "pave: promote needs --env\n"},
		{name: "rollback without env", token: apiToken, args: []string{"rollback", "payments/checkout", "--token-file", tf},
			code: exitUsage, stderr: "pave: rollback needs --env\n"},
		{name: "promote service and template", token: apiToken, args: []string{"promote", "payments/checkout", "--template", "web-service", "--env", "prod", "--token-file", tf},
			code: exitUsage, stderr: "not both"},
		{name: "not TEAM/NAME", token: apiToken, args: []string{"suspend", "checkout", "--token-file", tf},
			code: exitUsage, stderr: `pave: "checkout" is not a service: want TEAM/NAME`},
		{name: "unknown format", token: apiToken, args: []string{"history", "payments/checkout", "-o", "yaml", "--token-file", tf},
			code: exitUsage, stderr: `unknown format "yaml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := &recordingOperator{err: tc.opErr}
			url := paveServer(t, tc.token, op)
			args := tc.args
			if !tc.noServer {
				args = append(args, "--server", url)
			}
			code, stdout, stderr := pave(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || stdout != "" {
				t.Errorf("exit %d, want %d\nstderr: %q\nwant:   %q\nstdout: %s", code, tc.code, stderr, tc.stderr, stdout)
			}
			if strings.ContainsAny(stderr, "\x1b\a") {
				t.Errorf("the message carries a terminal escape: %q", stderr)
			}
			if strings.Contains(stderr, "secret") || strings.Contains(stderr, apiToken) {
				t.Errorf("the message shows a credential: %s", stderr)
			}
			if c := op.Calls(); len(c) != 0 != tc.reaches {
				t.Errorf("calls = %v, want reaching the operator: %v", c, tc.reaches)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	noServerEnv(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	end := func(d time.Duration) *time.Time { e := t0.Add(d); return &e }
	op := &recordingOperator{history: map[string][]apply.Deployment{
		"staging": {
			{Revision: revB, Template: "web-service@1.3.0", Start: t0.Add(time.Hour), End: end(time.Hour + 42*time.Second), Result: apply.DeploymentFailed, Cause: "Deployment/checkout: CrashLoopBackOff\tin\ncontainer api"},
			{Revision: revA, Template: "web-service@1.2.0", Start: t0, End: end(31 * time.Second), Result: apply.DeploymentReady},
		},
		"prod": {{Revision: revA, Template: "web-service@1.2.0", Start: t0.Add(10 * time.Minute), Result: apply.DeploymentProgressing}},
	}}
	url := paveServer(t, apiToken, op)
	tf := tokenFile(t, apiToken)
	code, stdout, stderr := pave(t, "history", "payments/checkout", "--server", url, "--token-file", tf)
	want := `ENVIRONMENT  REVISION      TEMPLATE           STARTED               DURATION  RESULT       CAUSE
prod         aaaaaaaaaaaa  web-service@1.2.0  2026-11-28T10:10:00Z  -         Progressing  -
staging      bbbbbbbbbbbb  web-service@1.3.0  2026-11-28T11:00:00Z  42s       Failed       Deployment/checkout: CrashLoopBackOff in container api
staging      aaaaaaaaaaaa  web-service@1.2.0  2026-11-28T10:00:00Z  31s       Ready        -
`
	if code != 0 || stdout != want {
		t.Errorf("exit %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}

	code, stdout, _ = pave(t, "history", "payments/checkout", "--env", "prod", "-o", "json", "--server", url, "--token-file", tf)
	var h serviceHistory
	if err := json.Unmarshal([]byte(stdout), &h); code != 0 || err != nil || len(h.Environments) != 1 || h.Environments["prod"][0].Revision != revA {
		t.Errorf("-o json --env prod: exit %d, %v\n%s", code, err, stdout)
	}
	if c := op.Calls(); c[len(c)-1] != (opCall{"history", "payments/checkout", "prod", ""}) {
		t.Errorf("last call %v", c[len(c)-1])
	}
	code, _, stderr = pave(t, "history", "payments/checkout", "--env", "qa", "--server", url, "--token-file", tf)
	if code != exitFailure || stderr != "pave: history of payments/checkout in qa: payments/checkout has no environment qa: not found\n" {
		t.Errorf("unknown environment: exit %d %q", code, stderr)
	}
}

// TEAM/NAME and --env complete from the server's status when one is
// named; without one nothing is offered (and nothing reached).
func TestOperatorCompletionFromServer(t *testing.T) {
	noServerEnv(t)
	url := paveServer(t, "", &recordingOperator{})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "promote", "--server", url, ""}, []string{"payments/checkout", "search/indexer"}},
		{[]string{"__complete", "status", "--server", url, "pay"}, []string{"payments/checkout"}},
		{[]string{"__complete", "rollback", "--server", url, "payments/checkout", "--env", ""}, []string{"prod", "staging"}},
		{[]string{"__complete", "suspend", "--server", url, "search/indexer", "--env", ""}, []string{"staging"}},
		{[]string{"__complete", "history", "payments/checkout", "--env", ""}, nil},
		{[]string{"__complete", "resume", ""}, nil},
	} {
		code, stdout, stderr := pave(t, tc.args...)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if line != "" && !strings.HasPrefix(line, ":") {
				got = append(got, line)
			}
		}
		if code != 0 || !slices.Equal(got, tc.want) {
			t.Errorf("%v: exit %d, %q, want %q\n%s", tc.args, code, got, tc.want, stderr)
		}
	}
}
