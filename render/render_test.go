package render

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pave-dev/pave/catalog"
)

const testConfig = `apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: prod, cluster: prod}
teams:
  - {name: payments, owners: [a@example.com]}
registries: [registry.example.com]
platform:
  baseDomain: example.com
`

// A small chart exercising what the render package does; the golden-path
// charts of the example catalog have golden tests of their own.
var basicChart = map[string]string{
	"templates/basic/Chart.yaml":  "apiVersion: v2\nname: basic\nversion: 2.1.0\n",
	"templates/basic/values.yaml": "healthCheck:\n  path: /healthz\n",
	"templates/basic/values.schema.json": `{
  "type": "object",
  "additionalProperties": false,
  "required": ["image", "port"],
  "properties": {
    "image": {"type": "string"},
    "port": {"type": "integer", "minimum": 1024},
    "size": {"type": "string"},
    "replicas": {"type": "integer"},
    "env": {"type": "object"},
    "healthCheck": {"type": "object"},
    "pave": {"type": "object"},
    "platform": {"type": "object"}
  }
}`,
	"templates/basic/templates/_helpers.tpl": `{{- define "basic.name" -}}{{ .Values.pave.service }}{{- end -}}`,
	"templates/basic/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "basic.name" . }}
spec:
  {{- with .Values.replicas }}
  replicas: {{ . }}
  {{- end }}
  selector:
    matchLabels: {app.kubernetes.io/name: {{ include "basic.name" . }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ include "basic.name" . }}}
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
          ports: [{containerPort: {{ .Values.port }}}]
          resources: {{ toJson .Values.pave.resources }}
          readinessProbe: {httpGet: {path: {{ .Values.healthCheck.path }}, port: {{ .Values.port }}}}
`,
	"templates/basic/templates/configmap.yaml": `{{- if .Values.env }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "basic.name" . }}-env
data:
  {{- range $k, $v := .Values.env }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end }}
`,
	"templates/basic/templates/NOTES.txt": "Thanks for using basic.\n",
}

const checkoutYAML = `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: basic
  image: registry.example.com/payments/checkout:1.4.2
  port: 8080
  replicas: 2
  env:
    LOG_LEVEL: info
  environments:
    prod:
      replicas: 4
      size: medium
      env:
        LOG_LEVEL: warn
`

const checkoutFile = "services/payments/checkout/service.yaml"

// testCatalog builds an in-memory catalog from pave.yaml, the basic chart,
// and the given extra files (which may replace any of them).
func testCatalog(t testing.TB, files map[string]string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{"pave.yaml": {Data: []byte(testConfig)}}
	for name, data := range basicChart {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	for name, data := range files {
		if data == "" {
			delete(fsys, name)
			continue
		}
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	cat, err := catalog.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatalf("catalog errors: %v", cat.Errors)
	}
	return cat
}

func renderOne(t testing.TB, cat *catalog.Catalog, opts Options, id, env string) (*Result, error) {
	t.Helper()
	svc, ok := cat.Service(id)
	if !ok {
		t.Fatalf("no service %s", id)
	}
	return New(cat, opts).Render(svc, env)
}

func mustRender(t testing.TB, cat *catalog.Catalog, opts Options, id, env string) *Result {
	t.Helper()
	res, err := renderOne(t, cat, opts, id, env)
	if err != nil {
		t.Fatalf("render %s/%s: %v", id, env, err)
	}
	return res
}

func TestRenderStampsPlacesAndOrders(t *testing.T) {
	cat := testCatalog(t, map[string]string{checkoutFile: checkoutYAML})
	res := mustRender(t, cat, Options{Revision: "0123abc"}, "payments/checkout", "prod")
	want := `---
apiVersion: v1
kind: Namespace
metadata:
  labels:
    app.kubernetes.io/managed-by: pave
    pave.dev/environment: prod
    pave.dev/team: payments
    pod-security.kubernetes.io/audit: restricted
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
  name: payments-prod
---
apiVersion: v1
data:
  LOG_LEVEL: warn
kind: ConfigMap
metadata:
  annotations:
    pave.dev/revision: 0123abc
    pave.dev/source: services/payments/checkout/service.yaml
    pave.dev/template: basic@2.1.0
  labels:
    app.kubernetes.io/managed-by: pave
    app.kubernetes.io/name: checkout
    pave.dev/environment: prod
    pave.dev/service: checkout
    pave.dev/team: payments
  name: checkout-env
  namespace: payments-prod
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    pave.dev/revision: 0123abc
    pave.dev/source: services/payments/checkout/service.yaml
    pave.dev/template: basic@2.1.0
  labels:
    app.kubernetes.io/managed-by: pave
    app.kubernetes.io/name: checkout
    pave.dev/environment: prod
    pave.dev/service: checkout
    pave.dev/team: payments
  name: checkout
  namespace: payments-prod
spec:
  replicas: 4
  selector:
    matchLabels:
      app.kubernetes.io/name: checkout
  template:
    metadata:
      labels:
        app.kubernetes.io/name: checkout
    spec:
      containers:
      - image: registry.example.com/payments/checkout:1.4.2
        name: app
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet:
            path: /healthz
            port: 8080
        resources:
          limits:
            cpu: "1"
            memory: 1Gi
          requests:
            cpu: 250m
            memory: 512Mi
`
	if got := string(res.YAML()); got != want {
		t.Errorf("render:\n%s\nwant:\n%s", got, want)
	}
	if res.Template != "basic@2.1.0" || res.Namespace != "payments-prod" || res.Source != checkoutFile || len(res.Hash) != 64 {
		t.Errorf("metadata: %+v", res)
	}
}

func TestRenderIsDeterministicAndCached(t *testing.T) {
	cat := testCatalog(t, map[string]string{checkoutFile: checkoutYAML})
	cache := NewCache()
	a := mustRender(t, cat, Options{Revision: "r1", Cache: cache}, "payments/checkout", "staging")
	b := mustRender(t, cat, Options{Revision: "r2", Cache: cache}, "payments/checkout", "staging")
	c := mustRender(t, testCatalog(t, map[string]string{checkoutFile: checkoutYAML}), Options{Revision: "r1"}, "payments/checkout", "staging")
	if !bytes.Equal(a.YAML(), c.YAML()) {
		t.Error("the same inputs gave different output")
	}
	if a.Hash != b.Hash || a.Hash != c.Hash {
		t.Error("the hash must not depend on the revision or the cache")
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d renders, want 1", cache.Len())
	}
	if !strings.Contains(string(b.YAML()), "pave.dev/revision: r2") || strings.Contains(string(b.YAML()), "r1") {
		t.Error("a cached render must carry the current revision")
	}
	if strings.Contains(string(a.YAML()), "r2") {
		t.Error("stamping a revision changed an earlier result")
	}

	// Changing a template file changes the render and the hash.
	changed := testCatalog(t, map[string]string{
		checkoutFile:                  checkoutYAML,
		"templates/basic/values.yaml": "healthCheck:\n  path: /ready\n",
	})
	d := mustRender(t, changed, Options{Cache: cache}, "payments/checkout", "staging")
	if d.Hash == a.Hash || !strings.Contains(string(d.YAML()), "path: /ready") {
		t.Error("a template change did not change the render")
	}
	// A trim after a round that rendered only the changed catalog drops
	// the other render and keeps the one used; the next sweep keeps it
	// too, having seen it used.
	cache.Sweep()
	mustRender(t, changed, Options{Cache: cache}, "payments/checkout", "staging")
	if cache.Len() != 2 {
		t.Fatalf("cache holds %d renders, want 2", cache.Len())
	}
	cache.Trim()
	if cache.Len() != 1 {
		t.Errorf("trim left %d entries, want the one used since the sweep", cache.Len())
	}
	cache.Trim()
	cache.Sweep()
	if cache.Len() != 1 {
		t.Errorf("a sweep after the trim left %d entries, want the one used", cache.Len())
	}
	cache.Sweep()
	if cache.Len() != 0 {
		t.Errorf("sweep left %d entries", cache.Len())
	}
}

// TestRenderErrors: every failure names the service.yaml line and, for
// template failures, the template file and line.
func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   string
		want  []string
	}{
		{
			name: "template syntax error",
			files: map[string]string{
				"templates/basic/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Values.pave.service }\n",
			},
			want: []string{`services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): templates/basic/templates/deployment.yaml:4: unexpected "}" in operand`},
		},
		{
			name: "required value",
			files: map[string]string{
				"templates/basic/templates/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  domain: {{ required \"platform.ingressClass is required\" .Values.platform.ingressClass }}\n",
			},
			want: []string{`services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): templates/basic/templates/extra.yaml:6:13: platform.ingressClass is required`},
		},
		{
			name: "lookup is refused",
			files: map[string]string{
				"templates/basic/templates/extra.yaml": "{{- $s := lookup \"v1\" \"Secret\" \"default\" \"x\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
			},
			want: []string{`templates/basic/templates/extra.yaml:1:10: at <lookup "v1" "Secret" "default" "x">: error calling lookup: lookup of v1 Secret is not available: pave renders without a cluster`},
		},
		{
			name: "invalid YAML output",
			files: map[string]string{
				"templates/basic/templates/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n data: x\n",
			},
			want: []string{`service.yaml:7:13: render payments/checkout (prod): templates/basic/templates/extra.yaml: renders invalid YAML`},
		},
		{
			// pave validate finds such a field when the schema names none
			// of it (catalog.TestSettingsTheTemplateDoesNotTake); one an
			// allOf names, while the top level refuses it, only rendering
			// can.
			name: "schema: field the template does not take",
			files: map[string]string{
				checkoutFile:                         strings.Replace(checkoutYAML, "  port: 8080\n", "  port: 8080\n  schedule: \"@daily\"\n", 1),
				"templates/basic/values.schema.json": strings.Replace(basicChart["templates/basic/values.schema.json"], `"required": ["image", "port"],`, `"required": ["image", "port"], "allOf": [{"properties": {"schedule": {}}}],`, 1),
			},
			want: []string{`services/payments/checkout/service.yaml:10:13: render payments/checkout (prod): schedule is not a setting of template basic@2.1.0`},
		},
		{
			name: "schema: a range, at the environment's line",
			files: map[string]string{
				checkoutFile: strings.Replace(strings.Replace(checkoutYAML, "  port: 8080\n", "", 1), "      replicas: 4\n", "      replicas: 4\n      port: 80\n", 1),
			},
			want: []string{
				`services/payments/checkout/service.yaml:15:13: render payments/checkout (prod): port: minimum: got 80, want 1024 (template basic@2.1.0)`,
			},
		},
		{
			name: "schema: missing required field",
			files: map[string]string{
				checkoutFile: strings.Replace(checkoutYAML, "  port: 8080\n", "", 1),
			},
			env:  "staging",
			want: []string{`services/payments/checkout/service.yaml:6:1: render payments/checkout (staging): port is required by template basic@2.1.0`},
		},
		{
			name: "cluster-scoped object",
			files: map[string]string{
				"templates/basic/templates/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n",
			},
			want: []string{`service.yaml:7:13: render payments/checkout (prod): template basic renders cluster-scoped ClusterRole "reader", which pave.yaml does not allow for this template (templates.basic.allowClusterScoped)`},
		},
		{
			name: "another namespace",
			files: map[string]string{
				"templates/basic/templates/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: kube-system\n",
			},
			want: []string{`template basic puts ConfigMap "extra" in namespace "kube-system"; services may only use their team's namespace "payments-prod"`},
		},
		{
			name: "a Namespace",
			files: map[string]string{
				"templates/basic/templates/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mine\n",
			},
			want: []string{`template basic renders Namespace "mine"; pave renders each team's namespace itself`},
		},
		{
			name: "dependency not vendored",
			files: map[string]string{
				"templates/basic/Chart.yaml": "apiVersion: v2\nname: basic\nversion: 2.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n",
			},
			want: []string{`service.yaml:7:13: render payments/checkout (prod): load template basic: dependency "redis" is not vendored under templates/basic/charts/ (pave never fetches charts at render time)`},
		},
		{
			name: "schema with a remote $ref",
			files: map[string]string{
				"templates/basic/values.schema.json": `{"$ref": "https://schemas.example.com/values.json"}`,
			},
			want: []string{`templates/basic/values.schema.json: `, `$ref to https://schemas.example.com/values.json is not allowed`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{checkoutFile: checkoutYAML}
			for k, v := range tt.files {
				files[k] = v
			}
			cat := testCatalog(t, files)
			env := tt.env
			if env == "" {
				env = "prod"
			}
			_, err := renderOne(t, cat, Options{}, "payments/checkout", env)
			if err == nil {
				t.Fatal("render succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func TestTemplatePolicyAllowsClusterScopedAndNamespaces(t *testing.T) {
	cfg := testConfig + "templates:\n  basic:\n    allowClusterScoped: [ClusterRole]\n    allowNamespaces: [monitoring]\n"
	cat := testCatalog(t, map[string]string{
		"pave.yaml":                           cfg,
		checkoutFile:                          checkoutYAML,
		"templates/basic/templates/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: payments-checkout-reader\n  namespace: payments-prod\n",
		"templates/basic/templates/mon.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-dashboard\n  namespace: monitoring\n",
	})
	res := mustRender(t, cat, Options{}, "payments/checkout", "prod")
	var ids []string
	for _, o := range res.Objects {
		ids = append(ids, objectID(o))
	}
	want := "Namespace payments-prod,ConfigMap monitoring/checkout-dashboard,ConfigMap payments-prod/checkout-env,ClusterRole payments-checkout-reader,Deployment payments-prod/checkout"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("objects:\n%s\nwant:\n%s", got, want)
	}
}

func TestPatches(t *testing.T) {
	svc := func(patches string) string {
		return checkoutYAML[:strings.Index(checkoutYAML, "  environments:")] + patches
	}
	tests := []struct {
		name    string
		files   map[string]string
		want    []string
		wantErr string
	}{
		{
			name: "strategic merge from a file",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - path: patches/probe.yaml\n"),
				"services/payments/checkout/patches/probe.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          readinessProbe:\n            initialDelaySeconds: 20\n",
			},
			want: []string{"initialDelaySeconds: 20", "path: /healthz"},
		},
		{
			name: "JSON 6902 inline with a target",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: ConfigMap, name: checkout-env}\n      patch: |-\n        - op: add\n          path: /data/EXTRA\n          value: \"yes\"\n"),
			},
			want: []string{"EXTRA: \"yes\""},
		},
		{
			name: "labels survive a patch that removes them",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /metadata/labels, value: {pave.dev/service: other, pave.dev/team: storefront, tier: web}}\n"),
			},
			want: []string{"pave.dev/service: checkout", "pave.dev/team: payments", "tier: web"},
		},
		{
			name: "strategic merge naming a missing object",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - path: patches/ghost.yaml\n"),
				"services/payments/checkout/patches/ghost.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: checkout\nspec: {}\n",
			},
			wantErr: `services/payments/checkout/service.yaml:14:7: render payments/checkout (prod): patch services/payments/checkout/patches/ghost.yaml: targets StatefulSet "checkout", which the template does not render`,
		},
		{
			name: "target matching nothing",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Ingress}\n      patch: |-\n        - {op: remove, path: /spec}\n"),
			},
			wantErr: `services/payments/checkout/service.yaml:14:7: render payments/checkout (prod): patch spec.patches[0]: target {kind: Ingress} matches no rendered object`,
		},
		{
			name: "JSON 6902 without a target",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - patch: |-\n        - {op: remove, path: /spec}\n"),
			},
			wantErr: `patch spec.patches[0]: is a JSON 6902 patch (a list of operations) and needs a target`,
		},
		{
			name: "operation that fails",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: replace, path: /spec/nothing/here, value: 1}\n"),
			},
			wantErr: `patch spec.patches[0]: `,
		},
		{
			name: "a patch moving an object to another namespace",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: replace, path: /metadata/namespace, value: kube-system}\n"),
			},
			wantErr: `services/payments/checkout/service.yaml:14:7: render payments/checkout (prod): patch spec.patches[0]: moves Deployment "checkout" to namespace "kube-system"; patches may modify objects but not change their apiVersion, kind, name or namespace`,
		},
		{
			name: "a patch turning a ConfigMap into a ClusterRole",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: ConfigMap, name: checkout-env}\n      patch: |-\n        - {op: replace, path: /kind, value: ClusterRole}\n        - {op: replace, path: /apiVersion, value: rbac.authorization.k8s.io/v1}\n"),
			},
			wantErr: `services/payments/checkout/service.yaml:14:7: render payments/checkout (prod): patch spec.patches[0]: changes the kind of ConfigMap "checkout-env" to ClusterRole, changes the apiVersion of ConfigMap "checkout-env" from v1 to rbac.authorization.k8s.io/v1; patches may modify objects but not change their apiVersion, kind, name or namespace`,
		},
		{
			name: "a patch file changing an apiVersion, at its service.yaml line",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /metadata/annotations, value: {a: b}}\n    - path: patches/kind.yaml\n      target: {kind: ConfigMap}\n"),
				"services/payments/checkout/patches/kind.yaml": "- op: replace\n  path: /apiVersion\n  value: networking.k8s.io/v1\n",
			},
			wantErr: `services/payments/checkout/service.yaml:17:7: render payments/checkout (prod): patch services/payments/checkout/patches/kind.yaml: changes the apiVersion of ConfigMap "checkout-env" from v1 to networking.k8s.io/v1; patches may modify objects but not change their apiVersion, kind, name or namespace`,
		},
		{
			name: "a patch renaming an object",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: ConfigMap}\n      patch: |-\n        - {op: replace, path: /metadata/name, value: storefront-web}\n"),
			},
			wantErr: `patch spec.patches[0]: renames ConfigMap "checkout-env" to "storefront-web"; patches may modify objects but not change their apiVersion, kind, name or namespace`,
		},
		{
			name: "a patch renaming an object onto another (kustomize panics)",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: ConfigMap}\n      patch: |-\n        - {op: replace, path: /metadata/name, value: checkout}\n        - {op: replace, path: /kind, value: Deployment}\n        - {op: replace, path: /apiVersion, value: apps/v1}\n"),
			},
			wantErr: `services/payments/checkout/service.yaml:14:7: render payments/checkout (prod): patch spec.patches[0]: cannot be applied: may not add resource with an already registered id`,
		},
		{
			name: "a patch deleting an object",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - patch: |-\n        apiVersion: v1\n        kind: ConfigMap\n        metadata:\n          name: checkout-env\n        $patch: delete\n"),
			},
			wantErr: `patch spec.patches[0]: deletes ConfigMap "checkout-env"; patches may modify objects but not add or delete them`,
		},
		{
			name: "a patch naming the service's own namespace moves nothing",
			files: map[string]string{
				checkoutFile: svc("  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /metadata/namespace, value: payments-prod}\n"),
			},
			want: []string{"  name: checkout\n  namespace: payments-prod\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := testCatalog(t, tt.files)
			res, err := renderOne(t, cat, Options{Revision: "abc"}, "payments/checkout", "prod")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := string(res.YAML())
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestOneBrokenServiceLeavesOthersRendering(t *testing.T) {
	refunds := strings.NewReplacer("checkout", "refunds", "      replicas: 4\n", "      replicas: 4\n      port: 80\n").Replace(checkoutYAML)
	cat := testCatalog(t, map[string]string{
		checkoutFile:                             checkoutYAML,
		"services/payments/refunds/service.yaml": refunds,
	})
	results, errs := New(cat, Options{}).RenderAll("")
	if len(results) != 3 || len(errs) != 1 {
		t.Fatalf("got %d results and %d errors (%v), want 3 and 1", len(results), len(errs), errs)
	}
	if !strings.Contains(errs[0].Error(), "services/payments/refunds/service.yaml:16:13: render payments/refunds (prod): port: minimum") {
		t.Errorf("error = %v", errs[0])
	}
}
