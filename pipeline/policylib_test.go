package pipeline_test

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
)

// libraryCatalog is the example catalog with a vendored policy library
// (policy/testdata/libraries/<lib>) dropped into policies/, unmodified,
// and the library's pave.yaml policies: block, if it has one, added to
// pave.yaml.
func libraryCatalog(t *testing.T, lib string, extra ...map[string]string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{}
	if err := copyFS(fsys, os.DirFS(exampleCatalog)); err != nil {
		t.Fatal(err)
	}
	dir := path.Join("../policy/testdata/libraries", lib)
	sub, err := fs.Sub(os.DirFS(dir), "policies")
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	if err := copyFS(files, sub); err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		fsys[path.Join(catalog.PoliciesDir, name)] = f
	}
	block, err := os.ReadFile(path.Join(dir, "policies.yaml"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	fsys[catalog.ConfigFile] = &fstest.MapFile{Data: append(slices.Clone(fsys[catalog.ConfigFile].Data), block...)}
	for _, files := range extra {
		for name, data := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
	}
	cat, err := catalog.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

type libResult struct {
	service  string
	policy   string
	severity policy.Severity
	object   string
	line     int
	message  string
}

// TestPolicyLibrariesAsPublished runs three public policy libraries,
// vendored unmodified with only pave.yaml configuration (or an OPA
// .manifest), over the rendered example catalog: conftest's package main
// (instrumenta, Rego v0 by .manifest), Gatekeeper constraint templates
// with parameters from pave.yaml (gatekeeper-library, v0 by pave.yaml;
// container-limits imports the library's exempt_container, which exempts
// the data team's images through its parameters; owner-annotation and
// startup-probes are ConstraintTemplate YAML files as published, the
// latter with a lib) and
// konstraint-style packages listed in pave.yaml (redhat-cop, v0). Before,
// their v0 files stopped every policy, and once rewritten in v1 they
// compiled and never fired. The example's own policies keep running.
func TestPolicyLibrariesAsPublished(t *testing.T) {
	services := []string{"payments/checkout", "storefront/web", "data/report-builder"}
	tests := []struct {
		lib string
		// more services to check than services
		more []string
		want []libResult
	}{
		{"instrumenta-policies", nil, []libResult{
			{"data/report-builder", "readonly-root-filesystem", policy.Deny, "CronJob/report-builder", 16, `CronJob/report-builder: container "report-builder" has a writable root filesystem`},
			{"payments/checkout", "main", policy.Deny, "Deployment/checkout", 7, "checkout in the Deployment checkout doesn't drop all capabilities"},
			{"storefront/web", "main", policy.Deny, "Deployment/web", 7, "web in the Deployment web doesn't drop all capabilities"},
		}},
		{"gatekeeper-library", []string{"storefront/search-indexer", "data/events-consumer"}, []libResult{
			{"data/events-consumer", "one-word-names", policy.Warn, "Deployment/events-consumer", 7, "Deployment/events-consumer: app.kubernetes.io/name must be one lower-case word"},
			{"data/events-consumer", "owner-annotation", policy.Deny, "Deployment/events-consumer", 7, `Deployment/events-consumer: you must provide annotation(s): {"a8r.io/owner"}`},
			{"data/events-consumer", "owner-label", policy.Deny, "Deployment/events-consumer", 7, `Deployment/events-consumer: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"data/events-consumer", "payments-registry", policy.Deny, "Deployment/events-consumer", 8, `Deployment/events-consumer (pod template): container <events-consumer> has an invalid image repo <registry.example.com/data/events-consumer:4.0.0>, allowed repos are ["registry.example.com/payments/"]`},
			{"data/events-consumer", "replica-range", policy.Deny, "Deployment/events-consumer", 7, `The provided number of replicas is not allowed for Deployment: events-consumer. Allowed ranges: {"ranges": [{"max_replicas": 50, "min_replicas": 3}]}`},
			{"data/report-builder", "one-word-names", policy.Warn, "CronJob/report-builder", 16, "CronJob/report-builder: app.kubernetes.io/name must be one lower-case word"},
			{"data/report-builder", "payments-registry", policy.Deny, "CronJob/report-builder", 8, `CronJob/report-builder (pod template): container <report-builder> has an invalid image repo <registry.example.com/data/report-builder:2.3.0>, allowed repos are ["registry.example.com/payments/"]`},
			{"data/report-builder", "readonly-root-filesystem", policy.Deny, "CronJob/report-builder", 16, `CronJob/report-builder: container "report-builder" has a writable root filesystem`},
			{"data/report-builder", "startup-probes", policy.Warn, "CronJob/report-builder", 16, "CronJob/report-builder (pod template): Container <report-builder> in your <Pod> <report-builder> has no <startupProbe>"},
			{"payments/checkout", "owner-annotation", policy.Deny, "Deployment/checkout", 7, `Deployment/checkout: you must provide annotation(s): {"a8r.io/owner"}`},
			{"payments/checkout", "owner-label", policy.Deny, "Deployment/checkout", 7, `Deployment/checkout: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"payments/checkout", "owner-label", policy.Deny, "Service/checkout", 7, `Service/checkout: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"payments/checkout", "replica-range", policy.Deny, "Deployment/checkout", 7, `The provided number of replicas is not allowed for Deployment: checkout. Allowed ranges: {"ranges": [{"max_replicas": 50, "min_replicas": 3}]}`},
			{"storefront/search-indexer", "container-limits", policy.Deny, "Deployment/search-indexer", 7, "Deployment/search-indexer (pod template): container <search-indexer> cpu limit <1> is higher than the maximum allowed of <500m>"},
			{"storefront/search-indexer", "container-limits", policy.Deny, "Deployment/search-indexer", 7, "Deployment/search-indexer (pod template): container <search-indexer> memory limit <1Gi> is higher than the maximum allowed of <512Mi>"},
			{"storefront/search-indexer", "one-word-names", policy.Warn, "Deployment/search-indexer", 7, "Deployment/search-indexer: app.kubernetes.io/name must be one lower-case word"},
			{"storefront/search-indexer", "owner-annotation", policy.Deny, "Deployment/search-indexer", 7, `Deployment/search-indexer: you must provide annotation(s): {"a8r.io/owner"}`},
			{"storefront/search-indexer", "owner-label", policy.Deny, "Deployment/search-indexer", 7, `Deployment/search-indexer: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"storefront/search-indexer", "payments-registry", policy.Deny, "Deployment/search-indexer", 8, `Deployment/search-indexer (pod template): container <search-indexer> has an invalid image repo <registry.example.com/storefront/search-indexer:1.8.4>, allowed repos are ["registry.example.com/payments/"]`},
			{"storefront/search-indexer", "replica-range", policy.Deny, "Deployment/search-indexer", 7, `The provided number of replicas is not allowed for Deployment: search-indexer. Allowed ranges: {"ranges": [{"max_replicas": 50, "min_replicas": 3}]}`},
			{"storefront/web", "owner-annotation", policy.Deny, "Deployment/web", 7, `Deployment/web: you must provide annotation(s): {"a8r.io/owner"}`},
			{"storefront/web", "owner-label", policy.Deny, "Deployment/web", 7, `Deployment/web: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"storefront/web", "owner-label", policy.Deny, "Service/web", 7, `Service/web: you must provide labels: {"app.kubernetes.io/part-of"}`},
			{"storefront/web", "payments-registry", policy.Deny, "Deployment/web", 8, `Deployment/web (pod template): container <web> has an invalid image repo <registry.example.com/storefront/web:5.12.0>, allowed repos are ["registry.example.com/payments/"]`},
			{"storefront/web", "replica-range", policy.Deny, "Deployment/web", 7, `The provided number of replicas is not allowed for Deployment: web. Allowed ranges: {"ranges": [{"max_replicas": 50, "min_replicas": 3}]}`},
		}},
		{"redhat-cop-rego-policies", nil, []libResult{
			{"data/report-builder", "common-k8s-labels-notset", policy.Deny, "CronJob/report-builder", 16, "RHCOP-OCP_BESTPRACT-00001: CronJob/report-builder: does not contain all the expected k8s labels in 'metadata.labels'. See: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels"},
			{"data/report-builder", "container-resources-limits-cpu-set", policy.Deny, "CronJob/report-builder", 16, "RHCOP-OCP_BESTPRACT-00010: CronJob/report-builder: container 'report-builder' has cpu limits (%!d(string=1)). It is not recommended to limit cpu. See: https://www.reddit.com/r/kubernetes/comments/all1vg/on_kubernetes_cpu_limits"},
			{"data/report-builder", "readonly-root-filesystem", policy.Deny, "CronJob/report-builder", 16, `CronJob/report-builder: container "report-builder" has a writable root filesystem`},
			{"payments/checkout", "common-k8s-labels-notset", policy.Deny, "Deployment/checkout", 7, "RHCOP-OCP_BESTPRACT-00001: Deployment/checkout: does not contain all the expected k8s labels in 'metadata.labels'. See: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels"},
			{"payments/checkout", "common-k8s-labels-notset", policy.Deny, "Service/checkout", 7, "RHCOP-OCP_BESTPRACT-00001: Service/checkout: does not contain all the expected k8s labels in 'metadata.labels'. See: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels"},
			{"payments/checkout", "container-resources-limits-cpu-set", policy.Deny, "Deployment/checkout", 7, "RHCOP-OCP_BESTPRACT-00010: Deployment/checkout: container 'checkout' has cpu limits (%!d(string=500m)). It is not recommended to limit cpu. See: https://www.reddit.com/r/kubernetes/comments/all1vg/on_kubernetes_cpu_limits"},
			{"storefront/web", "common-k8s-labels-notset", policy.Deny, "Deployment/web", 7, "RHCOP-OCP_BESTPRACT-00001: Deployment/web: does not contain all the expected k8s labels in 'metadata.labels'. See: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels"},
			{"storefront/web", "common-k8s-labels-notset", policy.Deny, "Service/web", 7, "RHCOP-OCP_BESTPRACT-00001: Service/web: does not contain all the expected k8s labels in 'metadata.labels'. See: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels"},
			{"storefront/web", "container-resources-limits-cpu-set", policy.Deny, "Deployment/web", 7, "RHCOP-OCP_BESTPRACT-00010: Deployment/web: container 'web' has cpu limits (%!d(string=500m)). It is not recommended to limit cpu. See: https://www.reddit.com/r/kubernetes/comments/all1vg/on_kubernetes_cpu_limits"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.lib, func(t *testing.T) {
			cat := libraryCatalog(t, tt.lib)
			rep := checkCatalog(t, cat, pipeline.Options{Services: append(slices.Clone(services), tt.more...), Environment: "staging"})
			if len(rep.Errors) > 0 {
				t.Fatalf("catalog errors: %+v", rep.Errors)
			}
			var got []libResult
			for _, r := range rep.Results {
				if len(r.Errors) > 0 {
					t.Errorf("%s: errors %+v", label(r), r.Errors)
				}
				for _, v := range r.Violations {
					if v.Object == nil {
						t.Errorf("%s: %s has no object", label(r), v.Message)
						continue
					}
					if v.File != r.File {
						t.Errorf("%s: %s is on %s", label(r), v.Message, v.File)
					}
					got = append(got, libResult{r.Service, v.Policy, v.Severity, v.Object.Kind + "/" + v.Object.Name, v.Line, v.Message})
				}
			}
			slices.SortFunc(got, cmpResult)
			if !slices.Equal(got, tt.want) {
				t.Errorf("results:\n got %s\nwant %s", formatResults(got), formatResults(tt.want))
			}
			// The report carries the results as any other policy's.
			if s := rep.Summary(); s.Denials == 0 || !rep.Failed() {
				t.Errorf("summary %+v", s)
			}
		})
	}
}

func cmpResult(a, b libResult) int {
	return cmp.Or(cmp.Compare(a.service, b.service), cmp.Compare(a.policy, b.policy), cmp.Compare(a.object, b.object), cmp.Compare(a.message, b.message))
}

func formatResults(rs []libResult) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("\n\t%s %s %s %s %d %s", r.service, r.policy, r.severity, r.object, r.line, r.message)
	}
	return s
}

// TestConstraintException: an exception names a Gatekeeper constraint
// like any policy, and covers its denials in that service only.
func TestConstraintException(t *testing.T) {
	expires := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	cat := libraryCatalog(t, "gatekeeper-library", map[string]string{
		"exceptions/storefront/web.yaml": "apiVersion: pave.dev/v1alpha1\nkind: Exceptions\nmetadata: {team: storefront, service: web}\nexceptions:\n" +
			"  - policy: payments-registry\n    reason: the shop front is served from its own repository (SHOP-1)\n    approvedBy: security@example.com\n    expires: " + expires + "\n",
	})
	rep := checkCatalog(t, cat, pipeline.Options{Services: []string{"storefront/web", "storefront/catalog-api"}, Environment: "staging"})
	excepted := map[string]bool{}
	for _, r := range rep.Results {
		for _, v := range r.Violations {
			if v.Policy == "payments-registry" {
				excepted[r.Service] = v.Excepted
			}
		}
	}
	if want := map[string]bool{"storefront/web": true, "storefront/catalog-api": false}; !maps.Equal(excepted, want) {
		t.Errorf("payments-registry excepted: %v, want %v", excepted, want)
	}
}
