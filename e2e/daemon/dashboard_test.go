package daemon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// screenshots is where the browser story saves its screenshots
// (git-ignored); with PAVE_UPDATE_SCREENSHOTS=1 it also writes the README's,
// docs/images/dashboard-*.png.
const screenshots = "screenshots"

// TestDashboardInABrowser: pave serve on the example catalog and the local
// clusters, seen in Debian's chromium: the services page lists every
// service Ready, filters as one types, follows a link to a service, shows
// a policy denial with its service.yaml line and the service's recent
// Kubernetes Events, and shows a commit's change
// without a reload; the page asks no other origin for anything.
func TestDashboardInABrowser(t *testing.T) {
	resetClusters(t)
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Fatal("chromium is not installed: run `bash hack/chromium.sh` (make test runs it) to install Debian's chromium package")
	}
	dir := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	r := &repo{t: t, dir: dir}
	d := startPave(t, filepath.Join(t.TempDir(), "pave.log"), "--path", dir, "--interval", "1h", "--wait-timeout", "1m")
	waitFor(t, 3*time.Minute, "every example service Ready", d.allAt(exampleServices, "Ready", ""))
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 860), chromedp.Flag("headless", "new"))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var foreign []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && !strings.HasPrefix(e.Request.URL, d.url+"/") {
			mu.Lock()
			foreign = append(foreign, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// A live update may redraw a node between its lookup and its use:
	// what failed so is tried again, a few times.
	again := func(try func() error) error {
		var err error
		for range 3 {
			if err = try(); err == nil || !strings.Contains(err.Error(), "No node with given id") {
				break
			}
		}
		return err
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := again(func() error { return chromedp.Do(ctx, steps...) }); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var v string
		if err := again(func() (err error) { v, err = chromedp.Run(ctx, chromedp.Text(sel)); return err }); err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(screenshots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("PAVE_UPDATE_SCREENSHOTS") == "1" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "images", "dashboard-"+name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows := func() []string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#grid tbody tr:not([hidden]) th a")).map(a => a.textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Every service, Ready in both environments.
	do("open the services page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(`#grid tbody tr`))
	page := text(`main`)
	for _, id := range exampleServices {
		if !strings.Contains(page, id) {
			t.Errorf("the services page does not list %s", id)
		}
	}
	if n := strings.Count(page, "Ready"); n < 2*len(exampleServices) {
		t.Errorf("%d Ready cells, want %d:\n%s", n, 2*len(exampleServices), page)
	}
	shot("services.png")

	// Filter as one types.
	do("filter", chromedp.SendKeys(`#q`, "payments"))
	waitFor(t, 10*time.Second, "only payments' services shown", func() (bool, string) {
		got := rows()
		return len(got) == 3 && strings.HasPrefix(strings.Join(got, " "), "payments/"), strings.Join(got, ", ")
	})

	// Follow the link to a service.
	do("follow a link", chromedp.Click(`a[href="/services/payments/checkout"]`), chromedp.WaitVisible(`.envs`))
	if h1 := text(`h1`); h1 != "payments/checkout" {
		t.Errorf("the link led to %q", h1)
	}

	// A policy denial, with its file and line, on the service's page.
	r.edit("services/storefront/web/service.yaml", "  replicas: 3\n", "  replicas: 1\n")
	waitFor(t, time.Minute, "storefront/web denied in prod", func() (bool, string) {
		e := d.services()["storefront/web"].Environments["prod"]
		if e == nil {
			return false, "no status"
		}
		return e.Phase == "PolicyDenied", e.Phase
	})
	do("open a service", chromedp.Navigate(d.url+"/services/storefront/web"), chromedp.WaitVisible(`.envs`))
	if page = text(`main`); !strings.Contains(page, "PolicyDenied") || !strings.Contains(page, "services/storefront/web/service.yaml:11") || !strings.Contains(page, "replica") {
		t.Errorf("the service page does not show the denial at its line:\n%s", page)
	}
	// Its recent events, read back from the clusters: the deployments of
	// the first sync, and the denial.
	if !strings.Contains(page, "Recent events") || strings.Contains(page, "No events recorded.") || !strings.Contains(page, "Applied") {
		t.Errorf("the service page does not show the service's recent events:\n%s", page)
	}
	var events struct {
		Events []struct{ Environment, Type, Reason string }
	}
	if code := d.get("/api/v1/services/storefront/web/events", &events); code != 200 {
		t.Errorf("GET …/events: %d", code)
	}
	denied := false
	for _, e := range events.Events {
		denied = denied || (e.Environment == "prod" && e.Type == "Warning" && e.Reason == "PolicyDenied")
	}
	if !denied {
		t.Errorf("GET …/events holds no PolicyDenied warning in prod: %+v", events.Events)
	}
	shot("service.png")

	// A commit's change appears without a reload.
	do("back to the services page", chromedp.Navigate(d.url+"/?q=payments/checkout"), chromedp.WaitVisible(`#grid tbody tr:not([hidden])`),
		chromedp.Evaluate[chromedp.Void](`window.paveMarker = 1`))
	before := text(`#grid tbody tr:not([hidden])`)
	r.edit("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.4.3")
	waitFor(t, time.Minute, "the change shown live", func() (bool, string) {
		row := text(`#grid tbody tr:not([hidden])`)
		marker, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.paveMarker || 0`))
		if err != nil || marker != 1 {
			t.Fatalf("the page reloaded (%v)", err)
		}
		return row != before && strings.Count(row, "Ready") == 2, row
	})

	do("the templates page", chromedp.Navigate(d.url+"/templates"), chromedp.WaitVisible(`main`))
	shot("templates.png")
	do("the teams page", chromedp.Navigate(d.url+"/teams"), chromedp.WaitVisible(`main`))
	shot("teams.png")

	mu.Lock()
	defer mu.Unlock()
	if len(foreign) > 0 {
		t.Errorf("the dashboard asked another origin for: %v", foreign)
	}
}
