// Package dashboard is pave serve's web dashboard at /: a golden-path view
// of the catalog (services × environments, a service, the templates, the
// teams and DORA), rendered on the server with html/template from the
// daemon's status, with files embedded in the binary. The pages load
// nothing from elsewhere (a Content-Security-Policy forbids it); a small
// script filters the services grid and polls for live updates.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/source"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Status is the daemon's status store (reconciler.Store).
type Status interface {
	Services() []reconciler.ServiceStatus
	Service(id string) (reconciler.ServiceStatus, bool)
	Source() reconciler.SourceStatus
}

// Options are what the dashboard reads. Only Status is required.
type Options struct {
	Status Status
	// Catalog is the newest accepted catalog (Daemon.Catalog): templates,
	// teams, exceptions, observability links.
	Catalog func() *catalog.Catalog
	// Commit reads a revision's commit (Daemon.Commit).
	Commit func(ctx context.Context, id string) (*source.Revision, error)
	// History is a pair's deployments, newest first (Daemon.History).
	History func(ctx context.Context, service, env string) ([]apply.Deployment, error)
	// Events are a service's recent Kubernetes Events, newest first
	// (Daemon.Events).
	Events func(ctx context.Context, service string, limit int) ([]reconciler.EventRecord, error)
	// DORA reports DORA over a window of days (Daemon.DORA).
	DORA func(window time.Duration) reconciler.DORAReport
	// Token, when set, is required as the password of HTTP Basic
	// authentication (any user name) or as a bearer token: the dashboard
	// shows what the status API shows, and must not bypass its token.
	Token []byte
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Poll is how often the services page asks for changes (default 5s).
	Poll time.Duration
	Log  logr.Logger
}

// Dashboard serves the pages.
type Dashboard struct {
	o     Options
	deps  deps
	pages map[string]*template.Template
}

// New parses the embedded templates.
func New(o Options) (*Dashboard, error) {
	if o.Status == nil {
		return nil, fmt.Errorf("dashboard: no status")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	d := &Dashboard{o: o, pages: map[string]*template.Template{}}
	d.deps = deps{catalog: o.Catalog, history: o.History, events: o.Events, now: o.Now}
	if o.Commit != nil {
		d.deps.commit = newCommitCache(o.Commit).get
	}
	funcs := template.FuncMap{
		"ago":  func(t *time.Time) string { return ago(o.Now(), t) },
		"agoT": func(t time.Time) string { return ago(o.Now(), &t) },
		"iso": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"short": shortRev,
		"pct":   func(n, total int) int { return n * 100 / max(total, 1) },
		"add":   func(a, b int) int { return a + b },
	}
	for _, page := range []string{"services", "service", "templates", "teams", "notfound"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/rows.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", page, err)
		}
		d.pages[page] = t
	}
	return d, nil
}

func ago(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// Handler serves the dashboard:
//
//	GET /                          the services grid (?team=&template=&phase=&q=)
//	GET /rows                      its rows, for live updates (204 when unchanged)
//	GET /services/{team}/{name}    one service
//	GET /templates                 the golden-path templates
//	GET /teams                     teams, DORA (?window=7|30 days) and golden-path adherence
//	GET /static/…                  the script and the style sheet
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.servicesHandler)
	mux.HandleFunc("GET /rows", d.rowsHandler)
	mux.HandleFunc("GET /services/{team}/{name}", d.serviceHandler)
	mux.HandleFunc("GET /templates", d.templatesHandler)
	mux.HandleFunc("GET /teams", d.teamsHandler)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.render(w, r, http.StatusNotFound, "notfound", "Not found", nil)
	})
	return d.guard(mux)
}

// csp forbids every request to another origin, inline scripts and styles
// included: a value that escaped into the page could run nothing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (d *Dashboard) guard(next http.Handler) http.Handler {
	var want [32]byte
	if len(d.o.Token) > 0 {
		want = sha256.Sum256(d.o.Token)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if len(d.o.Token) > 0 && !d.authorized(r, want) {
			h.Set("WWW-Authenticate", `Basic realm="pave", charset="UTF-8"`)
			http.Error(w, "the dashboard needs pave's API token as the password", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (d *Dashboard) authorized(r *http.Request, want [32]byte) bool {
	var got string
	if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	} else if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		got = strings.TrimSpace(tok)
	} else {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

type layoutData struct {
	Title  string
	Nav    string
	Source reconciler.SourceStatus
	Poll   int // milliseconds
	Page   any
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, code int, page, title string, data any) {
	var buf bytes.Buffer
	ld := layoutData{Title: title, Nav: page, Source: redactSource(d.o.Status.Source()), Poll: int(d.o.Poll / time.Millisecond), Page: data}
	if err := d.pages[page].ExecuteTemplate(&buf, "layout.html", ld); err != nil {
		d.o.Log.Error(err, "render dashboard page", "page", page)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, r, code, buf.Bytes())
}

// writeBody writes an HTML body, gzipped when the client takes it: the
// services page at 1000 services is a tenth of its size so.
func writeBody(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if len(body) < 1024 || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.WriteHeader(code)
		w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(code)
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	gz.Write(body)
	gz.Close()
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") || strings.Contains(params, "q=0.")
		}
	}
	return false
}

func redactSource(s reconciler.SourceStatus) reconciler.SourceStatus {
	s.URL = source.RedactURL(s.URL)
	s.LastError = source.RedactURLs(s.LastError)
	return s
}

func filterOf(r *http.Request) filter {
	q := r.URL.Query()
	return filter{Team: q.Get("team"), Template: q.Get("template"), Phase: q.Get("phase"), Q: q.Get("q")}
}

func (d *Dashboard) servicesHandler(w http.ResponseWriter, r *http.Request) {
	p := buildServicesPage(d.o.Status.Source(), d.o.Status.Services(), filterOf(r))
	live, v, err := d.live(p)
	if err != nil {
		d.o.Log.Error(err, "render dashboard rows")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	p.Live, p.Version = live, v
	d.render(w, r, http.StatusOK, "services", "Services", p)
}

// rowsHandler answers the services page's poll with the grid's rows and
// phase counts; when they are what the page has (?v= its version), 204.
func (d *Dashboard) rowsHandler(w http.ResponseWriter, r *http.Request) {
	p := buildServicesPage(d.o.Status.Source(), d.o.Status.Services(), filterOf(r))
	live, v, err := d.live(p)
	if err != nil {
		d.o.Log.Error(err, "render dashboard rows")
		http.Error(w, "the rows could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Pave-Version", v)
	if r.URL.Query().Get("v") == v {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, http.StatusOK, []byte(live))
}

// live renders the services page's live part (counts and grid) and its
// version, a digest the page sends back when it polls.
func (d *Dashboard) live(p *servicesPage) (template.HTML, string, error) {
	var buf bytes.Buffer
	if err := d.pages["services"].ExecuteTemplate(&buf, "live", p); err != nil {
		return "", "", err
	}
	h := fnv.New64a()
	h.Write(buf.Bytes())
	// buf is html/template's output: escaped already.
	return template.HTML(buf.String()), hex.EncodeToString(h.Sum(nil)), nil
}

func (d *Dashboard) serviceHandler(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("team") + "/" + r.PathValue("name")
	s, ok := d.o.Status.Service(id)
	if !ok {
		d.render(w, r, http.StatusNotFound, "notfound", "Not found", id)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p := buildServicePage(ctx, &d.deps, d.o.Status.Source(), s)
	d.render(w, r, http.StatusOK, "service", id, p)
}

func (d *Dashboard) templatesHandler(w http.ResponseWriter, r *http.Request) {
	p := buildTemplatesPage(d.deps.cat(), d.o.Status.Source(), d.o.Status.Services())
	d.render(w, r, http.StatusOK, "templates", "Templates", p)
}

func (d *Dashboard) teamsHandler(w http.ResponseWriter, r *http.Request) {
	window := windows[0]
	if v := r.URL.Query().Get("window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(windows, n) {
			http.Error(w, fmt.Sprintf("window %q: want one of %v days", v, windows), http.StatusBadRequest)
			return
		}
		window = n
	}
	p := buildTeamsPage(d.deps.cat(), d.o.Status.Services(), d.o.DORA, window, d.o.Now())
	d.render(w, r, http.StatusOK, "teams", "Teams and DORA", p)
}
