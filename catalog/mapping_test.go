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

// TestMappingApply: what a mapping gives a chart: native types from a
// single action, strings otherwise, the image in parts, containerEnv,
// set, templates inside lists, entries left out when a setting they read
// is not set, and literals the chart cannot change in pave.yaml.
func TestMappingApply(t *testing.T) {
	const cfg = `apiVersion: pave.dev/v1alpha1
kind: Catalog
environments: [{name: prod, cluster: prod}]
teams: [{name: payments, owners: [a@example.com]}]
platform: {ingressClass: nginx, tls: {issuer: {name: letsencrypt}}}
templates:
  app:
    values:
      replicaCount: "{{ .replicas }}"
      label: "r{{ .replicas }}"
      image.registry: "{{ .image.registry }}"
      image.path: "{{ .image.path }}"
      image.repository: "{{ .image.repository }}"
      image.tag: "{{ .image.tag }}"
      image.digest: "{{ .image.digest }}"
      env: "{{ .containerEnv }}"
      ingress.enabled: "{{ set .ingress }}"
      ingress.hosts: [{host: "{{ .ingress.host }}", class: "{{ .platform.ingressClass }}"}]
      hpa.max: "{{ .autoscaling.max }}"
      resources: "{{ .pave.resources }}"
      fixed: {a: [1, 2]}
      issuer: "{{ .platform.tls.issuer.name }}"
`
	c, errs := ParseConfig("pave.yaml", []byte(cfg))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := c.Mapping("app")
	two := 2
	st := Settings{
		Image:     "registry.example.com/payments/checkout:1.4.2@sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
		Replicas:  &two,
		Env:       map[string]EnvValue{"B": "1"},
		SecretEnv: map[string]SecretRef{"A": {Secret: "s", Key: "k"}},
	}
	resources := map[string]any{"requests": map[string]any{"cpu": "100m"}}
	data, err := MappingData(st, map[string]any{"resources": resources}, map[string]any{"ingressClass": "nginx", "tls": map[string]any{"issuer": map[string]any{"name": "letsencrypt"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Apply(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"replicaCount": int64(2),
		"label":        "r2",
		"image": map[string]any{
			"registry":   "registry.example.com",
			"path":       "payments/checkout",
			"repository": "registry.example.com/payments/checkout",
			"tag":        "1.4.2",
			"digest":     "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
		},
		"env": []any{
			map[string]any{"name": "A", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "s", "key": "k"}}},
			map[string]any{"name": "B", "value": "1"},
		},
		"ingress":   map[string]any{"enabled": false},
		"resources": map[string]any{"requests": map[string]any{"cpu": "100m"}},
		"fixed":     map[string]any{"a": []any{int64(1), int64(2)}},
		"issuer":    "letsencrypt",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("values:\n%v\nwant:\n%v", got, want)
	}
	// The chart's values share nothing with pave's.
	got["resources"].(map[string]any)["requests"].(map[string]any)["cpu"] = "9"
	got["fixed"].(map[string]any)["a"].([]any)[0] = "x"
	again, _ := m.Apply(data)
	if fmt.Sprint(again) != fmt.Sprint(want) || resources["requests"].(map[string]any)["cpu"] != "100m" {
		t.Errorf("a render changed the mapping or the settings: %v", again)
	}
}
