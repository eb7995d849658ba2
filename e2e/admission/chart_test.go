package admission

import (
	"context"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// systemNamespace is where pave keeps its inventories, Events and Lease,
// and where the chart writes its Role.
const systemNamespace = "pave-system"

// renderChart renders charts/pave the way `helm install` would, with the
// chart's defaults under vals, into objects.
func renderChart(t *testing.T, release, ns string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch, err := loader.Load("../../charts/pave")
	if err != nil {
		t.Fatal(err)
	}
	caps := *chartutil.DefaultCapabilities
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.37.0", Major: "1", Minor: "37"}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: release, Namespace: ns, IsInstall: true}, &caps)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(content, "\n---") {
			js, err := sigsyaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(js) == "null" {
				continue
			}
			o := &unstructured.Unstructured{}
			if err := o.UnmarshalJSON(js); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if o.GetNamespace() == "" {
				o.SetNamespace(ns) // as helm does for namespaced objects
			}
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(a.GetKind()+"/"+a.GetNamespace()+"/"+a.GetName(), b.GetKind()+"/"+b.GetNamespace()+"/"+b.GetName())
	})
	return out, nil
}

func mustRender(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChart(t, "pave", systemNamespace, vals)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// baseValues are the values every install needs, with overrides merged in.
func baseValues(overrides map[string]any) map[string]any {
	vals := map[string]any{
		"source":   map[string]any{"repo": "https://git.example.com/platform/catalog.git"},
		"clusters": []any{map[string]any{"name": "prod", "kubeconfigSecret": "pave-cluster-prod"}},
	}
	for k, v := range overrides {
		vals[k] = v
	}
	return vals
}

func ofKind[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) []T {
	t.Helper()
	var out []T
	for _, o := range objs {
		if o.GetKind() != kind {
			continue
		}
		var v T
		if err := runtimeConvert(o.Object, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestPaveChartIsAdmitted renders charts/pave the way `helm install` would
// and server-side dry-runs every object, the Deployment's pod admitted under
// Pod Security restricted.
func TestPaveChartIsAdmitted(t *testing.T) {
	ns := testcluster.Namespace(t, testcluster.PodSecurity("restricted"))
	cs := testcluster.Clientset(t)
	ctx := context.Background()
	// The chart's Role lives in pave-system, which pave (or helm
	// --create-namespace) creates.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	vals := map[string]any{
		"source":         map[string]any{"repo": "https://git.example.com/platform/catalog.git", "credentialsSecret": "pave-git", "credentialsType": "token"},
		"webhookSecret":  "pave-webhook",
		"apiTokenSecret": "pave-api-token",
		"clusters": []any{
			map[string]any{"name": "prod", "kubeconfigSecret": "pave-cluster-prod"},
			map[string]any{"name": "staging", "inCluster": true},
		},
		"impersonation": map[string]any{"enabled": true, "user": "system:serviceaccount:" + ns + ":team-{team}", "teams": []any{"payments", "data"}},
		"networkPolicy": map[string]any{
			"apiFrom":    []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}},
			"probesFrom": []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}},
		},
	}
	objs, err := renderChart(t, "pave-"+ns, ns, vals)
	if err != nil {
		t.Fatal(err)
	}
	a := newApplier(t, testcluster.Config(t))
	var kinds []string
	var pods []map[string]any
	for _, o := range objs {
		// The pod below needs its ServiceAccount to exist: apply it for real.
		if err := a.apply(ctx, o, "helm", o.GetKind() != "ServiceAccount"); err != nil {
			t.Errorf("%s %s/%s rejected: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		kinds = append(kinds, o.GetKind())
		if tmpl, _ := podTemplate(o); tmpl != nil {
			pods = append(pods, tmpl)
		}
	}
	want := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "NetworkPolicy", "Role", "Role", "RoleBinding", "RoleBinding", "Service", "ServiceAccount"}
	if !slices.Equal(kinds, want) || len(pods) != 1 {
		t.Fatalf("dry-ran %v and %d pod templates, want %v and 1", kinds, len(pods), want)
	}
	var pod corev1.Pod
	if err := runtimeConvert(pods[0], &pod); err != nil {
		t.Fatal(err)
	}
	pod.Name, pod.Namespace = "pave-admission", ns
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("pave's pod is not admitted under Pod Security restricted: %v", err)
	}
	// Probes are on their own port, not the Service's.
	c := pod.Spec.Containers[0]
	if c.LivenessProbe.HTTPGet.Port.String() != "probes" || c.ReadinessProbe.HTTPGet.Port.String() != "probes" {
		t.Errorf("probes on port %s/%s, want probes", c.LivenessProbe.HTTPGet.Port.String(), c.ReadinessProbe.HTTPGet.Port.String())
	}
	for _, arg := range []string{"--probe-listen=:8081", "--api-token-file=/api-token/token", "--git-token-file=/git/token", "--http-max-conns=256", "--http-read-timeout=15s", "--cluster=staging=/clusters/staging/kubeconfig"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args lack %s: %v", arg, c.Args)
		}
	}
	// The garbage collector knows the container's memory limit.
	if i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" }); i < 0 ||
		c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil || c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
		t.Errorf("GOMEMLIMIT is not the container's memory limit: %+v", c.Env)
	}
}

// The NetworkPolicy lets in only what the values allow and lets out only
// DNS, the API servers and the git host.
func TestPaveChartNetworkPolicy(t *testing.T) {
	ingressNginx := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}
	monitoring := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}
	for _, tc := range []struct {
		name         string
		np           map[string]any
		ingressPorts []int32 // one per ingress rule
	}{
		{"defaults: no ingress but the node's", map[string]any{}, nil},
		{"API from the ingress controller", map[string]any{"apiFrom": []any{ingressNginx}}, []int32{8080}},
		{"API and metrics", map[string]any{"apiFrom": []any{ingressNginx}, "probesFrom": []any{monitoring}}, []int32{8080, 8081}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nps := ofKind[networkingv1.NetworkPolicy](t, mustRender(t, baseValues(map[string]any{"networkPolicy": tc.np})), "NetworkPolicy")
			if len(nps) != 1 {
				t.Fatalf("%d NetworkPolicies, want 1", len(nps))
			}
			spec := nps[0].Spec
			if !slices.Equal(spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
				t.Errorf("policyTypes %v", spec.PolicyTypes)
			}
			if spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "pave" {
				t.Errorf("podSelector %v", spec.PodSelector)
			}
			var ports []int32
			for _, r := range spec.Ingress {
				if len(r.From) == 0 || len(r.Ports) != 1 {
					t.Errorf("ingress rule %+v: want peers and one port", r)
					continue
				}
				ports = append(ports, r.Ports[0].Port.IntVal)
			}
			if !slices.Equal(ports, tc.ingressPorts) {
				t.Errorf("ingress ports %v, want %v", ports, tc.ingressPorts)
			}
			var egress []int32
			for _, r := range spec.Egress {
				if len(r.To) == 0 {
					t.Errorf("egress rule %+v allows every destination", r)
				}
				for _, p := range r.Ports {
					egress = append(egress, p.Port.IntVal)
				}
			}
			if want := []int32{53, 53, 443, 6443, 443, 22}; !slices.Equal(egress, want) {
				t.Errorf("egress ports %v, want %v", egress, want)
			}
		})
	}
	// An egress rule without destinations would allow them all.
	_, err := renderChart(t, "pave", systemNamespace, baseValues(map[string]any{"networkPolicy": map[string]any{"egress": map[string]any{"git": map[string]any{"to": []any{}}}}}))
	if err == nil || !strings.Contains(err.Error(), "networkPolicy.egress.git.to is empty") {
		t.Errorf("empty egress.git.to: %v", err)
	}
	if nps := ofKind[networkingv1.NetworkPolicy](t, mustRender(t, baseValues(map[string]any{"networkPolicy": map[string]any{"enabled": false}})), "NetworkPolicy"); len(nps) != 0 {
		t.Errorf("networkPolicy.enabled=false renders %d NetworkPolicies", len(nps))
	}
}

// rules returns every RBAC rule the chart grants, "Kind/namespace/name: "
// before each.
func rules(t *testing.T, objs []*unstructured.Unstructured) map[string][]rbacv1.PolicyRule {
	out := map[string][]rbacv1.PolicyRule{}
	for _, r := range ofKind[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		out["ClusterRole/"+r.Name] = r.Rules
	}
	for _, r := range ofKind[rbacv1.Role](t, objs, "Role") {
		out["Role/"+r.Namespace+"/"+r.Name] = r.Rules
	}
	return out
}

// The RBAC has no wildcard, writes only through impersonation when it is
// on, and impersonates only then and only the teams' users.
func TestPaveChartRBAC(t *testing.T) {
	writes := []string{"create", "delete", "patch"}
	for _, tc := range []struct {
		name          string
		impersonation map[string]any
		writes        bool     // pave writes the managed kinds itself
		impersonate   []string // "Role/ns/name resource:name" granted impersonate
	}{
		{"no impersonation", nil, true, nil},
		{"impersonation disabled", map[string]any{"enabled": false, "teams": []any{"payments"}}, true, nil},
		{"service accounts of listed teams", map[string]any{"enabled": true, "teams": []any{"payments", "data"}}, false,
			[]string{"Role/pave-system/pave-impersonate serviceaccounts:team-payments", "Role/pave-system/pave-impersonate serviceaccounts:team-data"}},
		{"service accounts of any team", map[string]any{"enabled": true}, false,
			[]string{"Role/pave-system/pave-impersonate serviceaccounts:*any*"}},
		{"users of listed teams", map[string]any{"enabled": true, "user": "team:{team}", "teams": []any{"payments"}}, false,
			[]string{"ClusterRole/pave users:team:payments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := baseValues(nil)
			if tc.impersonation != nil {
				vals["impersonation"] = tc.impersonation
			}
			granted := rules(t, mustRender(t, vals))
			var impersonate []string
			writesManaged := false
			for where, rs := range granted {
				for _, r := range rs {
					for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
						if slices.Contains(list, "*") {
							t.Errorf("%s: wildcard in %+v", where, r)
						}
					}
					if slices.Contains(r.Verbs, "impersonate") {
						if len(r.Verbs) != 1 {
							t.Errorf("%s: impersonate with other verbs: %+v", where, r)
						}
						for _, res := range r.Resources {
							if len(r.ResourceNames) == 0 {
								impersonate = append(impersonate, where+" "+res+":*any*")
							}
							for _, n := range r.ResourceNames {
								impersonate = append(impersonate, where+" "+res+":"+n)
							}
						}
					}
					if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "clusterroles") || slices.Contains(r.Resources, "rolebindings") {
						t.Errorf("%s grants %v on %v", where, r.Verbs, r.Resources)
					}
					if strings.HasPrefix(where, "ClusterRole/") && slices.Contains(r.Resources, "deployments") {
						writesManaged = slices.ContainsFunc(writes, func(v string) bool { return slices.Contains(r.Verbs, v) })
					}
				}
			}
			slices.Sort(impersonate)
			want := slices.Sorted(slices.Values(tc.impersonate))
			if !slices.Equal(impersonate, want) {
				t.Errorf("impersonate granted on %q, want %q", impersonate, want)
			}
			if writesManaged != tc.writes {
				t.Errorf("pave writes the managed kinds itself: %v, want %v", writesManaged, tc.writes)
			}
		})
	}
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"wildcard resource", map[string]any{"rbac": map[string]any{"managedResources": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"*"}}}}}, "no wildcards"},
		{"wildcard group", map[string]any{"rbac": map[string]any{"managedResources": []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"deployments"}}}}}, "no wildcards"},
		{"users of every team", map[string]any{"impersonation": map[string]any{"enabled": true, "user": "team:{team}"}}, "impersonation.teams"},
		{"one user for every team", map[string]any{"impersonation": map[string]any{"enabled": true, "user": "system:admin"}}, "must contain {team}"},
	} {
		if _, err := renderChart(t, "pave", systemNamespace, baseValues(tc.vals)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
