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
	deny := func(id, state string) policy.Violation {
		return policy.Violation{Policy: id, Severity: policy.Deny, State: state}
	}
	stamp := render.ObjectChange{Action: render.ActionChanged, Kind: "Service", Fields: []string{render.TemplateField}}
	for _, tc := range []struct {
		name string
		res  policy.Result
		want string
	}{
		{"unchanged", policy.Result{Change: policy.ChangeUnchanged}, "render no change"},
		{"added", policy.Result{Change: policy.ChangeAdded, Diff: []render.ObjectChange{{Action: render.ActionAdded, Kind: "Deployment"}, {Action: render.ActionAdded, Kind: "ConfigMap"}, {Action: render.ActionAdded, Kind: "ConfigMap"}}}, "add Deployment, 2 ConfigMap"},
		{"template bump only", policy.Result{Change: policy.ChangeChanged, Diff: []render.ObjectChange{stamp}}, "only change the template version stamped on their objects"},
		{"template change", policy.Result{Change: policy.ChangeChanged, Diff: []render.ObjectChange{
			stamp,
			{Action: render.ActionChanged, Kind: "Deployment", Fields: []string{render.TemplateField, "spec.template.spec.securityContext.runAsUser"}},
			{Action: render.ActionAdded, Kind: "PodDisruptionBudget"},
		}}, "change Deployment spec.template.spec.securityContext.runAsUser, add PodDisruptionBudget, restamp the template version"},
		{"new and fixed denials", policy.Result{Change: policy.ChangeUnchanged,
			Violations: []policy.Violation{deny("b-policy", policy.StateNew), deny("a-policy", policy.StateNew), deny("c-policy", policy.StateExisting), {Policy: "w", Severity: policy.Warn, State: policy.StateNew}},
			Fixed:      []policy.Violation{deny("d-policy", policy.StateFixed)}},
			"render no change; now fail a-policy, b-policy; no longer fail d-policy"},
		{"errors", policy.Result{Change: policy.ChangeChanged, Errors: []policy.Error{{Message: "boom"}}}, "fail to render or evaluate"},
	} {
		if got, _, _ := shapeOf(&tc.res); got != tc.want {
			t.Errorf("%s: shape %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMarkStates(t *testing.T) {
	v := func(policyID, field, msg string) policy.Violation {
		return policy.Violation{Policy: policyID, Severity: policy.Deny, Field: field, Message: msg, Object: &policy.ObjectRef{Kind: "Deployment", Name: "api"}}
	}
	head := &policy.Result{Violations: []policy.Violation{
		v("image-tag-pinned", "image", `image "api:latest" is not pinned`), // same policy, new message: existing
		v("no-privileged", "patches[0]", "privileged"),                     // new
	}}
	base := &policy.Result{Violations: []policy.Violation{
		v("image-tag-pinned", "image", `image "api:main" is not pinned`),
		v("probes-required", "healthCheck", "no readiness probe"), // gone: fixed
	}}
	markStates(head, base)
	if head.Violations[0].State != policy.StateExisting || head.Violations[1].State != policy.StateNew {
		t.Errorf("states %q, %q", head.Violations[0].State, head.Violations[1].State)
	}
	if len(head.Fixed) != 1 || head.Fixed[0].Policy != "probes-required" || head.Fixed[0].State != policy.StateFixed {
		t.Errorf("fixed %+v", head.Fixed)
	}
	// A new pair: everything is new, nothing fixed.
	head2 := &policy.Result{Violations: []policy.Violation{v("image-tag-pinned", "image", "x")}}
	markStates(head2, nil)
	if head2.Violations[0].State != policy.StateNew || len(head2.Fixed) != 0 {
		t.Errorf("unknown base: %+v", head2)
	}
}
