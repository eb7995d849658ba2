package dashboard

import (
	"net/http"
	"testing"
)

// BenchmarkServicesPage renders the services page for 1000 services × 2
// environments, as a browser's GET / does; it reports the page's size.
func BenchmarkServicesPage(b *testing.B) {
	h := newTestDashboard(b, bigFixture(1000), nil)
	var size int
	for b.Loop() {
		rec := get(b, h, "/")
		if rec.Code != http.StatusOK {
			b.Fatalf("GET / = %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
	gz := get(b, h, "/", "Accept-Encoding", "gzip").Body.Len()
	b.ReportMetric(float64(gz)/1024, "KiB/gzipped")
}

// BenchmarkRowsUnchanged is a poll of an open page when nothing changed.
func BenchmarkRowsUnchanged(b *testing.B) {
	h := newTestDashboard(b, bigFixture(1000), nil)
	v := get(b, h, "/rows").Header().Get("X-Pave-Version")
	for b.Loop() {
		if rec := get(b, h, "/rows?v="+v); rec.Code != http.StatusNoContent {
			b.Fatalf("GET /rows = %d", rec.Code)
		}
	}
}
