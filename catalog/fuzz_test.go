package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// FuzzParseService feeds arbitrary bytes to the service.yaml decoder. It
// must never panic, and every error must name the file and stay inside it.
// The seed corpus (all fixtures) runs in every `go test`.
func FuzzParseService(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.yaml")
	examples, _ := filepath.Glob("../catalog-repo-example/services/*/*/service.yaml")
	for _, p := range append(seeds, examples...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(mergeService))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Add([]byte("spec: {environments: {prod: {env: {A: [1, {b: c}]}}}}\n"))

	cfg, errs := ParseConfig("pave.yaml", mustRead(f, "testdata/catalog/pave.yaml"))
	if errs != nil {
		f.Fatal(errs)
	}
	templates := map[string]*Template{
		"web-service": {Name: "web-service", Version: "1.4.0"},
		"worker":      {Name: "worker", Version: "1.4.0"},
		"cron-job":    {Name: "cron-job", Version: "1.4.0"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, errs := ParseService(checkoutFile, data, cfg, templates)
		if s != nil && len(errs) > 0 {
			t.Fatal("a service with errors must not be returned")
		}
		if s == nil && len(errs) == 0 {
			t.Fatal("no service and no error")
		}
		lines := yamlLines(data)
		for _, e := range errs {
			if e.File != checkoutFile {
				t.Fatalf("error names %q", e.File)
			}
			if e.Line < 0 || e.Line > lines || e.Column < 0 {
				t.Fatalf("error outside the file (%d lines): %v", lines, e)
			}
			if e.Message == "" {
				t.Fatal("empty message")
			}
		}
		if s != nil {
			for _, env := range cfg.EnvironmentNames() {
				_ = s.ForEnvironment(env)
			}
		}
	})
}

// yamlLines counts the lines of a file as the YAML parser does: "\r\n",
// "\r", "\n" and the Unicode line and paragraph separators all end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") + strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}

func mustRead(tb testing.TB, p string) []byte {
	tb.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// parseBudget is the most CPU time reading one pave.yaml may take, up to
// MaxFileSize bytes of it (under the race detector, raceSlowdown times it).
const parseBudget = raceSlowdown * time.Second

// FuzzParseConfig feeds arbitrary bytes to the pave.yaml decoder. It must
// never panic, return a configuration or errors (not both, not neither)
// located inside the file, and spend at most parseBudget of CPU on any
// input. A configuration it accepts places every team of every
// environment in a namespace of its own, outside kube-*, default and
// pave-system. The seed corpus (the fixtures, and generated files whose
// shapes made the checks quadratic) runs in every `go test`.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/config/*.yaml")
	seeds = append(seeds, "testdata/catalog/pave.yaml", "../catalog-repo-example/pave.yaml")
	for _, p := range seeds {
		f.Add(mustRead(f, p))
	}
	for _, gen := range largeConfigs {
		f.Add(gen(64 << 10))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := cpuTime()
		cfg, errs := ParseConfig(ConfigFile, data)
		if used := cpuTime() - start; used > parseBudget {
			t.Fatalf("reading %d bytes took %s of CPU, over the %s budget", len(data), used, parseBudget)
		}
		if (cfg == nil) == (len(errs) == 0) {
			t.Fatalf("config %v with errors %v", cfg != nil, errs)
		}
		lines := yamlLines(data)
		for _, e := range errs {
			if e.File != ConfigFile || e.Line < 0 || e.Line > lines || e.Column < 0 || e.Message == "" {
				t.Fatalf("error outside the file (%d lines): %v", lines, e)
			}
		}
		if cfg == nil {
			return
		}
		owner := map[string]string{}
		for _, team := range cfg.TeamNames() {
			for _, env := range cfg.Environments {
				ns := env.NamespaceFor(team)
				if !isDNSLabel(ns) || reservedNamespace(ns) != "" {
					t.Fatalf("team %s in environment %s gets namespace %q", team, env.Name, ns)
				}
				key := env.Cluster + "/" + ns
				if other, dup := owner[key]; dup {
					t.Fatalf("%s and %s/%s share namespace %s", other, team, env.Name, key)
				}
				owner[key] = team + "/" + env.Name
			}
		}
	})
}

// largeConfigs write pave.yaml files of about size bytes in shapes that
// once cost time out of proportion to their size.
var largeConfigs = map[string]func(size int) []byte{
	// Free-form values nested thousands of levels deep, many times over.
	"deep-platform-values": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments: [{name: prod, cluster: prod}]\nteams: [{name: a, owners: [x]}]\nplatform:\n")
		for i := 0; b.Len()+18100 < size; i++ {
			fmt.Fprintf(&b, "  k%d: %s%s\n", i, strings.Repeat("[", 9000), strings.Repeat("]", 9000))
		}
		return b.Bytes()
	},
	// Thousands of team domains, each compared with every other one.
	"team-domains": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments: [{name: prod, cluster: prod}]\nteams:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  - {name: t%d, owners: [x], domains: [t%d.example.com, shop.t%d.example.com]}\n", i, i, i)
		}
		b.WriteString("  - {name: all, owners: [x], domains: [example.com]}\n")
		return b.Bytes()
	},
	// Every team in every environment, all on one cluster.
	"teams-by-environments": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments:\n")
		for i := range MaxEnvironments {
			fmt.Fprintf(&b, "  - {name: e%d, cluster: main}\n", i)
		}
		b.WriteString("teams:\n")
		for i := 0; b.Len() < size && i < MaxTeams; i++ {
			fmt.Fprintf(&b, "  - {name: t%d, owners: [x]}\n", i)
		}
		return b.Bytes()
	},
	// An error on every line, each with a suggestion to compute.
	"unknown-fields": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Catalog\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "environmentz%d: 1\n", i)
		}
		return b.Bytes()
	},
	// Many sizes, sorted by their quantities.
	"sizes": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments: [{name: prod, cluster: prod}]\nteams: [{name: a, owners: [x]}]\nsizes:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  s%d: {requests: {cpu: %dm, memory: 1Gi}, limits: {cpu: \"2\", memory: 2Gi}}\n", i, i%1000+1)
		}
		return b.Bytes()
	},
}

// TestLargeConfigsWithinBudget reads each generated shape at the largest
// size pave accepts.
func TestLargeConfigsWithinBudget(t *testing.T) {
	for name, gen := range largeConfigs {
		data := gen(MaxFileSize - 200)
		start := cpuTime()
		ParseConfig(ConfigFile, data)
		used := cpuTime() - start
		if used > parseBudget {
			t.Errorf("%s: reading %d bytes took %s of CPU, over the %s budget", name, len(data), used, parseBudget)
		}
		t.Logf("%s: %d bytes in %s of CPU", name, len(data), used)
	}
}

// FuzzSchedule checks the CronJob schedule check: it never panics (robfig's
// parser panics on a lone "TZ=x"), does not depend on how the fields are
// spaced, refuses any time zone, and accepts five fields only if every
// value in them is within its field's bounds.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/15 0-6,22-23 1-31/2 jan-DEC ?", "61 25 * * *", "0 0 * * 7", "@daily", "@every 5m",
		"5/10 * * * *", "10-5 * * * *", "*/0 * * * *", "CRON_TZ=UTC 0 3 * * *", "TZ=UTC", "1-2-3 * * * *", "0 0 * * mon-sat7", "+5 * * * *"} {
		f.Add(s)
	}
	// The bounds of the five fields and their names, written out here
	// independently of the parser.
	bounds := [5]struct {
		min, max int
		names    []string
	}{
		{0, 59, nil}, {0, 23, nil}, {1, 31, nil},
		{1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkSchedule(s)
		if strings.Contains(s, "TZ") {
			if err == nil {
				t.Fatalf("%q accepted with a time zone", s)
			}
			return
		}
		if !strings.HasPrefix(s, "@") && s != "" {
			if again := checkSchedule(strings.Join(strings.Fields(s), "  ")); (again == nil) != (err == nil) {
				t.Fatalf("%q: %v, respaced: %v", s, err, again)
			}
		}
		if err != nil || strings.HasPrefix(s, "@") {
			return
		}
		fields := strings.Fields(s)
		if len(fields) != 5 {
			t.Fatalf("%q accepted with %d fields", s, len(fields))
		}
		for i, field := range fields {
			b := bounds[i]
			for part := range strings.SplitSeq(field, ",") {
				if part == "" {
					continue // "5," is "5" to Kubernetes too
				}
				span, _, _ := strings.Cut(part, "/")
				values := strings.Split(span, "-")
				if values[0] == "*" || values[0] == "?" {
					continue // Kubernetes reads "*-x" as "*"
				}
				for _, v := range values {
					if slices.Contains(b.names, strings.ToLower(v)) {
						continue
					}
					n, nerr := strconv.Atoi(v)
					if nerr != nil || n < b.min || n > b.max {
						t.Fatalf("%q accepted with the value %q in field %d", s, v, i+1)
					}
				}
			}
		}
	})
}

// FuzzDate checks the parsers of dates (exception expiry) and lifetimes
// (pave.yaml's exceptions.maxLifetime): a value is accepted only exactly
// as it is written back, and a lifetime only between 1 and 3660 days.
func FuzzDate(f *testing.F) {
	for _, s := range []string{"2027-03-31", "2026-02-29", "2024-02-29", "31/03/2027", "2027-3-31", "0000-01-01", "2027-03-31T00:00:00Z", " 2027-03-31", "90d", "12w", "0d", "3661d", "523w", "99999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var date Date
		d := newDecoder("f")
		date.decodeNode(d, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}, "expires")
		switch {
		case len(d.errs) == 0 && date.String() != s:
			t.Fatalf("%q read as the date %s", s, date)
		case len(d.errs) > 0 && !date.IsZero():
			t.Fatalf("%q refused (%v) but read as %s", s, d.errs, date)
		}
		l, err := ParseLifetime(s)
		if err != nil {
			return
		}
		if l < 1 || l > 3660 {
			t.Fatalf("%q read as %d days", s, l)
		}
		if again, err := ParseLifetime(l.String()); err != nil || again != l {
			t.Fatalf("%q read as %s, which reads back as %v, %v", s, l, again, err)
		}
	})
}
