package render

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pave-dev/pave/catalog"
)

// TestScopes: scope comes from the API group and kind, from Kubernetes'
// own list or pave.yaml's declarations; anything else is unknown.
func TestScopes(t *testing.T) {
	s := NewScopes([]catalog.CustomResource{
		{Group: "monitoring.coreos.com", Kind: "ServiceMonitor", Scope: catalog.ScopeNamespaced},
		{Group: "kyverno.io", Kind: "ClusterPolicy", Scope: catalog.ScopeCluster},
		// A declaration cannot make a built-in kind namespaced.
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Scope: catalog.ScopeNamespaced},
	})
	tests := []struct {
		apiVersion, kind string
		want             string // "" for unknown
	}{
		{"v1", "ConfigMap", catalog.ScopeNamespaced},
		{"apps/v1", "Deployment", catalog.ScopeNamespaced},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", catalog.ScopeCluster},
		{"networking.k8s.io/v1", "IPAddress", catalog.ScopeCluster},
		{"networking.k8s.io/v1", "ServiceCIDR", catalog.ScopeCluster},
		{"admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", catalog.ScopeCluster},
		{"resource.k8s.io/v1", "DeviceClass", catalog.ScopeCluster},
		{"storage.k8s.io/v1", "VolumeAttributesClass", catalog.ScopeCluster},
		{"monitoring.coreos.com/v1", "ServiceMonitor", catalog.ScopeNamespaced},
		{"kyverno.io/v1", "ClusterPolicy", catalog.ScopeCluster},
		// The kind alone decides nothing.
		{"v1", "ClusterRole", ""},
		{"example.com/v1", "ConfigMap", ""},
		{"monitoring.coreos.com/v1", "PodMonitor", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		gvk := schema.FromAPIVersionAndKind(tt.apiVersion, tt.kind)
		got, err := s.ScopeOf(gvk)
		if got != tt.want {
			t.Errorf("ScopeOf(%s %s) = %q, %v; want %q", tt.apiVersion, tt.kind, got, err, tt.want)
		}
		var unknown *UnknownScopeError
		if (tt.want == "") != errors.As(err, &unknown) {
			t.Errorf("ScopeOf(%s %s): error %v", tt.apiVersion, tt.kind, err)
		}
	}
}

const clusterRoleYAML = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %s\n"

// TestPlacementOfKinds: where an object goes is decided by its API group
// and kind; cluster-scoped objects only where pave.yaml allows the kind for
// the template and only with names of the service's own.
func TestPlacementOfKinds(t *testing.T) {
	const declared = "customResources:\n  - {group: monitoring.coreos.com, kind: ServiceMonitor, scope: Namespaced}\n  - {group: kyverno.io, kind: ClusterPolicy, scope: Cluster}\n"
	const allowing = declared + "templates:\n  basic:\n    allowClusterScoped: [ClusterRole, ClusterPolicy]\n    clusterScopedNames: [shared-reader]\n"
	tests := []struct {
		name     string
		template string
		config   string // added to pave.yaml
		wantErr  string
		wantIDs  []string // objects besides the Namespace, ConfigMap and Deployment
	}{
		{
			name:     "a built-in cluster-scoped kind no fixed list knew",
			template: "apiVersion: networking.k8s.io/v1\nkind: IPAddress\nmetadata:\n  name: 10.96.0.10\nspec:\n  parentRef: {group: \"\", resource: services, namespace: payments-prod, name: checkout}\n",
			wantErr:  `services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): template basic renders cluster-scoped IPAddress "10.96.0.10", which pave.yaml does not allow for this template (templates.basic.allowClusterScoped)`,
		},
		{
			name:     "a custom resource pave.yaml does not declare",
			template: "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n  name: checkout\n",
			config:   allowing,
			wantErr:  `services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): template basic renders PodMonitor "checkout": PodMonitor of apiVersion monitoring.coreos.com/v1 is neither built into Kubernetes v1.37.2 nor declared in pave.yaml, so pave cannot tell its scope; the platform team declares it in pave.yaml: customResources: [{group: monitoring.coreos.com, kind: PodMonitor, scope: Namespaced or Cluster}]`,
		},
		{
			name:     "a kind in the wrong group",
			template: "apiVersion: v1\nkind: ClusterRole\nmetadata:\n  name: payments-checkout\n",
			config:   allowing,
			wantErr:  `template basic renders ClusterRole "payments-checkout": ClusterRole of apiVersion v1 is not a kind of Kubernetes v1.37.2, and custom resources have an API group`,
		},
		{
			name:     "a declared namespaced custom resource goes to the team's namespace",
			template: "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: checkout\n",
			config:   allowing,
			wantIDs:  []string{"ServiceMonitor payments-prod/checkout"},
		},
		{
			name:     "a declared cluster-scoped custom resource the template may not render",
			template: "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: payments-checkout\n",
			config:   declared,
			wantErr:  `template basic renders cluster-scoped ClusterPolicy "payments-checkout", which pave.yaml does not allow for this template (templates.basic.allowClusterScoped)`,
		},
		{
			name:     "an undeclared custom resource",
			template: "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: payments-checkout\n",
			wantErr:  `template basic renders ClusterPolicy "payments-checkout": ClusterPolicy of apiVersion kyverno.io/v1 is neither built into Kubernetes`,
		},
		{
			name:     "a declared cluster-scoped custom resource the template may render, named for the service",
			template: "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: payments-checkout-images\n  namespace: payments-prod\n",
			config:   allowing,
			wantIDs:  []string{"ClusterPolicy payments-checkout-images"},
		},
		{
			name:     "a cluster-scoped object named for no service",
			template: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: system:aggregate-to-admin\n",
			config:   allowing,
			wantErr:  `services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): template basic renders cluster-scoped ClusterRole "system:aggregate-to-admin"; its name must be "payments-checkout" or start with "payments-checkout-", as pave derives per service, or be listed in pave.yaml (templates.basic.clusterScopedNames)`,
		},
		{
			name:     "a cluster-scoped object named for another service",
			template: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: storefront-web-reader\n",
			config:   allowing,
			wantErr:  `template basic renders cluster-scoped ClusterRole "storefront-web-reader"; its name must be "payments-checkout" or start with "payments-checkout-"`,
		},
		{
			name:     "a name that only starts like the service's",
			template: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: payments-checkoutx\n",
			config:   allowing,
			wantErr:  `template basic renders cluster-scoped ClusterRole "payments-checkoutx"; its name must be`,
		},
		{
			name:     "names pave derives and names the platform lists",
			template: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: payments-checkout\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: payments-checkout-reader\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shared-reader\n",
			config:   allowing,
			wantIDs:  []string{"ClusterRole payments-checkout", "ClusterRole payments-checkout-reader", "ClusterRole shared-reader"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{checkoutFile: checkoutYAML, "templates/basic/templates/extra.yaml": tt.template}
			files["pave.yaml"] = testConfig + tt.config
			res, err := renderOne(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range res.Objects {
				switch objectID(o) {
				case "Namespace payments-prod", "ConfigMap payments-prod/checkout-env", "Deployment payments-prod/checkout":
				default:
					ids = append(ids, objectID(o))
				}
			}
			if got, want := strings.Join(ids, ","), strings.Join(tt.wantIDs, ","); got != want {
				t.Errorf("objects %s, want %s", got, want)
			}
		})
	}
}
