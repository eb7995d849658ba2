package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// The example catalog's baseline policies, run by the real engine over
// what an attacker with commit rights to one service folder could make
// pave apply: each case adds or changes one object of a rendered service
// and expects a denial of one policy on exactly that object.

// renderedInput renders a service of the example catalog for prod.
func renderedInput(t *testing.T, cat *catalog.Catalog, id string) (*catalog.Service, []*unstructured.Unstructured, string) {
	t.Helper()
	svc, ok := cat.Service(id)
	if !ok {
		t.Fatalf("no service %s", id)
	}
	res, err := render.New(cat, render.Options{}).Render(svc, "prod")
	if err != nil {
		t.Fatal(err)
	}
	return svc, res.Objects, res.Namespace
}

// rendered returns a deep copy of the rendered object of a kind.
func rendered(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o.DeepCopy()
		}
	}
	t.Fatalf("nothing of kind %s rendered", kind)
	return nil
}

func set(t *testing.T, o *unstructured.Unstructured, value any, fields ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(o.Object, value, fields...); err != nil {
		t.Fatal(err)
	}
}

// podTemplateOf returns the rendered Deployment's pod template, with the
// first container's image and security context changed by edit.
func podTemplateOf(t *testing.T, objs []*unstructured.Unstructured, edit func(container map[string]any)) map[string]any {
	t.Helper()
	template, _, _ := unstructured.NestedMap(rendered(t, objs, "Deployment").Object, "spec", "template")
	containers := template["spec"].(map[string]any)["containers"].([]any)
	edit(containers[0].(map[string]any))
	return template
}

func object(apiVersion, kind, name string, fields map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: fields}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetName(name)
	o.SetLabels(map[string]string{"pave.dev/team": "payments", "pave.dev/service": "checkout", "app.kubernetes.io/name": "checkout"})
	return o
}

func TestBaselineClosesHoles(t *testing.T) {
	cat := exampleWith(t, nil)
	e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	foreignImage := func(c map[string]any) { c["image"] = "ghcr.io/attacker/miner:1.0.0" }
	privileged := func(c map[string]any) {
		c["securityContext"].(map[string]any)["privileged"] = true
	}
	roleRef := func(name string) map[string]any {
		return map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
	}
	serviceAccount := []any{map[string]any{"kind": "ServiceAccount", "name": "checkout", "namespace": "payments-prod"}}

	cases := []struct {
		name    string
		service string // the example service whose rendering is changed
		// change adds an object to the rendering or changes one, and
		// returns it.
		change func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured
		policy string
		msg    string // in the denial's message
	}{
		{
			name: "ReplicationController runs an image from a foreign registry",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("v1", "ReplicationController", "miner", map[string]any{"spec": map[string]any{
					"replicas": int64(2),
					"selector": map[string]any{"app.kubernetes.io/name": "checkout"},
					"template": podTemplateOf(t, objs, foreignImage),
				}})
			},
			policy: "allowed-registries",
			msg:    `ReplicationController/miner: container "checkout" uses image "ghcr.io/attacker/miner:1.0.0" from a registry not allowed in pave.yaml`,
		},
		{
			name: "PodTemplate with a privileged container",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("v1", "PodTemplate", "node-root", map[string]any{"template": podTemplateOf(t, objs, privileged)})
			},
			policy: "no-privileged",
			msg:    `PodTemplate/node-root: container "checkout" runs privileged`,
		},
		{
			name: "custom workload kind with a privileged container",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("argoproj.io/v1alpha1", "Rollout", "canary", map[string]any{"spec": map[string]any{
					"replicas": int64(2),
					"template": podTemplateOf(t, objs, privileged),
				}})
			},
			policy: "no-privileged",
			msg:    `Rollout/canary: container "checkout" runs privileged`,
		},
		{
			name: "Service takes the cluster DNS address as an external IP",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				svc := rendered(t, objs, "Service")
				svc.SetName("dns-trap")
				set(t, svc, []any{"10.96.0.10"}, "spec", "externalIPs")
				return svc
			},
			policy: "no-external-ips",
			msg:    "Service/dns-trap: externalIPs 10.96.0.10 would send every node's traffic for these addresses to this Service",
		},
		{
			name: "ExternalName Service aliases another team's Service",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("v1", "Service", "web-alias", map[string]any{"spec": map[string]any{
					"type": "ExternalName", "externalName": "web.storefront-prod.svc.cluster.local",
				}})
			},
			policy: "service-type-restricted",
			msg:    `Service/web-alias: type ExternalName makes the Service an alias of "web.storefront-prod.svc.cluster.local"`,
		},
		{
			name: "LoadBalancer Service",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				svc := rendered(t, objs, "Service")
				set(t, svc, "LoadBalancer", "spec", "type")
				return svc
			},
			policy: "service-type-restricted",
			msg:    "Service/checkout: type LoadBalancer exposes the service outside the cluster",
		},
		{
			name: "Ingress with an nginx server snippet",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				ing := rendered(t, objs, "Ingress")
				ing.SetAnnotations(map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "location /steal { alias /etc/ingress-controller/ssl/; }"})
				return ing
			},
			policy: "no-ingress-snippets",
			msg:    "Ingress/checkout: annotation nginx.ingress.kubernetes.io/server-snippet writes raw configuration into the ingress controller",
		},
		{
			name: "Service with an HAProxy backend snippet",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				svc := rendered(t, objs, "Service")
				svc.SetAnnotations(map[string]string{"haproxy.org/backend-config-snippet": "http-request set-header X-Admin true"})
				return svc
			},
			policy: "no-ingress-snippets",
			msg:    "Service/checkout: annotation haproxy.org/backend-config-snippet writes raw configuration",
		},
		{
			name: "RoleBinding to cluster-admin",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("rbac.authorization.k8s.io/v1", "RoleBinding", "checkout-admin", map[string]any{
					"roleRef": roleRef("cluster-admin"), "subjects": serviceAccount,
				})
			},
			policy: "rbac-restricted",
			msg:    "RoleBinding/checkout-admin: binds ClusterRole cluster-admin, which grants every right in the cluster",
		},
		{
			name: "RoleBinding to edit",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("rbac.authorization.k8s.io/v1", "RoleBinding", "checkout-edit", map[string]any{
					"roleRef": roleRef("edit"), "subjects": serviceAccount,
				})
			},
			policy: "rbac-restricted",
			msg:    "RoleBinding/checkout-edit: binds ClusterRole edit",
		},
		{
			name: "ClusterRoleBinding of view to every authenticated user",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "payments-checkout-view", map[string]any{
					"roleRef":  roleRef("view"),
					"subjects": []any{map[string]any{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"}},
				})
			},
			policy: "rbac-restricted",
			msg:    "ClusterRoleBinding/payments-checkout-view: grants its role to group system:authenticated",
		},
		{
			name: "Role that grants everything",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("rbac.authorization.k8s.io/v1", "Role", "checkout", map[string]any{
					"rules": []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}},
				})
			},
			policy: "rbac-restricted",
			msg:    "Role/checkout: rules[0] grants every verb (*)",
		},
		{
			name: "Ingress for another team's host",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				ing := rendered(t, objs, "Ingress")
				rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
				rules[0].(map[string]any)["host"] = "shop.example.com"
				set(t, ing, rules, "spec", "rules")
				return ing
			},
			policy: "ingress-host-in-team-domain",
			msg:    `Ingress/checkout: host "shop.example.com" (spec.rules[0].host) is outside the domains of team payments (checkout.example.com, checkout.staging.example.com)`,
		},
		{
			name: "HTTPRoute without host names",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				return object("gateway.networking.k8s.io/v1", "HTTPRoute", "checkout", map[string]any{"spec": map[string]any{
					"parentRefs": []any{map[string]any{"name": "public", "namespace": "gateways"}},
				}})
			},
			policy: "ingress-host-in-team-domain",
			msg:    "HTTPRoute/checkout: spec.hostnames is empty",
		},
		{
			name:    "team without domains",
			service: "data/events-consumer",
			change: func(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
				ing := object("networking.k8s.io/v1", "Ingress", "events-consumer", map[string]any{"spec": map[string]any{
					"rules": []any{map[string]any{"host": "events.example.com"}},
				}})
				ing.SetLabels(map[string]string{"pave.dev/team": "data", "pave.dev/service": "events-consumer"})
				return ing
			},
			policy: "ingress-host-in-team-domain",
			msg:    `Ingress/events-consumer: host "events.example.com" (spec.rules[0].host) is not allowed: team data has no domains in pave.yaml (teams[].domains), so its services may use no host name`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.service
			if id == "" {
				id = "payments/checkout"
			}
			svc, objs, ns := renderedInput(t, cat, id)
			if res := e.Evaluate(context.Background(), policy.Input{Service: svc, Environment: "prod", Namespace: ns, Objects: objs}); res.Status != policy.StatusPass {
				t.Fatalf("the rendered service does not pass as it is: %+v", res.Violations)
			}
			hostile := tc.change(t, objs)
			hostile.SetNamespace(ns)
			changed := []*unstructured.Unstructured{}
			for _, o := range objs {
				if o.GetKind() != hostile.GetKind() || o.GetName() != hostile.GetName() {
					changed = append(changed, o)
				}
			}
			changed = append(changed, hostile)
			res := e.Evaluate(context.Background(), policy.Input{Service: svc, Environment: "prod", Namespace: ns, Objects: changed})
			if res.Status != policy.StatusFail {
				t.Fatalf("status %s, want fail: %+v %+v", res.Status, res.Violations, res.Errors)
			}
			var found bool
			for _, v := range res.Violations {
				on := fmt.Sprintf("%s/%s", hostile.GetKind(), hostile.GetName())
				if v.Object == nil || fmt.Sprintf("%s/%s", v.Object.Kind, v.Object.Name) != on {
					t.Errorf("denial on another object than %s: %s %s: %s", on, v.Policy, v.Object, v.Message)
					continue
				}
				if v.Policy == tc.policy && v.Blocking() && strings.Contains(v.Message, tc.msg) {
					found = true
					if v.Hint == "" {
						t.Errorf("%s: no hint", v.Policy)
					}
				}
			}
			if !found {
				t.Errorf("no %s denial with %q in:\n%s", tc.policy, tc.msg, describeViolations(res.Violations))
			}
		})
	}
}

func describeViolations(vs []policy.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %s on %v: %s\n", v.Severity, v.Policy, v.Object, v.Message)
	}
	return b.String()
}

// lineOf is the 1-based line of the first line of s that contains sub.
func lineOf(t *testing.T, s, sub string) int {
	t.Helper()
	for i, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			return i + 1
		}
	}
	t.Fatalf("no line with %q", sub)
	return 0
}

// TestBaselineThroughServiceYAML makes the same holes the way a developer
// would, in checkout's service.yaml, and expects each denial at the line
// responsible, in the environments it concerns, with every other service
// passing.
func TestBaselineThroughServiceYAML(t *testing.T) {
	checkout := exampleService(t, checkoutFile)
	withPatch := func(kind, op string) string {
		return checkout + fmt.Sprintf("  patches:\n    - target: {kind: %s, name: checkout}\n      patch: |-\n        - %s\n", kind, op)
	}
	cases := []struct {
		name, content, policy, msg string
		envs                       []string // where the denial is
		line                       string   // the text of its line
	}{
		{
			name:    "ingress host outside the team's domains",
			content: strings.Replace(checkout, "    host: checkout.example.com\n", "    host: checkout.example.net\n", 1),
			policy:  "ingress-host-in-team-domain",
			msg:     `Ingress/checkout: host "checkout.example.net" (spec.rules[0].host) is outside the domains of team payments`,
			envs:    []string{"prod"}, // staging sets its own host
			line:    "host: checkout.example.net",
		},
		{
			name:    "external IPs by patch",
			content: withPatch("Service", "{op: add, path: /spec/externalIPs, value: [10.96.0.10]}"),
			policy:  "no-external-ips",
			msg:     "Service/checkout: externalIPs 10.96.0.10",
			envs:    []string{"staging", "prod"},
			line:    "- target: {kind: Service",
		},
		{
			name:    "snippet annotation by patch",
			content: withPatch("Ingress", `{op: add, path: /metadata/annotations, value: {nginx.ingress.kubernetes.io/configuration-snippet: "more_set_headers X-Team: payments;"}}`),
			policy:  "no-ingress-snippets",
			msg:     "Ingress/checkout: annotation nginx.ingress.kubernetes.io/configuration-snippet writes raw configuration",
			envs:    []string{"staging", "prod"},
			line:    "- target: {kind: Ingress",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content == checkout {
				t.Fatal("checkout's service.yaml changed: update this test")
			}
			line := lineOf(t, tc.content, tc.line)
			rep := checkCatalog(t, exampleWith(t, map[string]string{checkoutFile: tc.content}), pipeline.Options{})
			denied := map[string]bool{}
			for _, res := range rep.Results {
				if res.Service != "payments/checkout" {
					if res.Status != policy.StatusPass {
						t.Errorf("%s: %s %+v %+v", label(res), res.Status, res.Violations, res.Errors)
					}
					continue
				}
				for _, v := range res.Violations {
					if !v.Blocking() || v.Policy != tc.policy || !strings.Contains(v.Message, tc.msg) {
						t.Errorf("%s: unexpected %s %s at line %d: %s", label(res), v.Severity, v.Policy, v.Line, v.Message)
						continue
					}
					denied[res.Environment] = true
					if v.File != checkoutFile || v.Line != line {
						t.Errorf("%s: %s at %s:%d, want line %d", label(res), v.Policy, v.File, v.Line, line)
					}
				}
			}
			for _, env := range []string{"staging", "prod"} {
				if want := strings.Contains(strings.Join(tc.envs, " "), env); denied[env] != want {
					t.Errorf("%s: denied %v, want %v", env, denied[env], want)
				}
			}
		})
	}
}
