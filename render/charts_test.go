package render

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// The real charts of testdata/charts are public Helm charts, vendored
// unmodified (see each SOURCE.md); pave.yaml maps pave's settings onto
// their values, and nothing else is written for them.

// realChartsConfig is the platform team's pave.yaml for them.
const realChartsConfig = `apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: prod, cluster: prod}
teams:
  - {name: payments, owners: [a@example.com], domains: [example.com]}
registries: [registry.example.com]
# The platform installs external-dns's CRDs: its crds/ folder is left out.
customResources:
  - {group: externaldns.k8s.io, kind: DNSEndpoint, scope: Namespaced}
  - {group: externaldns.k8s.io, kind: DNSRecord, scope: Namespaced}
platform:
  ingressClass: nginx
templates:
  podinfo:
    values:
      image.repository: "{{ .image.repository }}"
      image.tag: "{{ .image.tag }}"
      replicaCount: "{{ .replicas }}"
      service.httpPort: "{{ .port }}"
      resources: "{{ .pave.resources }}"
      extraEnvs: "{{ .containerEnv }}"
      hpa.enabled: "{{ set .autoscaling }}"
      hpa.maxReplicas: "{{ .autoscaling.max }}"
      hpa.cpu: "{{ .autoscaling.targetCPU }}"
      ingress.enabled: "{{ set .ingress }}"
      ingress.className: "{{ .platform.ingressClass }}"
      ingress.hosts:
        - host: "{{ .ingress.host }}"
          paths: [{path: /, pathType: Prefix}]
      podAnnotations.example\.com/team: "{{ .pave.team }}"
  nginx:
    values:
      image.registry: "{{ .image.registry }}"
      image.repository: "{{ .image.path }}"
      image.tag: "{{ .image.tag }}"
      image.digest: "{{ .image.digest }}"
      global.security.allowInsecureImages: true
      replicaCount: "{{ .replicas }}"
      containerPorts.http: "{{ .port }}"
      resources: "{{ .pave.resources }}"
      extraEnvVars: "{{ .containerEnv }}"
      tls.enabled: false
      ingress.enabled: "{{ set .ingress }}"
      ingress.hostname: "{{ .ingress.host }}"
      ingress.ingressClassName: "{{ .platform.ingressClass }}"
  external-dns:
    values:
      image.repository: "{{ .image.repository }}"
      image.tag: "{{ .image.tag }}"
      replicaCount: "{{ .replicas }}"
      env: "{{ .containerEnv }}"
      namespaced: true
      provider.name: inmemory
      policy: sync
`

// realChartsCatalog loads a catalog with the vendored charts as its
// templates and the given services.
func realChartsCatalog(t testing.TB, config string, services map[string]string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{"pave.yaml": {Data: []byte(config)}}
	for _, name := range []string{"podinfo", "nginx", "external-dns"} {
		root := path.Join("testdata", "charts", name, "chart")
		err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path.Join(root, p))
			if err != nil {
				return err
			}
			fsys[path.Join("templates", name, p)] = &fstest.MapFile{Data: data}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for file, data := range services {
		fsys[file] = &fstest.MapFile{Data: []byte(data)}
	}
	cat, err := catalog.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func serviceOn(template, name, extra string) string {
	return "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: " + name + "\n  team: payments\nspec:\n  template: " + template + "\n  image: registry.example.com/payments/" + name + ":1.4.2\n" + extra
}

func findObject(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// at is "pave.yaml:LINE:COL" of the first key under templates.<template>
// that starts with prefix.
func at(t *testing.T, config, template, prefix string) string {
	t.Helper()
	in := false
	for i, line := range strings.Split(config, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if len(line)-len(trimmed) == 2 {
			in = trimmed == template+":"
		}
		if in && strings.HasPrefix(trimmed, prefix) {
			return fmt.Sprintf("pave.yaml:%d:%d", i+1, len(line)-len(trimmed)+1)
		}
	}
	t.Fatalf("no line %q under %s", prefix, template)
	return ""
}

// nested reads a field of an object ("spec", "replicas").
func nested(t *testing.T, o *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, fields...)
	if err != nil || !ok {
		t.Fatalf("%s %s has no %s", o.GetKind(), o.GetName(), strings.Join(fields, "."))
	}
	return v
}

func firstContainer(t *testing.T, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs := nested(t, o, "spec", "template", "spec", "containers").([]any)
	return cs[0].(map[string]any)
}

func renderReal(t *testing.T, cat *catalog.Catalog, id, env string) *Result {
	t.Helper()
	svc, ok := cat.Service(id)
	if !ok {
		t.Fatalf("%s is not valid: %v", id, cat.Errors)
	}
	res, err := New(cat, Options{}).Render(svc, env)
	if err != nil {
		t.Fatalf("render %s: %v", id, err)
	}
	return res
}

func mustObject(t *testing.T, res *Result, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := findObject(res.Objects, kind, name)
	if o == nil {
		var have []string
		for _, o := range res.Objects {
			have = append(have, o.GetKind()+"/"+o.GetName())
		}
		t.Fatalf("no %s %s rendered (have %s)", kind, name, strings.Join(have, ", "))
	}
	return o
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// TestPodinfoThroughAMapping: the unmodified podinfo chart renders a
// service's settings where the chart wants them: image in parts, port,
// replicas (an int, overridden per environment), env and secretEnv,
// resources from the size, an ingress on the platform's class, an HPA
// from autoscaling; an unset setting leaves the chart's default.
func TestPodinfoThroughAMapping(t *testing.T) {
	cat := realChartsCatalog(t, realChartsConfig, map[string]string{
		"services/payments/checkout/service.yaml": serviceOn("podinfo", "checkout", "  port: 8080\n  replicas: 3\n  size: medium\n  env:\n    LOG_LEVEL: info\n  secretEnv:\n    TOKEN: {secret: checkout, key: token}\n  ingress:\n    host: checkout.example.com\n  environments:\n    prod:\n      replicas: 5\n    staging:\n      autoscaling: {max: 4, targetCPU: 70}\n"),
		"services/payments/plain/service.yaml":    serviceOn("podinfo", "plain", ""),
	})
	for _, e := range cat.Errors {
		t.Error(e)
	}
	prod := renderReal(t, cat, "payments/checkout", "prod")
	dep := mustObject(t, prod, "Deployment", "checkout-podinfo")
	equal(t, "replicas", nested(t, dep, "spec", "replicas"), int64(5))
	c := firstContainer(t, dep)
	equal(t, "image", c["image"], "registry.example.com/payments/checkout:1.4.2")
	if cmd := fmt.Sprint(c["command"]); !strings.Contains(cmd, "--port=8080") {
		t.Errorf("command %s does not listen on the service's port", cmd)
	}
	equal(t, "env", c["env"], []any{
		map[string]any{"name": "PODINFO_UI_COLOR", "value": "#34577c"},
		map[string]any{"name": "LOG_LEVEL", "value": "info"},
		map[string]any{"name": "TOKEN", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "checkout", "key": "token"}}},
	})
	equal(t, "resources", c["resources"], map[string]any{
		"requests": map[string]any{"cpu": "250m", "memory": "512Mi"},
		"limits":   map[string]any{"cpu": "1", "memory": "1Gi"},
	})
	equal(t, "pod annotation", nested(t, dep, "spec", "template", "metadata", "annotations", "example.com/team"), "payments")
	ing := mustObject(t, prod, "Ingress", "checkout-podinfo")
	equal(t, "ingress class", nested(t, ing, "spec", "ingressClassName"), "nginx")
	rules := nested(t, ing, "spec", "rules").([]any)
	equal(t, "ingress host", rules[0].(map[string]any)["host"], "checkout.example.com")
	if findObject(prod.Objects, "HorizontalPodAutoscaler", "checkout-podinfo") != nil {
		t.Error("an HPA without autoscaling")
	}

	staging := renderReal(t, cat, "payments/checkout", "staging")
	hpa := mustObject(t, staging, "HorizontalPodAutoscaler", "checkout-podinfo")
	equal(t, "maxReplicas", nested(t, hpa, "spec", "maxReplicas"), int64(4))
	if _, set, _ := unstructured.NestedFieldNoCopy(mustObject(t, staging, "Deployment", "checkout-podinfo").Object, "spec", "replicas"); set {
		t.Error("the Deployment sets replicas under an HPA")
	}

	// Nothing set but the image: the chart's defaults.
	plain := renderReal(t, cat, "payments/plain", "prod")
	pdep := mustObject(t, plain, "Deployment", "plain-podinfo")
	equal(t, "default replicas", nested(t, pdep, "spec", "replicas"), int64(1))
	if cmd := fmt.Sprint(firstContainer(t, pdep)["command"]); !strings.Contains(cmd, "--port=9898") {
		t.Errorf("command %s does not keep the chart's port", cmd)
	}
	if findObject(plain.Objects, "Ingress", "plain-podinfo") != nil {
		t.Error("an Ingress without an ingress setting")
	}
}

// TestBitnamiNginxThroughAMapping: bitnami/nginx with its library chart
// bitnami/common renders the image from its parts (a digest too), the
// port, replicas and env; pave.yaml's literals turn off what a golden
// path must not have (a self-signed TLS secret made anew on each render)
// and allow an image from the platform's registry.
func TestBitnamiNginxThroughAMapping(t *testing.T) {
	const digest = "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1"
	cat := realChartsCatalog(t, realChartsConfig, map[string]string{
		"services/payments/web/service.yaml":    serviceOn("nginx", "web", "  port: 8081\n  replicas: 2\n  env:\n    A: b\n  ingress:\n    host: web.example.com\n"),
		"services/payments/pinned/service.yaml": strings.Replace(serviceOn("nginx", "pinned", ""), ":1.4.2", "@"+digest, 1),
	})
	for _, e := range cat.Errors {
		t.Error(e)
	}
	res := renderReal(t, cat, "payments/web", "prod")
	dep := mustObject(t, res, "Deployment", "web-nginx")
	equal(t, "replicas", nested(t, dep, "spec", "replicas"), int64(2))
	c := firstContainer(t, dep)
	equal(t, "image", c["image"], "registry.example.com/payments/web:1.4.2")
	equal(t, "container port", c["ports"].([]any)[0].(map[string]any)["containerPort"], int64(8081))
	if env := fmt.Sprint(c["env"]); !strings.Contains(env, "map[name:A value:b]") {
		t.Errorf("env %s lacks A=b", env)
	}
	equal(t, "resources", c["resources"], map[string]any{
		"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
		"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
	})
	ing := mustObject(t, res, "Ingress", "web-nginx")
	equal(t, "ingress host", nested(t, ing, "spec", "rules").([]any)[0].(map[string]any)["host"], "web.example.com")
	equal(t, "ingress class", nested(t, ing, "spec", "ingressClassName"), "nginx")
	if findObject(res.Objects, "Secret", "web-nginx-tls") != nil {
		t.Error("the chart's self-signed TLS secret is rendered")
	}
	again := renderReal(t, cat, "payments/web", "prod")
	equal(t, "hash of a second render", again.Hash, res.Hash)

	pinned := renderReal(t, cat, "payments/pinned", "prod")
	equal(t, "image by digest", firstContainer(t, mustObject(t, pinned, "Deployment", "pinned-nginx"))["image"], "registry.example.com/payments/pinned@"+digest)
}

// TestExternalDNSThroughAMapping: external-dns, whose schema is strict,
// renders namespaced RBAC and its Deployment from the mapping.
func TestExternalDNSThroughAMapping(t *testing.T) {
	cat := realChartsCatalog(t, realChartsConfig, map[string]string{
		"services/payments/dns/service.yaml": serviceOn("external-dns", "dns", "  replicas: 1\n  env:\n    AWS_REGION: eu-west-1\n"),
	})
	for _, e := range cat.Errors {
		t.Error(e)
	}
	res := renderReal(t, cat, "payments/dns", "prod")
	mustObject(t, res, "Role", "dns-external-dns")
	mustObject(t, res, "RoleBinding", "dns-external-dns-viewer")
	dep := mustObject(t, res, "Deployment", "dns-external-dns")
	c := firstContainer(t, dep)
	equal(t, "image", c["image"], "registry.example.com/payments/dns:1.4.2")
	args := fmt.Sprint(c["args"])
	for _, want := range []string{"--provider=inmemory", "--policy=sync", "--namespace=payments-prod"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %s lack %s", args, want)
		}
	}
	equal(t, "env", c["env"], []any{map[string]any{"name": "AWS_REGION", "value": "eu-west-1"}})
}

// TestRealChartsRefuse: what a chart does not take, or a value its
// schema refuses, is an error where it was written: a setting the
// mapping does not read at the service's line (pave validate), a value
// the chart's schema refuses at the setting it was mapped from (pave
// check), a path the chart's schema does not allow at the pave.yaml line.
func TestRealChartsRefuse(t *testing.T) {
	t.Run("a setting the mapping does not read", func(t *testing.T) {
		cat := realChartsCatalog(t, realChartsConfig, map[string]string{
			"services/payments/checkout/service.yaml": serviceOn("podinfo", "checkout", "  schedule: \"@daily\"\n  healthCheck:\n    path: /healthz\n"),
			"services/payments/web/service.yaml":      serviceOn("nginx", "web", "  autoscaling: {max: 3}\n"),
		})
		var got []string
		for _, e := range cat.Errors {
			got = append(got, e.Error())
		}
		want := []string{
			"services/payments/checkout/service.yaml:9:3: template podinfo does not take spec.schedule: pave.yaml templates.podinfo.values reads no .schedule (it reads: autoscaling, env, image, ingress, port, replicas, secretEnv, size)",
			"services/payments/checkout/service.yaml:10:3: template podinfo does not take spec.healthCheck: pave.yaml templates.podinfo.values reads no .healthCheck (it reads: autoscaling, env, image, ingress, port, replicas, secretEnv, size)",
			"services/payments/web/service.yaml:9:3: template nginx does not take spec.autoscaling: pave.yaml templates.nginx.values reads no .autoscaling (it reads: env, image, ingress, port, replicas, secretEnv, size)",
		}
		equal(t, "errors", strings.Join(got, "\n"), strings.Join(want, "\n"))
	})
	t.Run("a value the chart's schema refuses", func(t *testing.T) {
		cat := realChartsCatalog(t, realChartsConfig, map[string]string{
			"services/payments/dns/service.yaml": serviceOn("external-dns", "dns", "  environments:\n    prod:\n      replicas: 2\n"),
		})
		svc, ok := cat.Service("payments/dns")
		if !ok {
			t.Fatal(cat.Errors)
		}
		r := New(cat, Options{})
		if _, err := r.Render(svc, "staging"); err != nil {
			t.Errorf("staging: %v", err)
		}
		_, err := r.Render(svc, "prod")
		want := "services/payments/dns/service.yaml:11:17: render payments/dns (prod): template external-dns@1.21.1 does not accept replicaCount from spec.environments.prod.replicas: maximum: got 2, want 1 (mapped at " + at(t, realChartsConfig, "external-dns", "replicaCount:") + ")"
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
	t.Run("a string where the chart's schema wants an int", func(t *testing.T) {
		config := strings.Replace(realChartsConfig, `      replicaCount: "{{ .replicas }}"
      containerPorts.http`, `      replicaCount: "n{{ .replicas }}"
      containerPorts.http`, 1)
		cat := realChartsCatalog(t, config, map[string]string{
			"services/payments/web/service.yaml": serviceOn("nginx", "web", "  replicas: 2\n"),
		})
		svc, ok := cat.Service("payments/web")
		if !ok {
			t.Fatal(cat.Errors)
		}
		_, err := New(cat, Options{}).Render(svc, "prod")
		want := "services/payments/web/service.yaml:9:13: render payments/web (prod): template nginx@22.1.1 does not accept replicaCount from spec.replicas: got string, want integer (mapped at " + at(t, config, "nginx", "replicaCount:") + ")"
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
	t.Run("a path the chart's schema does not allow", func(t *testing.T) {
		config := strings.Replace(realChartsConfig, "      replicaCount: \"{{ .replicas }}\"\n      env:", "      replicaCount: \"{{ .replicas }}\"\n      image.digest: \"{{ .image.digest }}\"\n      env:", 1)
		cat := realChartsCatalog(t, config, map[string]string{
			"services/payments/dns/service.yaml": serviceOn("external-dns", "dns", ""),
			"services/payments/web/service.yaml": serviceOn("nginx", "web", ""),
		})
		var got []string
		for _, e := range cat.Errors {
			got = append(got, e.Error())
		}
		bad := at(t, config, "external-dns", "image.digest:")
		msg := bad + ": templates.external-dns.values.image.digest: the chart's values.schema.json does not allow image.digest (pullPolicy, repository, tag)"
		want := []string{msg, "services/payments/dns/service.yaml:7:13: spec.template: template external-dns cannot be used until pave.yaml templates.external-dns.values is mended (" + msg + ")"}
		equal(t, "errors", strings.Join(got, "\n"), strings.Join(want, "\n"))
		if _, ok := cat.Service("payments/web"); !ok {
			t.Error("a service of another template was refused")
		}
	})
	t.Run("a mapping that fails on a service's values", func(t *testing.T) {
		config := strings.Replace(realChartsConfig, `hpa.cpu: "{{ .autoscaling.targetCPU }}"`, `hpa.cpu: "{{ len .autoscaling.targetCPU }}"`, 1)
		cat := realChartsCatalog(t, config, map[string]string{
			"services/payments/checkout/service.yaml": serviceOn("podinfo", "checkout", "  autoscaling: {max: 3, targetCPU: 60}\n"),
		})
		svc, ok := cat.Service("payments/checkout")
		if !ok {
			t.Fatal(cat.Errors)
		}
		_, err := New(cat, Options{}).Render(svc, "prod")
		want := "services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): " + at(t, config, "podinfo", "hpa.cpu:") + ": templates.podinfo.values.hpa.cpu: executing \"hpa.cpu\" at <len .autoscaling.targetCPU>: error calling len: len of type int64"
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
}

// TestMappingChangeRerenders: the render cache, shared across catalog
// revisions, does not serve a render made under another mapping.
func TestMappingChangeRerenders(t *testing.T) {
	services := map[string]string{"services/payments/checkout/service.yaml": serviceOn("podinfo", "checkout", "")}
	cache := NewCache()
	before := realChartsCatalog(t, realChartsConfig, services)
	after := realChartsCatalog(t, strings.Replace(realChartsConfig, `example\.com/team: "{{ .pave.team }}"`, `example\.com/team: "team {{ .pave.team }}"`, 1), services)
	for _, c := range []struct {
		cat  *catalog.Catalog
		want string
	}{{before, "payments"}, {after, "team payments"}} {
		svc, ok := c.cat.Service("payments/checkout")
		if !ok {
			t.Fatal(c.cat.Errors)
		}
		res, err := New(c.cat, Options{Cache: cache}).Render(svc, "prod")
		if err != nil {
			t.Fatal(err)
		}
		dep := mustObject(t, res, "Deployment", "checkout-podinfo")
		equal(t, "pod annotation", nested(t, dep, "spec", "template", "metadata", "annotations", "example.com/team"), c.want)
	}
}
