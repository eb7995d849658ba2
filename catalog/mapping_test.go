package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMappingAgainstTheChart: each path of a pave.yaml values mapping
// must be one of the chart's values (values.yaml, or its schema), else
// the error is at the pave.yaml line, and every service of the template
// is refused at its spec.template until the mapping is mended; the other
// templates' services are unaffected.
func TestMappingAgainstTheChart(t *testing.T) {
	const values = "image:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: \"\"\nreplicaCount: 1\nservice:\n  httpPort: 9898\npodAnnotations: {}\nnodeSelector:\nhost: \"\"\n"
	const schema = `{"type": "object", "properties": {"extra": {"type": "object", "additionalProperties": false, "properties": {"a": {}}}}}`
	tests := []struct {
		name    string
		mapping string
		schema  string
		want    []string
	}{{
		name:    "values of the chart, free-form maps and null values",
		mapping: "      image.repository: \"{{ .image.repository }}\"\n      replicaCount: \"{{ .replicas }}\"\n      podAnnotations.team: \"{{ .pave.team }}\"\n      nodeSelector.disk: ssd\n",
	}, {
		name:    "a path the chart does not have",
		mapping: "      image.repository: \"{{ .image.repository }}\"\n      replicas: \"{{ .replicas }}\"\n      service.port: \"{{ .port }}\"\n",
		want: []string{
			"pave.yaml:22:7: templates.worker.values.replicas: replicas is not a value of chart worker",
			"pave.yaml:23:7: templates.worker.values.service.port: service.port is not a value of chart worker (service has: httpPort)",
			"services/payments/checkout/service.yaml:7:13: spec.template: template worker cannot be used until pave.yaml templates.worker.values is mended (pave.yaml:22:7: templates.worker.values.replicas: replicas is not a value of chart worker)",
		},
	}, {
		name:    "into a value that is not a map",
		mapping: "      host.name: \"{{ .ingress.host }}\"\n",
		want: []string{
			"pave.yaml:21:7: templates.worker.values.host.name: host is a string in the chart's values.yaml, which has no keys",
			"services/payments/checkout/service.yaml:7:13: spec.template: template worker cannot be used until pave.yaml templates.worker.values is mended (pave.yaml:21:7: templates.worker.values.host.name: host is a string in the chart's values.yaml, which has no keys)",
		},
	}, {
		name:    "named by the schema only, and refused by it",
		schema:  schema,
		mapping: "      image.repository: \"{{ .image.repository }}\"\n      extra.a: \"{{ .pave.team }}\"\n      extra.b: \"{{ .pave.team }}\"\n",
		want: []string{
			"pave.yaml:23:7: templates.worker.values.extra.b: the chart's values.schema.json does not allow extra.b (a)",
			"services/payments/checkout/service.yaml:7:13: spec.template: template worker cannot be used until pave.yaml templates.worker.values is mended (pave.yaml:23:7: templates.worker.values.extra.b: the chart's values.schema.json does not allow extra.b (a))",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			delete(fsys, "templates/worker/values.schema.json")
			if tt.schema != "" {
				fsys["templates/worker/values.schema.json"] = &fstest.MapFile{Data: []byte(tt.schema)}
			}
			fsys["templates/worker/values.yaml"] = &fstest.MapFile{Data: []byte(values)}
			fsys["pave.yaml"].Data = append(slices.Clone(fsys["pave.yaml"].Data), "templates:\n  worker:\n    values:\n"+tt.mapping...)
			fsys[checkoutFile] = &fstest.MapFile{Data: []byte(fmt.Sprintf(serviceFor, "checkout", "payments"))}
			fsys["services/payments/refunds/service.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(fmt.Sprintf(serviceFor, "refunds", "payments"), "worker", "web-service", 1))}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range cat.Errors {
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n%s\nwant:\n%s", i, got[i], tt.want[i])
				}
			}
			if _, ok := cat.Service("payments/refunds"); !ok {
				t.Error("a service of another template was refused")
			}
		})
	}
}

// TestMappingUnknownTemplate: a mapping for a template the catalog does
// not have, or for a library chart, is an error at its pave.yaml line.
func TestMappingUnknownTemplate(t *testing.T) {
	fsys := testCatalog(t)
	fsys["templates/common/Chart.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v2\nname: common\ntype: library\nversion: 1.0.0\n")}
	fsys["pave.yaml"].Data = append(slices.Clone(fsys["pave.yaml"].Data), "templates:\n  podinfo:\n    values:\n      a: b\n  common:\n    values:\n      a: b\n"...)
	fsys[checkoutFile] = &fstest.MapFile{Data: []byte(fmt.Sprintf(serviceFor, "checkout", "payments"))}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range cat.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		"pave.yaml:20:5: templates.podinfo.values: there is no template podinfo (templates: cron-job, web-service, worker)",
		"pave.yaml:23:5: templates.common.values: templates/common is a library chart, not a template",
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
