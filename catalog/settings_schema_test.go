package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// workerSchema takes image, port, size and env, nothing else.
const workerSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "image": {"type": "string"},
    "port": {"type": "integer"},
    "size": {"type": "string"},
    "env": {"type": "object", "patternProperties": {"^[A-Z_]+$": {"type": "string"}}, "additionalProperties": false},
    "pave": {"type": "object"},
    "platform": {"type": "object"}
  }
}`

// webSchema takes an ingress, and an autoscaling of min and max only.
const webSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "image": {"type": "string"},
    "ingress": {"type": "object"},
    "autoscaling": {"$ref": "#/$defs/autoscaling"},
    "pave": {"type": "object"},
    "platform": {"type": "object"}
  },
  "$defs": {
    "autoscaling": {"type": "object", "additionalProperties": false, "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}}
  }
}`

// openSchema names image and replicas but lets anything through: pave
// cannot tell that the chart reads anything else.
const openSchema = `{
  "type": "object",
  "properties": {"image": {"type": "string"}, "replicas": {"type": "integer"}}
}`

// A combined schema: it names what one of its branches names.
const combinedSchema = `{
  "type": "object",
  "allOf": [{"properties": {"image": {"type": "string"}}}],
  "additionalProperties": false
}`

// TestSettingsTheTemplateDoesNotTake: a service.yaml setting the
// template's values.schema.json does not allow is an error at the
// developer's line, naming the template, without rendering.
func TestSettingsTheTemplateDoesNotTake(t *testing.T) {
	const head = "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: checkout\n  team: payments\nspec:\n"
	tests := []struct {
		name     string
		template string // folder under templates/
		schema   string // "" for the test catalog's schema
		noSchema bool   // a chart without values.schema.json
		mapping  string // pave.yaml templates.<template>.values entries
		files    map[string]string
		spec     string
		want     []string // "LINE:COL message", all of them
	}{{
		name: "ingress on a worker", template: "worker", schema: workerSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  ingress:\n    host: checkout.example.com\n",
		want: []string{"9:3 template worker does not take spec.ingress (its settings: env, image, port, size)"},
	}, {
		name: "in one environment's overrides", template: "worker", schema: workerSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  environments:\n    prod:\n      replicas: 3\n",
		want: []string{"11:7 template worker does not take spec.environments.prod.replicas (its settings: env, image, port, size)"},
	}, {
		name: "a key inside a setting, through a $ref", template: "web-service", schema: webSchema,
		spec: "  template: web-service\n  image: registry.example.com/payments/checkout:1.0.0\n  autoscaling:\n    min: 2\n    max: 4\n    targetCPU: 70\n",
		want: []string{"12:5 template web-service does not take spec.autoscaling.targetCPU (autoscaling takes: max, min)"},
	}, {
		name: "pattern properties are taken", template: "worker", schema: workerSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  port: 8080\n  env:\n    LOG_LEVEL: info\n",
	}, {
		name: "the default template is the one checked", template: "worker", schema: workerSchema,
		spec: "  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
		want: []string{"8:3 template worker does not take spec.replicas (its settings: env, image, port, size)"},
	}, {
		name: "no schema, no templates: nothing is taken", template: "worker", noSchema: true,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
		want: []string{
			"8:3 template worker does not take spec.image: none of its templates reads .Values.image (it reads: nothing); declare the settings it takes in its values.schema.json, or map them in pave.yaml templates.worker.values",
			"9:3 template worker does not take spec.replicas: none of its templates reads .Values.replicas (it reads: nothing); declare the settings it takes in its values.schema.json, or map them in pave.yaml templates.worker.values",
		},
	}, {
		name: "no schema: what its templates and libraries read is taken", template: "worker", noSchema: true,
		files: map[string]string{
			"templates/worker/templates/deploy.yaml": "image: {{ .Values.image | quote }}\n{{ with $.Values.replicas }}replicas: {{ . }}{{ end }}\n{{ include \"lib.env\" . }}\n",
			"templates/worker/Chart.yaml":            "apiVersion: v2\nname: worker\nversion: 1.4.0\ndependencies:\n  - name: _lib\n    repository: file://../_lib\n",
			"templates/_lib/Chart.yaml":              "apiVersion: v2\nname: _lib\ntype: library\nversion: 1.0.0\n",
			"templates/_lib/templates/_env.tpl":      "{{ define \"lib.env\" }}{{ range $k, $v := .Values.env }}{{ $k }}{{ end }}{{ end }}\n",
		},
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n  env:\n    A: b\n  ingress:\n    host: a.example.com\n",
		want: []string{"12:3 template worker does not take spec.ingress: none of its templates reads .Values.ingress (it reads: env, image, replicas); declare the settings it takes in its values.schema.json, or map them in pave.yaml templates.worker.values"},
	}, {
		name: "no schema: a template reading .Values whole takes everything", template: "worker", noSchema: true,
		files: map[string]string{"templates/worker/templates/cm.yaml": "data: {{ toYaml .Values | nindent 2 }}\n"},
		spec:  "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
	}, {
		name: "an open schema takes only what it names", template: "worker", schema: openSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n  ingress:\n    host: a.example.com\n",
		want: []string{"10:3 template worker does not take spec.ingress (its settings: image, replicas)"},
	}, {
		name: "a combined schema takes what its branches name", template: "worker", schema: combinedSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
		want: []string{"9:3 template worker does not take spec.replicas (its settings: image)"},
	}, {
		name: "a values mapping takes what it reads", template: "worker",
		mapping: "      image.repository: \"{{ .image.repository }}\"\n      replicaCount: \"{{ .replicas }}\"\n      autoscaling.maxReplicas: \"{{ .autoscaling.max }}\"\n      ingress.enabled: \"{{ set .ingress }}\"\n      extraEnv: \"{{ .containerEnv }}\"\n",
		files:   map[string]string{"templates/worker/values.yaml": "image: {repository: x}\nreplicaCount: 1\nautoscaling: {maxReplicas: 3}\ningress: {enabled: false}\nextraEnv: []\n"},
		spec:    "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n  autoscaling:\n    min: 2\n    max: 4\n  env:\n    A: b\n  secretEnv:\n    T: {secret: s, key: k}\n  ingress:\n    host: a.example.com\n  port: 8080\n",
		want: []string{
			"11:5 template worker does not take spec.autoscaling.min: pave.yaml templates.worker.values reads no .autoscaling.min (it reads: autoscaling, env, image, ingress, replicas, secretEnv)",
			"19:3 template worker does not take spec.port: pave.yaml templates.worker.values reads no .port (it reads: autoscaling, env, image, ingress, replicas, secretEnv)",
		},
	}, {
		name: "in an environment, against the mapping", template: "worker",
		mapping: "      image: \"{{ .image.reference }}\"\n",
		files:   map[string]string{"templates/worker/values.yaml": "image: x\n"},
		spec:    "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  environments:\n    prod:\n      replicas: 3\n",
		want:    []string{"11:7 template worker does not take spec.environments.prod.replicas: pave.yaml templates.worker.values reads no .replicas (it reads: image)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys["pave.yaml"].Data = append(fsys["pave.yaml"].Data, []byte("defaults:\n  template: worker\n")...)
			if tt.schema != "" {
				fsys["templates/"+tt.template+"/values.schema.json"] = &fstest.MapFile{Data: []byte(tt.schema)}
			}
			if tt.noSchema {
				delete(fsys, "templates/"+tt.template+"/values.schema.json")
			}
			if tt.mapping != "" {
				fsys["pave.yaml"].Data = append(fsys["pave.yaml"].Data, []byte("templates:\n  "+tt.template+":\n    values:\n"+tt.mapping)...)
			}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			fsys[checkoutFile] = &fstest.MapFile{Data: []byte(head + tt.spec)}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range cat.Errors {
				got = append(got, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Message))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if _, valid := cat.Service("payments/checkout"); valid != (len(tt.want) == 0) {
				t.Errorf("service valid = %v, want %v", valid, len(tt.want) == 0)
			}
		})
	}
}
