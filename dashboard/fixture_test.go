package dashboard

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/source"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixtures' clock.
var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fixtureStatus is a status store as the daemon fills it.
type fixtureStatus struct {
	*reconciler.Store
	source reconciler.SourceStatus
}

func (f *fixtureStatus) Source() reconciler.SourceStatus { return f.source }

// loadFixture reads testdata/status.json into a store.
func loadFixture(t testing.TB) *fixtureStatus {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Source   reconciler.SourceStatus    `json:"source"`
		Services []reconciler.ServiceStatus `json:"services"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("testdata/status.json: %v", err)
	}
	st := &fixtureStatus{Store: reconciler.NewStore(), source: f.Source}
	for _, s := range f.Services {
		st.Set(s)
	}
	return st
}

// bigFixture is n services in two environments, spread over 20 teams,
// three templates and every phase.
func bigFixture(n int) *fixtureStatus {
	st := &fixtureStatus{Store: reconciler.NewStore(), source: reconciler.SourceStatus{
		URL: "https://github.com/example/catalog.git", Revision: "2222222222222222222222222222222222222222",
		Environments: []string{"staging", "prod"},
	}}
	tmpls := []string{"web-service@1.2.0", "worker@0.3.0", "cron-job@2.0.1"}
	for i := range n {
		team := fmt.Sprintf("team%02d", i%20)
		name := fmt.Sprintf("svc%04d", i)
		envs := map[string]*reconciler.EnvironmentStatus{}
		for j, env := range []string{"staging", "prod"} {
			ph := reconciler.Phases[(i+j)%len(reconciler.Phases)]
			e := &reconciler.EnvironmentStatus{Phase: ph, Cluster: env, Namespace: team + "-" + env,
				AppliedRevision: fmt.Sprintf("%016x%024x", uint64(i*2+j+1)*0x9e3779b97f4a7c15, 0)}
			if ph == reconciler.PhaseWaiting {
				e.PendingRevision = "2222222222222222222222222222222222222222"
				e.Gate = "soak: staging Ready for 10m of 30m"
			}
			if ph == reconciler.PhaseFailed {
				e.HealthObject, e.Health = "Deployment "+team+"-"+env+"/"+name, "CrashLoopBackOff"
			}
			envs[env] = e
		}
		st.Set(reconciler.ServiceStatus{Team: team, Name: name, Template: tmpls[i%len(tmpls)], Environments: envs})
	}
	return st
}

// commits answers Commit for the fixture's two revisions.
func commits(_ context.Context, id string) (*source.Revision, error) {
	switch id {
	case "2222222222222222222222222222222222222222":
		return &source.Revision{ID: id, Message: "payments: raise replicas <b>now</b>", Author: "Dev <dev@example.com>", Time: now.Add(-2 * time.Hour)}, nil
	case "1111111111111111111111111111111111111111":
		return &source.Revision{ID: id, Message: "first", Author: "Dev <dev@example.com>", Time: now.Add(-48 * time.Hour)}, nil
	}
	return nil, fmt.Errorf("revision %s is not in the clone", id)
}

func history(_ context.Context, service, env string) ([]apply.Deployment, error) {
	end := now.Add(-time.Hour)
	return []apply.Deployment{
		{Revision: "1111111111111111111111111111111111111111", Template: "web-service@1.2.0", Start: now.Add(-2 * time.Hour), End: &end, Result: apply.DeploymentReady},
	}, nil
}

func newTestDashboard(t testing.TB, st Status, mod func(*Options)) http.Handler {
	t.Helper()
	o := Options{Status: st, Commit: commits, History: history, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&o)
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d.Handler()
}

func get(t testing.TB, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from what the page renders now (go test -update rewrites it); got:\n%s", path, got)
	}
}
