package reconciler

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"golang.org/x/net/netutil"

	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/source"
)

// MinAPITokenLength is the shortest API token ReadAPIToken accepts.
const MinAPITokenLength = 16

// APIOptions configure the API listener's handler.
type APIOptions struct {
	// Webhook handles POST /hooks/git; nil leaves it unrouted.
	Webhook http.Handler
	// Token, when not empty, is the bearer token every request under
	// /api/ must carry (compared in constant time). Read and write
	// endpoints share it: they are all routed behind it.
	Token []byte
	// Operator serves the history and the write endpoints (promote,
	// rollback, suspend, resume); nil leaves them unrouted (404). The
	// write endpoints act only when Token is set too: without it they
	// answer 403 and call nothing, since anyone who reaches the
	// listener could otherwise roll back production.
	Operator Operator
}

// APIHandler serves the API listener (pave serve --listen), for people
// and forges:
//
//	GET  /api/v1/services               every service's status per environment
//	GET  /api/v1/services/{team}/{name} one service
//	GET  /api/v1/source                 the followed revision and the last fetch error
//	POST /hooks/git                     push webhooks (when o.Webhook is set)
//
// and, when o.Operator is set, the operator's endpoints (operatorRoutes):
//
//	GET  /api/v1/services/{team}/{name}/history   deployments per environment
//	POST /api/v1/services/{team}/{name}/promote   env
//	POST /api/v1/services/{team}/{name}/rollback  env, revision (optional)
//	POST /api/v1/services/{team}/{name}/suspend   env (optional: every environment)
//	POST /api/v1/services/{team}/{name}/resume    env (optional: every environment)
//	POST /api/v1/templates/{template}/promote     env
//
// Everything under /api/ requires "Authorization: Bearer <token>" when
// o.Token is set; the webhook checks its own signatures. Without o.Token
// the POST endpoints answer 403 and change nothing. Probes and
// metrics are not here but on the probe listener (ProbeHandler), so that
// load on this one never fails a liveness probe.
func (d *Daemon) APIHandler(o APIOptions) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/services", d.serveServices)
	api.HandleFunc("GET /api/v1/services/{team}/{name}", func(w http.ResponseWriter, r *http.Request) {
		svc, ok := d.Status.Service(r.PathValue("team") + "/" + r.PathValue("name"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such service"})
			return
		}
		writeJSON(w, http.StatusOK, svc)
	})
	api.HandleFunc("GET /api/v1/services/{team}/{name}/events", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("team") + "/" + r.PathValue("name")
		if _, ok := d.Status.Service(id); !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such service"})
			return
		}
		evs, err := d.Events(r.Context(), id, 50)
		body := map[string]any{"events": evs}
		if err != nil {
			body["error"] = err.Error()
		}
		writeJSON(w, http.StatusOK, body)
	})
	api.HandleFunc("GET /api/v1/rollouts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"rollouts": d.Rollouts(r.Context())})
	})
	api.HandleFunc("GET /api/v1/source", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, redactSource(d.Status.Source()))
	})
	if o.Operator != nil {
		d.operatorRoutes(api, o.Operator, len(o.Token) > 0)
	}

	mux := http.NewServeMux()
	// Every path under /api/, known or not, goes through the token check
	// first: an unauthenticated client learns nothing, not even which
	// paths exist.
	mux.Handle("/api/", requireToken(o.Token, api, d.log))
	if o.Webhook != nil {
		mux.Handle(source.WebhookPath, o.Webhook)
	}
	return mux
}

// ProbeHandler serves the probe listener (pave serve --probe-listen), for
// the kubelet and Prometheus, never behind a token:
//
//	GET  /healthz, /readyz              probes (ready once the first sync finished)
//	GET  /metrics                       Prometheus
func (d *Daemon) ProbeHandler() http.Handler {
	mux := http.NewServeMux()
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
	if d.opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// redactSource strips credentials from every URL the source status shows.
// The git source refuses URLs with credentials; this is the second line.
func redactSource(s SourceStatus) SourceStatus {
	s.URL = source.RedactURL(s.URL)
	s.LastError = source.RedactURLs(s.LastError)
	for i, e := range s.CatalogError {
		s.CatalogError[i] = source.RedactURLs(e)
	}
	return s
}

// requireToken lets a request through only with "Authorization: Bearer
// <token>"; an empty token lets everything through. Digests are compared,
// so neither the token's content nor its length leaks through timing.
// A refused write is logged (method, path, remote address; never what
// the client sent as a token).
func requireToken(token []byte, next http.Handler, log logr.Logger) http.Handler {
	if len(token) == 0 {
		return next
	}
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearerToken(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				log.Info("refused an API write without a valid bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="pave"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required (Authorization: Bearer <token>)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the credentials of a "Bearer" Authorization header
// (the scheme is case-insensitive, RFC 9110).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// ReadAPIToken reads --api-token-file, trimming surrounding whitespace. An
// empty or short token is an error: the file never made it, or the token
// is guessable.
func ReadAPIToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read API token: %w", err)
	}
	s := strings.TrimSpace(string(b))
	switch {
	case s == "":
		return nil, fmt.Errorf("API token file %s is empty", path)
	case len(s) < MinAPITokenLength:
		return nil, fmt.Errorf("API token in %s is %d characters long, want at least %d (e.g. openssl rand -hex 32)", path, len(s), MinAPITokenLength)
	case strings.ContainsAny(s, " \t\r\n"):
		return nil, fmt.Errorf("API token in %s contains whitespace", path)
	}
	return []byte(s), nil
}

// ServerOptions bound each of the daemon's HTTP listeners, so that slow or
// idle clients cannot hold connections (and file descriptors) forever.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers; a connection
	// that sends nothing is closed after it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers
	// to the end of the response.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection waiting for its next
	// request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once; further clients wait
	// in the listen backlog until one closes.
	MaxConns int
}

// DefaultServerOptions are the defaults of pave serve's --http-* flags.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxConns:          256,
	}
}

// BindFlags adds the --http-* flags, with o's values as defaults.
func (o *ServerOptions) BindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.ReadHeaderTimeout, "http-read-header-timeout", o.ReadHeaderTimeout, "bound on reading a request's headers (a connection that sends nothing is closed after it)")
	fs.DurationVar(&o.ReadTimeout, "http-read-timeout", o.ReadTimeout, "bound on reading a whole request, body included")
	fs.DurationVar(&o.WriteTimeout, "http-write-timeout", o.WriteTimeout, "bound on writing a response")
	fs.DurationVar(&o.IdleTimeout, "http-idle-timeout", o.IdleTimeout, "how long a keep-alive connection may wait for its next request")
	fs.IntVar(&o.MaxHeaderBytes, "http-max-header-bytes", o.MaxHeaderBytes, "bound on a request's headers")
	fs.IntVar(&o.MaxConns, "http-max-conns", o.MaxConns, "connections open at once on each listener; more wait until one closes")
}

// Validate refuses unbounded settings: each bound must be positive.
func (o ServerOptions) Validate() error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--http-read-header-timeout", o.ReadHeaderTimeout},
		{"--http-read-timeout", o.ReadTimeout},
		{"--http-write-timeout", o.WriteTimeout},
		{"--http-idle-timeout", o.IdleTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.flag, d.v))
		}
	}
	if o.ReadHeaderTimeout > o.ReadTimeout && o.ReadTimeout > 0 {
		errs = append(errs, fmt.Errorf("--http-read-header-timeout (%s) must not exceed --http-read-timeout (%s)", o.ReadHeaderTimeout, o.ReadTimeout))
	}
	if o.MaxHeaderBytes < 4<<10 {
		errs = append(errs, fmt.Errorf("--http-max-header-bytes must be at least 4096, got %d", o.MaxHeaderBytes))
	}
	if o.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("--http-max-conns must be at least 1, got %d", o.MaxConns))
	}
	return errors.Join(errs...)
}

// Server is one bounded HTTP listener of the daemon.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// NewServer serves h on ln within o's bounds. ln is wrapped so that at
// most o.MaxConns connections are open at once.
func NewServer(ln net.Listener, h http.Handler, o ServerOptions, log logr.Logger) *Server {
	if o.MaxConns > 0 {
		ln = netutil.LimitListener(ln, o.MaxConns)
	}
	return &Server{ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logr.ToSlogHandler(log), slog.LevelWarn),
	}}
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits, within ctx, for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// serveServices answers GET /api/v1/services: {"services": [...]}, every
// service shown, sorted by id. A dashboard or script polls it, so it
// carries an ETag (304 to an If-None-Match that still holds), and the
// answer is written one service at a time: a shard of thousands of
// services never holds a copy of them all, nor their whole JSON, per
// request.
func (d *Daemon) serveServices(w http.ResponseWriter, r *http.Request) {
	ids, tag := d.Status.Shown()
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"services":[`)
	first := true
	for _, id := range ids {
		svc, ok := d.Status.Service(id)
		if !ok {
			continue // gone since the ids were read
		}
		data, err := json.Marshal(svc)
		if err != nil {
			d.log.Error(err, "status API: encode a service", "service", id)
			continue
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		if _, err := bw.Write(data); err != nil {
			return // the client went away
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

// etagMatches: an If-None-Match header lists tag (or is "*").
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// writeJSON writes v as compact JSON: the status of 10,000 services is
// polled by dashboards and scripts, and indenting it cost the daemon as
// much as encoding it (pipe it through jq to read it).
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// maxOperatorBody bounds the JSON body of a write request: a few short
// strings.
const maxOperatorBody = 4 << 10

// operatorRequest is what a write endpoint reads, from the JSON body
// ({"env": "prod"}) or the query (?env=prod); both may be given if they
// agree.
type operatorRequest struct {
	Env      string `json:"env,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// OperatorResult is a write endpoint's answer when the operator accepted
// the request.
type OperatorResult struct {
	Verb     string `json:"verb"`
	Service  string `json:"service,omitempty"`
	Template string `json:"template,omitempty"`
	// Env is empty when the verb applies to every environment.
	Env      string `json:"env,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// ServiceHistory is the history endpoint's answer: each environment's
// deployments, newest first.
type ServiceHistory struct {
	Service      string                        `json:"service"`
	Environments map[string][]apply.Deployment `json:"environments"`
}

// operatorVerb describes one write endpoint.
type operatorVerb struct {
	verb    string
	needEnv bool // env is required (else "" means every environment)
	withRev bool // the request may carry a revision
	do      func(ctx context.Context, target string, req operatorRequest) error
}

// operatorRoutes adds the history and the write endpoints to api. With
// writable false (no API token) the write endpoints refuse with 403
// before reading the request: an open listener must not let anyone roll
// back production.
func (d *Daemon) operatorRoutes(api *http.ServeMux, op Operator, writable bool) {
	log := d.log.WithName("api")
	api.HandleFunc("GET /api/v1/services/{team}/{name}/history", func(w http.ResponseWriter, r *http.Request) {
		d.serveHistory(w, r, op)
	})
	service := func(r *http.Request) string { return r.PathValue("team") + "/" + r.PathValue("name") }
	for _, v := range []operatorVerb{
		{verb: "promote", needEnv: true, do: func(ctx context.Context, svc string, q operatorRequest) error {
			return op.Promote(ctx, svc, q.Env)
		}},
		{verb: "rollback", needEnv: true, withRev: true, do: func(ctx context.Context, svc string, q operatorRequest) error {
			return op.Rollback(ctx, svc, q.Env, q.Revision)
		}},
		{verb: "suspend", do: func(ctx context.Context, svc string, q operatorRequest) error {
			return op.Suspend(ctx, svc, q.Env)
		}},
		{verb: "resume", do: func(ctx context.Context, svc string, q operatorRequest) error {
			return op.Resume(ctx, svc, q.Env)
		}},
	} {
		api.Handle("/api/v1/services/{team}/{name}/"+v.verb, operatorHandler(log, v, writable, func(r *http.Request) (string, string) {
			return "service", service(r)
		}))
	}
	api.Handle("/api/v1/templates/{template}/promote", operatorHandler(log, operatorVerb{
		verb: "promote-template", needEnv: true,
		do: func(ctx context.Context, tmpl string, q operatorRequest) error {
			return op.PromoteTemplate(ctx, tmpl, q.Env)
		},
	}, writable, func(r *http.Request) (string, string) { return "template", r.PathValue("template") }))
}

// operatorHandler serves one write endpoint: POST only, the request read
// and checked, the operator called, the outcome logged and mapped to a
// status code.
func operatorHandler(log logr.Logger, v operatorVerb, writable bool, target func(*http.Request) (kind, name string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "%s needs POST, got %s", r.URL.Path, r.Method)
			return
		}
		kind, name := target(r)
		if !writable {
			log.Info("refused an API write: the write API is off without --api-token-file", "verb", v.verb, kind, name, "remote", r.RemoteAddr)
			writeError(w, http.StatusForbidden, "the write API is off: pave serve runs without --api-token-file")
			return
		}
		q, err := readOperatorRequest(w, r)
		if err == nil {
			err = v.check(q)
		}
		if err != nil {
			log.Info("refused an API write: bad request", "verb", v.verb, kind, name, "remote", r.RemoteAddr, "error", err.Error())
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		err = v.do(r.Context(), name, q)
		kv := []any{"verb", v.verb, kind, name, "env", q.Env, "remote", r.RemoteAddr}
		if q.Revision != "" {
			kv = append(kv, "revision", q.Revision)
		}
		if err != nil {
			code := operatorErrorCode(err)
			log.Info("operator request refused", append(kv, "status", code, "error", err.Error())...)
			writeError(w, code, "%s", source.RedactURLs(err.Error()))
			return
		}
		log.Info("operator request done", kv...)
		res := OperatorResult{Verb: v.verb, Env: q.Env, Revision: q.Revision}
		if kind == "template" {
			res.Template = name
		} else {
			res.Service = name
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// check refuses a request missing the environment the verb needs, or
// carrying a revision the verb does not take.
func (v operatorVerb) check(q operatorRequest) error {
	if v.needEnv && q.Env == "" {
		return fmt.Errorf("%s needs env (in the JSON body or ?env=)", v.verb)
	}
	if !v.withRev && q.Revision != "" {
		return fmt.Errorf("%s takes no revision", v.verb)
	}
	return nil
}

// readOperatorRequest reads env and revision from the query and the JSON
// body (bounded, unknown fields refused); a value given in both must be
// the same.
func readOperatorRequest(w http.ResponseWriter, r *http.Request) (operatorRequest, error) {
	var body operatorRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOperatorBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return body, fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return body, errors.New("body: more than one JSON value")
	}
	query := r.URL.Query()
	for k := range query {
		if k != "env" && k != "revision" {
			return body, fmt.Errorf("unknown query parameter %q (env, revision)", k)
		}
	}
	out := body
	for _, f := range []struct {
		name string
		dst  *string
	}{{"env", &out.Env}, {"revision", &out.Revision}} {
		v := query.Get(f.name)
		switch {
		case v == "":
		case *f.dst == "":
			*f.dst = v
		case *f.dst != v:
			return body, fmt.Errorf("%s is %q in the body but %q in the query", f.name, *f.dst, v)
		}
	}
	return out, nil
}

// operatorErrorCode maps the operator's errors to status codes.
func operatorErrorCode(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrNotSupported):
		return http.StatusNotImplemented
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serveHistory answers GET .../history: the deployments of the
// environment named by ?env=, or of every environment the service has a
// status in.
func (d *Daemon) serveHistory(w http.ResponseWriter, r *http.Request, op Operator) {
	id := r.PathValue("team") + "/" + r.PathValue("name")
	for k := range r.URL.Query() {
		if k != "env" {
			writeError(w, http.StatusBadRequest, "unknown query parameter %q (env)", k)
			return
		}
	}
	envs := []string{r.URL.Query().Get("env")}
	if envs[0] == "" {
		svc, ok := d.Status.Service(id)
		if !ok {
			writeError(w, http.StatusNotFound, "no such service")
			return
		}
		envs = envs[:0]
		for env := range svc.Environments {
			envs = append(envs, env)
		}
		slices.Sort(envs)
	}
	out := ServiceHistory{Service: id, Environments: map[string][]apply.Deployment{}}
	for _, env := range envs {
		h, err := op.History(r.Context(), id, env)
		if err != nil {
			writeError(w, operatorErrorCode(err), "%s", source.RedactURLs(err.Error()))
			return
		}
		if h == nil {
			h = []apply.Deployment{}
		}
		out.Environments[env] = h
	}
	writeJSON(w, http.StatusOK, out)
}

// writeError answers {"error": "..."}.
func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}
