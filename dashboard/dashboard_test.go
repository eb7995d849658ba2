package dashboard

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/source"
)

// testCatalog is the accepted catalog the fixture's statuses come from.
func testCatalog() *catalog.Catalog {
	return &catalog.Catalog{
		Config: &catalog.Config{
			Environments: []catalog.Environment{{Name: "staging", Cluster: "staging"}, {Name: "prod", Cluster: "prod-eu"}},
			Teams:        []catalog.Team{{Name: "payments"}, {Name: "storefront"}, {Name: "search"}},
			Observability: catalog.Observability{
				Logs:    "https://grafana.example.com/explore?ns={namespace}&app={service}",
				Metrics: "https://grafana.example.com/d/svc?var-team={team}&var-env={env}&var-cluster={cluster}",
			},
		},
		Templates: map[string]*catalog.Template{
			"web-service": {Name: "web-service", Version: "1.2.0", Description: "An HTTP service"},
			"worker":      {Name: "worker", Version: "0.3.0"},
		},
		Services: []*catalog.Service{
			{Metadata: catalog.ServiceMetadata{Team: "payments", Name: "checkout"}, File: "services/payments/checkout/service.yaml"},
			{
				Metadata: catalog.ServiceMetadata{Team: "payments", Name: "ledger"}, File: "services/payments/ledger/service.yaml",
				Spec: catalog.ServiceSpec{Settings: catalog.Settings{Patches: []catalog.Patch{{}}}},
				ExceptionFile: &catalog.Exceptions{Exceptions: []catalog.Exception{
					{Policy: "no-latest-tag", Reason: "migration <i>soon</i>", ApprovedBy: "@example/platform-team", Expires: catalog.Date{Time: now.Add(7 * 24 * time.Hour)}},
				}},
			},
		},
	}
}

func withCatalog(o *Options) { o.Catalog = testCatalog }

// The services page is a grid of services × environments in delivery
// order, coloured by phase, with the running and pending revision, the
// gate and the wave.
func TestServicesPage(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), withCatalog)
	rec := get(t, h, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	golden(t, "services.golden.html", rec.Body.Bytes())
	body := rec.Body.String()
	for _, want := range []string{
		`<th scope="col">staging</th><th scope="col">prod</th>`,
		`<td class="c wait"><b>Waiting</b> <code>1111111</code> → <code>2222222</code><small>soak: staging Ready for 10m of 30m</small><small>wave 1 of 3 (template web-service)</small></td>`,
		`<td class="c bad" title="Deployment payments-prod/ledger: ImagePullBackOff: &lt;img src=x onerror=alert(2)&gt;"><b>Failed</b>`,
		`<span id="shown">3</span> of 3 services`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the services page lacks %q", want)
		}
	}
}

// Hostile values from the catalog (commit messages, policy messages,
// health messages come from pull requests) are escaped everywhere, and no
// page loads anything from another origin.
func TestHostileValuesAreEscaped(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), withCatalog)
	for _, path := range []string{"/", "/services/payments/ledger", "/services/payments/checkout", "/templates", "/teams", "/rows"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		body := rec.Body.String()
		for _, bad := range []string{"<script>alert", "<img src=x", "<b>now</b>", "<i>soon</i>", `"><script>`} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: %q is not escaped", path, bad)
			}
		}
		if n := len(regexp.MustCompile(`<script`).FindAllString(body, -1)); n > 1 {
			t.Errorf("GET %s: %d script elements, want only the dashboard's own", path, n)
		}
		if m := regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).FindString(body); m != "" && !strings.Contains(body, "/static/") {
			t.Errorf("GET %s loads from another origin: %s", path, m)
		}
		for _, m := range regexp.MustCompile(`<(?:script|link)[^>]*(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(m[1], "/static/") {
				t.Errorf("GET %s: a script or style sheet from %q (only /static/ is allowed)", path, m[1])
			}
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q does not confine the page to its origin", path, csp)
		}
	}
}

// The filters work on the server too (a link with ?team= or without
// JavaScript): rows that do not match are hidden.
func TestServicesFilter(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), nil)
	for _, tc := range []struct {
		query string
		shown []string
	}{
		{"team=storefront", []string{"storefront/web"}},
		{"template=web-service", []string{"payments/checkout", "storefront/web"}},
		{"phase=Failed", []string{"payments/ledger"}},
		{"q=LEDGER", []string{"payments/ledger"}},
		{"q=soak", []string{"payments/checkout"}},
		{"team=payments&phase=Ready", []string{"payments/checkout"}},
		{"q=nothing-matches", nil},
	} {
		body := get(t, h, "/?"+tc.query).Body.String()
		var shown []string
		for _, m := range regexp.MustCompile(`<tr data-team[^>]*?( hidden)?><th scope="row"><a href="[^"]*">([^<]*)</a>`).FindAllStringSubmatch(body, -1) {
			if m[1] == "" {
				shown = append(shown, m[2])
			}
		}
		if strings.Join(shown, ",") != strings.Join(tc.shown, ",") {
			t.Errorf("?%s shows %v, want %v", tc.query, shown, tc.shown)
		}
	}
}

// The page polls /rows with its version: unchanged → 204 and nothing to
// redraw; a status change → the new rows.
func TestRowsChangeWithStatus(t *testing.T) {
	st := loadFixture(t)
	h := newTestDashboard(t, st, nil)
	page := get(t, h, "/").Body.String()
	v := regexp.MustCompile(`data-version="([0-9a-f]+)"`).FindStringSubmatch(page)
	if v == nil {
		t.Fatal("the services page has no version to poll with")
	}
	if rec := get(t, h, "/rows?v="+v[1]); rec.Code != http.StatusNoContent {
		t.Fatalf("poll without a change = %d, want 204", rec.Code)
	}
	svc, _ := st.Service("storefront/web")
	svc.Environments["staging"].Phase = reconciler.PhaseReady
	svc.Environments["staging"].AppliedRevision = "3333333333333333333333333333333333333333"
	st.Set(svc)
	rec := get(t, h, "/rows?v="+v[1])
	if rec.Code != http.StatusOK {
		t.Fatalf("poll after a change = %d, want 200", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "<code>3333333</code>") {
		t.Error("the new rows do not show the new revision")
	}
	if rec.Header().Get("X-Pave-Version") == v[1] {
		t.Error("the version did not change with the status")
	}
}

// A service's page: per environment the phase and why, the commits with
// links to the forge, policy results with the file and line, exceptions
// with expiry, drift, history and the observability links filled in.
func TestServicePage(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), withCatalog)
	rec := get(t, h, "/services/payments/ledger")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET = %d", rec.Code)
	}
	golden(t, "service-ledger.golden.html", rec.Body.Bytes())
	body := rec.Body.String()
	for _, want := range []string{
		`<strong>Why:</strong> Deployment payments-prod/ledger: ImagePullBackOff: &lt;img src=x onerror=alert(2)&gt;`,
		`<a href="https://github.com/example/catalog/blob/1111111111111111111111111111111111111111/services/payments/ledger/service.yaml#L7">services/payments/ledger/service.yaml:7</a>`,
		`<a href="https://github.com/example/catalog/commit/1111111111111111111111111111111111111111" rel="noopener noreferrer"><code>1111111</code></a> first <span class="muted">by Dev &lt;dev@example.com&gt;</span>`,
		`<a href="https://grafana.example.com/explore?ns=payments-prod&amp;app=ledger" rel="noopener noreferrer">logs</a>`,
		`var-env=prod&amp;var-cluster=prod"`,
		`excepted until 2026-12-05`,
		`2026-12-05 (in 7 days)`,
		`<td>Ready</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the service page lacks %q", want)
		}
	}
	checkout := get(t, h, "/services/payments/checkout").Body.String()
	for _, want := range []string{"<code>.spec.replicas</code>", "kubectl-edit", "<dt>Pending</dt>", "soak: staging Ready for 10m of 30m"} {
		if !strings.Contains(checkout, want) {
			t.Errorf("the checkout page lacks %q", want)
		}
	}
	if rec := get(t, h, "/services/payments/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown service = %d, want 404", rec.Code)
	}
}

// Templates: version, services per environment by version, and the
// rollout in progress.
func TestTemplatesPage(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), withCatalog)
	body := get(t, h, "/templates").Body.String()
	for _, want := range []string{
		`<h2>web-service <span class="muted">1.2.0</span></h2>`,
		`<span class="pill ok">1.2.0: 1</span> <span class="pill busy">1.1.0: 1</span>`,
		`<b>prod</b>, wave 1 of 3 (template web-service): <a href="/services/payments/checkout">payments/checkout</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the templates page lacks %q", want)
		}
	}
}

// Teams: DORA over the last 7 days, or 30 with ?window=30, from the
// daemon's windowed report, per team and in total, as charts (a column a
// day, and bars per team); golden-path adherence from the catalog.
func TestTeamsPage(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), func(o *Options) { withCatalog(o); o.DORA = testDORA })
	for _, tc := range []struct {
		path, golden string
		want         []string
	}{
		{"/teams", "teams-7.golden.html", []string{
			`<a href="/teams?window=7" aria-current="page">Last 7 days</a><a href="/teams?window=30">Last 30 days</a>`,
			`DORA from 2026-11-22 to 2026-11-28 (UTC)`,
			`<a href="/?team=payments">payments</a></th><td>2</td><td>1</td><td>2</td><td>3</td><td>0.43</td><td>25%</td><td>15m</td><td>45m</td><td>1</td><td>1</td><td>1</td>`,
			`<a href="/?team=storefront">storefront</a></th><td>1</td><td>1</td><td>0</td><td>1</td><td>0.14</td><td>0%</td><td>–</td><td>–</td>`,
			`<a href="/?team=search">search</a></th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>–</td><td>–</td><td>–</td>`,
			`<th scope="row">all teams</th><td>3</td><td>2</td><td>2</td><td>4</td><td>0.57</td><td>20%</td><td>15m</td><td>45m</td>`,
			// Today: 3 deployments and no failure, the tallest column.
			`<title>2026-11-28: deployments 3, change failures 0</title><rect x="408" y="0" width="66" height="120" class="bar">`,
			`<title>2026-11-27: deployments 0, change failures 1</title><rect x="340" y="120" width="66" height="0" class="bar"></rect><rect x="340" y="80" width="66" height="40" class="bar fail">`,
			// A team with no deployment has no rate, not 0%.
			`<text x="0" y="37" class="lbl">search</text><rect x="140" y="25" width="0" height="16" class="bar"></rect><text x="146" y="37" class="val">–</text>`,
			`<a href="/services/payments/ledger">payments/ledger</a>: no-latest-tag expires 2026-12-05 (in 7 days)`,
		}},
		{"/teams?window=30", "teams-30.golden.html", []string{
			`<a href="/teams?window=7">Last 7 days</a><a href="/teams?window=30" aria-current="page">Last 30 days</a>`,
			`DORA from 2026-10-30 to 2026-11-28 (UTC)`,
			`At least these counts`,
			`<a href="/?team=payments">payments</a></th><td>2</td><td>1</td><td>2</td><td>9</td><td>0.30</td><td>18%</td><td>20m</td><td>1h30m</td>`,
			`<a href="/?team=storefront">storefront</a></th><td>1</td><td>1</td><td>0</td><td>4</td><td>0.13</td><td>0%</td><td>2d4h</td><td>–</td>`,
			`<th scope="row">all teams</th><td>3</td><td>2</td><td>2</td><td>13</td><td>0.43</td><td>13%</td><td>3h</td><td>1h30m</td>`,
			`<text x="478" y="136" text-anchor="end" class="lbl">11-28</text>`,
			`<text x="398" y="136" text-anchor="end" class="lbl">11-23</text>`,
		}},
	} {
		rec := get(t, h, tc.path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", tc.path, rec.Code)
		}
		golden(t, tc.golden, rec.Body.Bytes())
		body := rec.Body.String()
		for _, want := range tc.want {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %q", tc.path, want)
			}
		}
		if strings.Contains(body, "Dev &lt;dev@example.com&gt;") || strings.Contains(body, "dev@example.com") {
			t.Errorf("GET %s names a commit author", tc.path)
		}
	}
	// Only the windows the daemon keeps.
	for _, bad := range []string{"90", "7d", "-1"} {
		if rec := get(t, h, "/teams?window="+bad); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "want one of [7 30] days") {
			t.Errorf("GET /teams?window=%s = %d %q, want 400 naming the windows", bad, rec.Code, rec.Body.String())
		}
	}
	// Without the daemon's report, the page says so rather than show zeros.
	h = newTestDashboard(t, loadFixture(t), withCatalog)
	if body := get(t, h, "/teams").Body.String(); !strings.Contains(body, "DORA is not available") || !strings.Contains(body, `<td>2</td><td>1</td><td>2</td><td>0</td><td>–</td><td>–</td>`) {
		t.Errorf("the teams page without DORA:\n%s", body)
	}
}

// testDORA is the daemon's DORA report for the fixture, over 7 or 30 days
// ending on the fixture's clock.
func testDORA(window time.Duration) reconciler.DORAReport {
	days := int(window / (24 * time.Hour))
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	// series has a day's deployments and failures, by days before today.
	series := func(deps, fails map[int]int) []reconciler.DORADay {
		s := make([]reconciler.DORADay, days)
		for i := range s {
			ago := days - 1 - i
			s[i] = reconciler.DORADay{Date: from.AddDate(0, 0, i), Deployments: deps[ago], Failures: fails[ago]}
		}
		return s
	}
	figures := func(deps, fails int, lead time.Duration, leads int, ttr time.Duration, restores int, s []reconciler.DORADay) reconciler.DORAFigures {
		f := reconciler.DORAFigures{Deployments: deps, DeploymentsPerDay: float64(deps) / float64(days), Failures: fails,
			LeadTime: lead, LeadTimes: leads, TimeToRestore: ttr, Restores: restores, Series: s}
		if deps+fails > 0 {
			f.ChangeFailureRate = float64(fails) / float64(deps+fails)
		}
		return f
	}
	rep := reconciler.DORAReport{From: from, To: now, Days: days, Complete: true, Teams: map[string]reconciler.DORAFigures{}}
	if days == 7 {
		rep.Teams["payments"] = figures(3, 1, 15*time.Minute, 2, 45*time.Minute, 1, series(map[int]int{0: 2, 3: 1}, map[int]int{1: 1}))
		rep.Teams["storefront"] = figures(1, 0, 0, 0, 0, 0, series(map[int]int{0: 1}, nil))
		rep.Total = figures(4, 1, 15*time.Minute, 2, 45*time.Minute, 1, series(map[int]int{0: 3, 3: 1}, map[int]int{1: 1}))
		return rep
	}
	rep.Complete = false
	rep.Teams["payments"] = figures(9, 2, 20*time.Minute, 3, 90*time.Minute, 2, series(map[int]int{0: 2, 3: 1, 12: 6}, map[int]int{1: 1, 12: 1}))
	rep.Teams["storefront"] = figures(4, 0, 52*time.Hour, 1, 0, 0, series(map[int]int{0: 1, 20: 3}, nil))
	rep.Total = figures(13, 2, 3*time.Hour, 4, 90*time.Minute, 2, series(map[int]int{0: 3, 3: 1, 12: 6, 20: 3}, map[int]int{1: 1, 12: 1}))
	return rep
}

// With pave serve's API token, the dashboard asks for it (HTTP Basic
// password, or a bearer token): it shows what the status API shows and
// must not be a way around its token.
func TestTokenGuardsTheDashboard(t *testing.T) {
	const token = "0123456789abcdef0123"
	h := newTestDashboard(t, loadFixture(t), func(o *Options) { o.Token = []byte(token) })
	for _, path := range []string{"/", "/rows", "/services/payments/ledger", "/teams", "/static/app.js"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
			t.Errorf("GET %s without the token = %d, want 401 asking for Basic", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "ledger") {
			t.Errorf("GET %s without the token shows the status", path)
		}
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("me:"+token))
		if rec := get(t, h, path, "Authorization", basic); rec.Code != http.StatusOK {
			t.Errorf("GET %s with the token as password = %d", path, rec.Code)
		}
		wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte("me:"+token+"x"))
		if rec := get(t, h, path, "Authorization", wrong); rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password = %d", path, rec.Code)
		}
		if rec := get(t, h, path, "Authorization", "Bearer "+token); rec.Code != http.StatusOK {
			t.Errorf("GET %s with the bearer token = %d", path, rec.Code)
		}
	}
}

func TestForgeLinks(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct{ repo, commit, file string }{
		{"https://github.com/acme/catalog.git", "https://github.com/acme/catalog/commit/" + rev, "https://github.com/acme/catalog/blob/" + rev + "/services/a%20b/service.yaml#L3"},
		{"git@github.com:acme/catalog.git", "https://github.com/acme/catalog/commit/" + rev, "https://github.com/acme/catalog/blob/" + rev + "/services/a%20b/service.yaml#L3"},
		{"ssh://git@gitlab.com/acme/platform/catalog", "https://gitlab.com/acme/platform/catalog/-/commit/" + rev, "https://gitlab.com/acme/platform/catalog/-/blob/" + rev + "/services/a%20b/service.yaml#L3"},
		{"https://git.example.com/acme/catalog.git", "", ""},
		{"https://github.com.evil.example/acme/catalog", "", ""},
		{"https://github.com/acme/catalog/extra", "", ""},
		{"file:///srv/catalog", "", ""},
		{"", "", ""},
	} {
		f := parseForge(tc.repo)
		if got := f.commitURL(rev); got != tc.commit {
			t.Errorf("%q: commit link %q, want %q", tc.repo, got, tc.commit)
		}
		if got := f.fileURL(rev, "services/a b/service.yaml", 3); got != tc.file {
			t.Errorf("%q: file link %q, want %q", tc.repo, got, tc.file)
		}
		if got := f.commitURL("dir:sha256:abc"); got != "" {
			t.Errorf("%q: a folder digest links to %q", tc.repo, got)
		}
	}
}

// Unknown paths answer 404 with the dashboard's page, not the grid.
func TestUnknownPath(t *testing.T) {
	h := newTestDashboard(t, loadFixture(t), nil)
	if rec := get(t, h, "/nope"); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "payments/ledger") {
		t.Errorf("GET /nope = %d", rec.Code)
	}
}

// A browser that takes gzip gets the page gzipped; one that does not gets
// it plain.
func TestPagesAreGzipped(t *testing.T) {
	h := newTestDashboard(t, bigFixture(50), nil)
	plain := get(t, h, "/")
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzipped for a client that did not ask")
	}
	for _, path := range []string{"/", "/rows"} {
		rec := get(t, h, path, "Accept-Encoding", "gzip, deflate, br")
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: not gzipped", path)
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "team07/svc0007") {
			t.Errorf("GET %s: the gzipped body lacks the services", path)
		}
	}
	if rec := get(t, h, "/", "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzipped for a client that refused it")
	}
}

// A service page does not wait past its deadline for a commit the source
// is slow to read (a git fetch holds the clone), and a commit read once
// is not read again.
func TestCommitReadIsBounded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var reads atomic.Int32
	slow := func(ctx context.Context, id string) (*source.Revision, error) {
		reads.Add(1)
		if id == "1111111111111111111111111111111111111111" {
			<-release
		}
		return commits(ctx, id)
	}
	c := newCommitCache(slow)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.get(ctx, "1111111111111111111111111111111111111111"); err == nil {
		t.Fatal("a commit read that outlived the deadline gave no error")
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("waited %s for a slow commit read", waited)
	}
	for range 3 {
		ci, err := c.get(context.Background(), "2222222222222222222222222222222222222222")
		if err != nil || ci.Message != "payments: raise replicas <b>now</b>" {
			t.Fatalf("commit: %v %v", ci, err)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads of the source, want 2 (the second commit once)", n)
	}
}

// A replica of a sharded pave serve says, on every page, that it shows
// its own share.
func TestShardIsNamed(t *testing.T) {
	st := loadFixture(t)
	st.source.Shard = "pave-7d9f-x2"
	h := newTestDashboard(t, st, withCatalog)
	for _, path := range []string{"/", "/templates", "/teams"} {
		rec := get(t, h, path)
		if !strings.Contains(rec.Body.String(), ">shard pave-7d9f-x2</span>") {
			t.Errorf("%s does not name the shard", path)
		}
	}
	plain := newTestDashboard(t, loadFixture(t), withCatalog)
	if strings.Contains(get(t, plain, "/").Body.String(), ">shard ") {
		t.Error("an unsharded pave names a shard")
	}
}
