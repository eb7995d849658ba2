package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/reconciler"
)

// pave serve's API listener serves the dashboard at / from the daemon's
// status, next to the API; with --api-token-file both require the token.
func TestServeMountsTheDashboard(t *testing.T) {
	for _, token := range []string{"", "0123456789abcdef0123"} {
		d := reconciler.New(logr.Discard(), nil, nil, reconciler.DefaultOptions())
		d.Status.Set(reconciler.ServiceStatus{Team: "payments", Name: "checkout", Template: "web-service@1.0.0", Environments: map[string]*reconciler.EnvironmentStatus{
			"staging": {Phase: reconciler.PhaseFailed, HealthObject: "Deployment payments-staging/checkout", Health: "CrashLoopBackOff"},
		}})
		var tok []byte
		if token != "" {
			tok = []byte(token)
		}
		h, err := apiListenerHandler(logr.Discard(), d, d, nil, tok)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		fetch := func(path string, auth bool) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			switch {
			case auth && token != "" && strings.HasPrefix(path, "/api/"):
				req.Header.Set("Authorization", "Bearer "+token)
			case auth && token != "":
				req.SetBasicAuth("me", token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := fetch("/", true)
		if code != http.StatusOK || !strings.Contains(body, `<a href="/services/payments/checkout">payments/checkout</a>`) {
			t.Errorf("token %q: GET / = %d, without the service", token, code)
		}
		code, body = fetch("/services/payments/checkout", true)
		if code != http.StatusOK || !strings.Contains(body, "CrashLoopBackOff") {
			t.Errorf("token %q: the service page = %d, without why it failed", token, code)
		}
		if code, _ := fetch("/api/v1/services", true); code != http.StatusOK {
			t.Errorf("token %q: the status API = %d beside the dashboard", token, code)
		}
		if token != "" {
			if code, body := fetch("/", false); code != http.StatusUnauthorized || strings.Contains(body, "checkout") {
				t.Errorf("GET / without the token = %d, want 401 and no status", code)
			}
		}
	}
}
