package pipeline_test

import (
	"testing"

	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// TestPoliciesHideTheRevisionRenderStamps: the annotation policies do not
// see is the one render stamps with the commit.
func TestPoliciesHideTheRevisionRenderStamps(t *testing.T) {
	if policy.RevisionAnnotation != render.AnnotationRevision {
		t.Errorf("policy hides %q, render stamps %q", policy.RevisionAnnotation, render.AnnotationRevision)
	}
}
