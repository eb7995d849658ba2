package catalog

import (
	"fmt"
	"slices"
	"testing"
	"testing/fstest"
)

// TestNextCheck: pave new suggests pave validate only for a template
// nothing judges after validation, else pave check TEAM/NAME.
func TestNextCheck(t *testing.T) {
	const check = "pave check payments/refunds"
	deployment := "kind: Deployment\nmetadata:\n  name: {{ .Values.pave.service }}\nimage: {{ .Values.image }}\n"
	tests := []struct {
		name     string
		template string
		files    map[string]string
		want     string
	}{
		{"nothing judges it", "worker", map[string]string{"templates/worker/templates/deployment.yaml": deployment}, "pave validate"},
		{"a policy", "worker", map[string]string{"policies/pinned.rego": "package pave.policies.pinned\n"}, check},
		{"policy tests alone judge nothing", "worker", map[string]string{"policies/pinned_test.rego": "package pave.policies.pinned_test\n", "templates/worker/templates/deployment.yaml": deployment}, "pave validate"},
		{"a values schema", "worker", map[string]string{"templates/worker/values.schema.json": `{"type": "object", "properties": {"image": {"type": "string"}}}`}, check},
		{"a values mapping", "worker", map[string]string{
			"+pave.yaml":                             "templates:\n  worker:\n    values:\n      image: \"{{ .image.reference }}\"\n",
			"templates/worker/templates/deploy.yaml": deployment,
			"templates/worker/values.yaml":           "image: nginx\n",
		}, check},
		{"required in a template", "worker", map[string]string{"templates/worker/templates/deployment.yaml": "image: {{ required \"image\" .Values.image }}\n"}, check},
		{"fail in a template", "worker", map[string]string{"templates/worker/templates/_checks.tpl": "{{- if gt .Values.replicas 10 }}{{ fail \"too many\" }}{{ end }}\n"}, check},
		{"fail in a library it uses", "worker", map[string]string{
			"templates/_lib/Chart.yaml":              "apiVersion: v2\nname: _lib\ntype: library\nversion: 1.0.0\n",
			"templates/_lib/templates/_checks.tpl":   "{{- define \"lib.check\" }}{{ fail \"no\" }}{{ end }}\n",
			"templates/worker/Chart.yaml":            "apiVersion: v2\nname: worker\nversion: 1.4.0\ndependencies:\n  - name: _lib\n    version: 1.0.0\n    repository: file://../_lib\n",
			"templates/worker/templates/deploy.yaml": deployment,
		}, check},
		{"a template pave does not know", "nope", nil, check},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys["services/payments/checkout/service.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(serviceFor, "checkout", "payments"))}
			if _, ok := tt.files["templates/worker/values.schema.json"]; !ok && tt.want != check {
				// A chart without a schema: what it takes is what its
				// templates read.
				delete(fsys, "templates/worker/values.schema.json")
			}
			for name, data := range tt.files {
				if name == "+pave.yaml" {
					fsys["pave.yaml"] = &fstest.MapFile{Data: append(slices.Clone(fsys["pave.yaml"].Data), data...)}
					continue
				}
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if len(cat.Errors) > 0 {
				t.Fatalf("catalog errors: %v", cat.Errors)
			}
			if got := cat.NextCheck(tt.template, "payments/refunds"); got != tt.want {
				t.Errorf("NextCheck = %q, want %q", got, tt.want)
			}
		})
	}
}
