package reconciler

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/notify"
)

// hookReceiver collects the events a webhook target receives, checking
// each signature.
type hookReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []notify.Event
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(notify.SignatureHeader) != notify.Sign([]byte("hmac-key"), body) {
		h.t.Errorf("unsigned notification: %s", body)
	}
	var ev notify.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("notification %s: %v", body, err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// got lists the events received as "kind env", in order.
func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		out = append(out, ev.Kind+" "+ev.Environment)
		if testing.Verbose() {
			h.t.Logf("event %+v", ev)
		}
	}
	return out
}

func (h *hookReceiver) waitFor(d *testDaemon, want ...string) {
	d.t.Helper()
	d.waitFor(time.Minute, fmt.Sprintf("notifications %v", want), func() (bool, string) {
		got := h.got()
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
}

// TestNotifications: the owning team hears of a deployment in each
// environment, a failure once however often it is retried (with the
// failing object), the halt it causes before prod, and the fix.
func TestNotifications(t *testing.T) {
	const id = "notified/api"
	const file = "services/notified/api/service.yaml"
	const img = "registry.example.com/notified/api:"
	hook := &hookReceiver{t: t}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	dir := catalogDir(t, []string{"notified"}, map[string]string{id: webService(img + "1.0.0")})
	editFile(t, dir, "pave.yaml", "    owners: [notified@example.com]\n", "    owners: [notified@example.com]\n    notify: [team-hook]\n")
	editFile(t, dir, "pave.yaml", "\nteams:\n", "\nnotifications:\n  targets:\n    - {name: team-hook, type: webhook, url: \""+srv.URL+"\", secret: team-hmac}\n\nteams:\n")
	secret := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(secret, []byte("hmac-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets, err := notify.ReadSecrets([]string{"team-hmac=" + secret})
	if err != nil {
		t.Fatal(err)
	}
	n := notify.New(logr.Discard(), notify.NewMetrics(prometheus.NewRegistry()), notify.Options{Secrets: secrets, Backoff: 10 * time.Millisecond})
	t.Cleanup(func() { n.Close(t.Context()) })
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) {
		o.Apply.WaitTimeout = 20 * time.Second
		o.Notifier = n
	})
	d.phase(time.Minute, PhaseReady, id)
	hook.waitFor(d, "deployed staging", "deployed prod")

	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.0")+unready))
	d.refetch()
	d.envPhase(2*time.Minute, id, "staging", PhaseFailed)
	d.gateIs(time.Minute, id, "prod", "halted: staging Failed: ")
	hook.waitFor(d, "deployed staging", "deployed prod", "failed staging", "halted prod")
	// Retries of the failed pair say nothing new.
	for range 3 {
		d.clock.Step(10 * time.Minute)
		time.Sleep(500 * time.Millisecond)
	}
	d.envPhase(2*time.Minute, id, "staging", PhaseFailed)
	hook.waitFor(d, "deployed staging", "deployed prod", "failed staging", "halted prod")
	hook.mu.Lock()
	failed := hook.events[2]
	hook.mu.Unlock()
	if !strings.Contains(failed.Object, "Deployment") || !strings.Contains(failed.Message, "CrashLoopBackOff") || failed.Team != "notified" || failed.Service != id {
		t.Errorf("the failure event %+v does not name the object and cause", failed)
	}

	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.1")))
	d.refetch()
	d.phase(2*time.Minute, PhaseReady, id)
	hook.waitFor(d, "deployed staging", "deployed prod", "failed staging", "halted prod", "deployed staging", "deployed prod")
}
