package review

import (
	"testing"

	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

func TestFieldSummary(t *testing.T) {
	for _, tc := range []struct {
		fields []string
		want   string
	}{
		{[]string{"spec.replicas"}, "spec.replicas"},
		// Indexes are dropped and do not count as segments.
		{[]string{"spec.template.spec.containers[0].image", "spec.template.spec.containers[1].image"}, "spec.template.spec.containers[*].image"},
		// Cut after five segments.
		{[]string{"spec.template.spec.containers[0].securityContext.runAsUser"}, "spec.template.spec.containers[*].securityContext"},
		// Bracketed keys count; a path covers those it prefixes.
		{[]string{"metadata.labels[app.kubernetes.io/version]", "metadata.labels"}, "metadata.labels"},
		{[]string{"metadata.labels[app.kubernetes.io/version]"}, "metadata.labels[app.kubernetes.io/version]"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b, c and 2 more fields"},
	} {
		if got := fieldSummary(tc.fields); got != tc.want {
			t.Errorf("fieldSummary(%q) = %q, want %q", tc.fields, got, tc.want)
		}
	}
}

func TestShapeOf(t *testing.T) {
	deny := func(id, state string) Violation {
		return Violation{Violation: policy.Violation{Policy: id, Severity: policy.Deny}, State: state}
	}
	stamp := ObjectChange{Action: ActionChanged, Kind: "Service", Fields: []string{render.TemplateField}}
	for _, tc := range []struct {
		name string
		res  Result
		want string
	}{
		{"unchanged", Result{Change: ChangeUnchanged}, "render no change"},
		{"added", Result{Change: ChangeAdded, Diff: []ObjectChange{{Action: ActionAdded, Kind: "Deployment"}, {Action: ActionAdded, Kind: "ConfigMap"}, {Action: ActionAdded, Kind: "ConfigMap"}}}, "add Deployment, 2 ConfigMap"},
		{"template bump only", Result{Change: ChangeChanged, Diff: []ObjectChange{stamp}}, "only change the template version stamped on their objects"},
		{"template change", Result{Change: ChangeChanged, Diff: []ObjectChange{
			stamp,
			{Action: ActionChanged, Kind: "Deployment", Fields: []string{render.TemplateField, "spec.template.spec.securityContext.runAsUser"}},
			{Action: ActionAdded, Kind: "PodDisruptionBudget"},
		}}, "change Deployment spec.template.spec.securityContext.runAsUser, add PodDisruptionBudget, restamp the template version"},
		{"new and fixed denials", Result{Change: ChangeUnchanged,
			Violations: []Violation{deny("b-policy", StateNew), deny("a-policy", StateNew), deny("c-policy", StateExisting), {Violation: policy.Violation{Policy: "w", Severity: policy.Warn}, State: StateNew}},
			Fixed:      []Violation{deny("d-policy", StateFixed)}},
			"render no change; now fail a-policy, b-policy; no longer fail d-policy"},
		{"errors", Result{Change: ChangeChanged, Errors: []policy.Error{{Message: "boom"}}}, "fail to render or evaluate"},
	} {
		if got, _, _ := shapeOf(&tc.res); got != tc.want {
			t.Errorf("%s: shape %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMarkStates(t *testing.T) {
	v := func(policyID, field, msg string) Violation {
		return Violation{Violation: policy.Violation{Policy: policyID, Severity: policy.Deny, Field: field, Message: msg, Object: &policy.ObjectRef{Kind: "Deployment", Name: "api"}}}
	}
	head := &Result{Violations: []Violation{
		v("image-tag-pinned", "image", `image "api:latest" is not pinned`), // same policy, new message: existing
		v("no-privileged", "patches[0]", "privileged"),                     // new
	}}
	base := &Result{Violations: []Violation{
		v("image-tag-pinned", "image", `image "api:main" is not pinned`),
		v("probes-required", "healthCheck", "no readiness probe"), // gone: fixed
	}}
	markStates(head, base)
	if head.Violations[0].State != StateExisting || head.Violations[1].State != StateNew {
		t.Errorf("states %q, %q", head.Violations[0].State, head.Violations[1].State)
	}
	if len(head.Fixed) != 1 || head.Fixed[0].Policy != "probes-required" || head.Fixed[0].State != StateFixed {
		t.Errorf("fixed %+v", head.Fixed)
	}
	// A new pair: everything is new, nothing fixed.
	head2 := &Result{Violations: []Violation{v("image-tag-pinned", "image", "x")}}
	markStates(head2, nil)
	if head2.Violations[0].State != StateNew || len(head2.Fixed) != 0 {
		t.Errorf("unknown base: %+v", head2)
	}
}
