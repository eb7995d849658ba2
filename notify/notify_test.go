package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/forge/forgetest"
)

// receiver is a webhook endpoint that records what it receives and
// answers with the statuses it is given, one per request (then 200).
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	statuses []int
	block    chan struct{}
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.block != nil {
			<-r.block
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.headers = append(r.headers, req.Header.Clone())
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func config(t *testing.T, yaml string) *catalog.Config {
	t.Helper()
	cfg, errs := catalog.ParseConfig("pave.yaml", []byte("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments:\n  - {name: staging, cluster: staging}\n  - {name: prod, cluster: prod}\n"+yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return cfg
}

func newNotifier(t *testing.T, secrets map[string]string) (*Notifier, *Metrics) {
	m := NewMetrics(prometheus.NewRegistry())
	s := map[string][]byte{}
	for k, v := range secrets {
		s[k] = []byte(v)
	}
	n := New(logr.Discard(), m, Options{Secrets: s, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Attempts: 6, QueueSize: 4, DashboardURL: "https://pave.example.com/"})
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, m
}

func failed(team, env, object string) Event {
	return Event{Kind: catalog.EventFailed, Team: team, Service: team + "/checkout", Environment: env, Revision: "0123456789abcdef0123456789abcdef01234567",
		Object: object, Message: object + ": CrashLoopBackOff", Key: "0123456789abcdef0123456789abcdef01234567 " + object}
}

// TestWebhookSignedOnceAndRetried: the body is the event as JSON, signed
// with the target's secret; the same failure sent again (a retry of the
// reconcile) is one message; a 503 is retried, a 400 is not.
func TestWebhookSignedOnceAndRetried(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	n, m := newNotifier(t, map[string]string{"hmac": "s3cret"})
	n.Configure(config(t, "teams:\n  - {name: payments, owners: [a@example.com], notify: [hook]}\nnotifications:\n  targets:\n    - {name: hook, type: webhook, url: \""+rcv.srv.URL+"\", secret: hmac}\n"))
	ev := failed("payments", "prod", "Deployment/payments-prod/checkout")
	n.Notify(ev)
	ev.Message += " (again, another pod)"
	n.Notify(ev)
	waitUntil(t, "delivered after a 503", func() bool { return testutil.ToFloat64(m.Notifications.WithLabelValues("hook", "failed", "sent")) == 1 })
	if got := rcv.count(); got != 2 {
		t.Fatalf("%d requests, want 2 (a 503, then the retry)", got)
	}
	rcv.mu.Lock()
	body, hdr := rcv.bodies[1], rcv.headers[1]
	rcv.mu.Unlock()
	if hdr.Get(SignatureHeader) != Sign([]byte("s3cret"), body) {
		t.Errorf("signature %q does not sign the body", hdr.Get(SignatureHeader))
	}
	var got Event
	if err := json.Unmarshal(body, &got); err != nil || got.Service != "payments/checkout" || got.Environment != "prod" || got.Object != "Deployment/payments-prod/checkout" || got.Kind != "failed" {
		t.Errorf("body %s (%v)", body, err)
	}

	// A recovery, then the same failure again: news again.
	n.Notify(Event{Kind: catalog.EventDeployed, Team: "payments", Service: "payments/checkout", Environment: "prod", Revision: "r2"})
	n.Notify(failed("payments", "prod", "Deployment/payments-prod/checkout"))
	waitUntil(t, "deployed and failed again", func() bool { return rcv.count() == 4 })

	// Refused: not retried.
	rcv.mu.Lock()
	rcv.statuses = []int{http.StatusBadRequest}
	rcv.mu.Unlock()
	n.Notify(failed("payments", "staging", "Deployment/payments-staging/checkout"))
	waitUntil(t, "refused", func() bool {
		return testutil.ToFloat64(m.Notifications.WithLabelValues("hook", "failed", "failed")) == 1
	})
	time.Sleep(50 * time.Millisecond)
	if got := rcv.count(); got != 5 {
		t.Errorf("%d requests, want 5: a 400 is not retried", got)
	}
}

// TestDownTargetNeverBlocks: with a target that does not answer, Notify
// returns at once; what does not fit its queue is dropped and counted.
func TestDownTargetNeverBlocks(t *testing.T) {
	rcv := newReceiver(t)
	rcv.block = make(chan struct{})
	defer close(rcv.block)
	n, m := newNotifier(t, map[string]string{"hmac": "k"})
	n.Configure(config(t, "teams:\n  - {name: payments, owners: [a@example.com]}\nnotifications:\n  default: [hook]\n  targets:\n    - {name: hook, type: webhook, url: \""+rcv.srv.URL+"\", secret: hmac}\n"))
	start := time.Now()
	for i := range 50 {
		n.Notify(failed("payments", "prod", "Deployment/payments-prod/s"+strings.Repeat("x", i)))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("50 notifications to a hung target took %s", took)
	}
	if dropped := testutil.ToFloat64(m.Notifications.WithLabelValues("hook", "failed", "dropped")); dropped < 40 {
		t.Errorf("%v dropped, want the ones past the queue (4) and the one in flight", dropped)
	}
}

// TestRoutingAndFilters: a team's events go to pave.yaml's default
// targets and its own, filtered by each target's events; a target whose
// secret was not given is counted as unavailable.
func TestRoutingAndFilters(t *testing.T) {
	platform, payments := newReceiver(t), newReceiver(t)
	n, m := newNotifier(t, map[string]string{"p": "k", "q": "k"})
	n.Configure(config(t, `teams:
  - {name: payments, owners: [a@example.com], notify: [payments-hook, nosecret]}
  - {name: data, owners: [d@example.com]}
notifications:
  default: [platform]
  targets:
    - {name: platform, type: webhook, url: "`+platform.srv.URL+`", secret: p, events: [failed, halted]}
    - {name: payments-hook, type: webhook, url: "`+payments.srv.URL+`", secret: q}
    - {name: nosecret, type: webhook, url: "https://hooks.example.com/", secret: missing}
`))
	n.Notify(Event{Kind: catalog.EventDeployed, Team: "payments", Service: "payments/checkout", Environment: "prod", Revision: "r1"})
	n.Notify(failed("data", "prod", "Deployment/data-prod/etl"))
	waitUntil(t, "routed", func() bool { return platform.count() == 1 && payments.count() == 1 })
	if testutil.ToFloat64(m.Notifications.WithLabelValues("nosecret", "deployed", "unavailable")) != 1 {
		t.Error("a target without its secret: not counted unavailable")
	}
	var got Event
	platform.mu.Lock()
	_ = json.Unmarshal(platform.bodies[0], &got)
	platform.mu.Unlock()
	if got.Team != "data" || got.Kind != "failed" {
		t.Errorf("the platform target got %+v, want only data's failure (it takes failed and halted)", got)
	}
}

// TestSlackEscapesHostileText: a service or cause with Slack markup is
// shown as text, never as a mention or a link.
func TestSlackEscapesHostileText(t *testing.T) {
	rcv := newReceiver(t)
	n, _ := newNotifier(t, map[string]string{"slack": rcv.srv.URL + "/services/T0/B0/XXXX\n"})
	n.Configure(config(t, "teams:\n  - {name: payments, owners: [a@example.com], notify: [chat]}\nnotifications:\n  targets:\n    - {name: chat, type: slack, secret: slack}\n"))
	n.Notify(Event{Kind: catalog.EventPolicyDenied, Team: "payments", Service: "payments/checkout", Environment: "prod", Message: "<!channel> <https://evil.example|click> & more"})
	waitUntil(t, "posted", func() bool { return rcv.count() == 1 })
	var body struct{ Text string }
	rcv.mu.Lock()
	_ = json.Unmarshal(rcv.bodies[0], &body)
	rcv.mu.Unlock()
	if strings.Contains(body.Text, "<!channel>") || strings.Contains(body.Text, "<https://evil") || !strings.Contains(body.Text, "&lt;!channel&gt;") {
		t.Errorf("text %q lets markup through", body.Text)
	}
	if !strings.Contains(body.Text, "<https://pave.example.com/services/payments/checkout|details>") {
		t.Errorf("text %q has no link to the dashboard", body.Text)
	}
}

// TestCommitStatuses: GitHub and GitLab targets set a status per service
// and environment on the revision's commit: success for a deployment,
// failure with the cause; events that are not a commit's outcome, and
// folder revisions, set none.
func TestCommitStatuses(t *testing.T) {
	gh := forgetest.NewGitHub(t, "acme", "catalog", "gh-token")
	gl := forgetest.NewGitLab(t, "acme/catalog", "gl-token")
	n, m := newNotifier(t, map[string]string{"gh": "gh-token\n", "gl": "gl-token"})
	n.Configure(config(t, `teams:
  - {name: payments, owners: [a@example.com]}
notifications:
  default: [github, gitlab]
  targets:
    - {name: github, type: github, repository: acme/catalog, url: "`+gh.URL()+`", secret: gh}
    - {name: gitlab, type: gitlab, repository: acme/catalog, url: "`+gl.URL()+`", secret: gl}
`))
	n.Notify(failed("payments", "prod", "Deployment/payments-prod/checkout"))
	n.Notify(Event{Kind: catalog.EventDriftCorrected, Team: "payments", Service: "payments/checkout", Environment: "prod", Revision: "0123456789abcdef0123456789abcdef01234567", Message: "spec.replicas"})
	n.Notify(Event{Kind: catalog.EventDeployed, Team: "payments", Service: "payments/checkout", Environment: "staging", Revision: "dir:sha256:abc"})
	waitUntil(t, "statuses", func() bool {
		return testutil.ToFloat64(m.Notifications.WithLabelValues("github", "driftCorrected", "sent"))+testutil.ToFloat64(m.Notifications.WithLabelValues("gitlab", "deployed", "sent")) == 2 &&
			len(gh.Statuses()) == 1 && len(gl.Statuses()) == 1
	})
	s := gh.Statuses()[0]
	if s.State != "failure" || s.Context != "pave: payments/checkout (prod)" || !strings.Contains(s.Description, "CrashLoopBackOff") || s.TargetURL == "" {
		t.Errorf("GitHub status %+v", s)
	}
	if s := gl.Statuses()[0]; s.State != "failed" || s.Context != "pave: payments/checkout (prod)" {
		t.Errorf("GitLab status %+v", s)
	}
}

// TestNothingLostWhenTheReceiverComesBack: events sent while the receiver
// answers 500 all arrive, in order, once it is back.
func TestNothingLostWhenTheReceiverComesBack(t *testing.T) {
	rcv := newReceiver(t, 500, 500, 500, 500)
	n, m := newNotifier(t, map[string]string{"hmac": "k"})
	n.Configure(config(t, "teams:\n  - {name: payments, owners: [a@example.com], notify: [hook]}\nnotifications:\n  targets:\n    - {name: hook, type: webhook, url: \""+rcv.srv.URL+"\", secret: hmac}\n"))
	for _, env := range []string{"staging", "prod"} {
		n.Notify(Event{Kind: catalog.EventDeployed, Team: "payments", Service: "payments/checkout", Environment: env, Revision: "r1"})
	}
	waitUntil(t, "both delivered", func() bool {
		return testutil.ToFloat64(m.Notifications.WithLabelValues("hook", "deployed", "sent")) == 2
	})
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var envs []string
	for _, b := range rcv.bodies[4:] {
		var ev Event
		_ = json.Unmarshal(b, &ev)
		envs = append(envs, ev.Environment)
	}
	if strings.Join(envs, ",") != "staging,prod" || testutil.ToFloat64(m.Notifications.WithLabelValues("hook", "deployed", "failed")) != 0 {
		t.Errorf("delivered %v after four 500s, want staging then prod, nothing failed", envs)
	}
}
