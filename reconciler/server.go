package reconciler

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the status API, the webhook, metrics and probes:
//
//	GET  /api/v1/services               every service's status per environment
//	GET  /api/v1/services/{team}/{name} one service
//	GET  /api/v1/source                 the followed revision and the last fetch error
//	POST /hooks/git                     push webhooks (when webhook is not nil)
//	GET  /metrics                       Prometheus
//	GET  /healthz, /readyz              probes (ready once the first sync finished)
func (d *Daemon) Handler(webhook http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/services", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"services": d.Status.Services()})
	})
	mux.HandleFunc("GET /api/v1/services/{team}/{name}", func(w http.ResponseWriter, r *http.Request) {
		svc, ok := d.Status.Service(r.PathValue("team") + "/" + r.PathValue("name"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such service"})
			return
		}
		writeJSON(w, http.StatusOK, svc)
	})
	mux.HandleFunc("GET /api/v1/source", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status.Source())
	})
	if webhook != nil {
		mux.Handle("/hooks/git", webhook)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{Registry: d.Metrics.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.Ready() {
			http.Error(w, "first sync not finished", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
