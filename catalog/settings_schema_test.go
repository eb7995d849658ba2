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

// An open-ended schema: what it takes depends on a combination, which
// only rendering can judge.
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
		schema   string // "" for a chart without values.schema.json
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
		name: "no schema, nothing known", template: "worker",
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
	}, {
		name: "a combined schema is left to rendering", template: "worker", schema: combinedSchema,
		spec: "  template: worker\n  image: registry.example.com/payments/checkout:1.0.0\n  replicas: 2\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys["pave.yaml"].Data = append(fsys["pave.yaml"].Data, []byte("defaults:\n  template: worker\n")...)
			if tt.schema != "" {
				fsys["templates/"+tt.template+"/values.schema.json"] = &fstest.MapFile{Data: []byte(tt.schema)}
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
