package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/render"
)

// ObjectDiff is what applying one object would change in the cluster.
type ObjectDiff struct {
	Object ObjectRef
	// Action is created, configured or unchanged.
	Action ssa.Action
	// Diff is a unified diff of the live object against the result of a
	// server-side dry-run apply. Secret values are masked.
	Diff string
}

// Diff shows, without writing, what applying a rendered service would
// change: a server-side dry-run of every object compared with the live one.
func (a *Applier) Diff(ctx context.Context, res *render.Result) ([]ObjectDiff, error) {
	if err := checkIsolation(res); err != nil {
		return nil, err
	}
	m, err := a.manager(res.Team)
	if err != nil {
		return nil, err
	}
	var out []ObjectDiff
	for _, o := range res.Objects {
		o = o.DeepCopy()
		keepLiveRevision(ctx, a.Cluster.Client, o)
		mgr := m
		if o.GetKind() == "Namespace" {
			mgr = a.Cluster.Manager
		}
		entry, live, merged, err := mgr.Diff(ctx, o, ssa.DefaultDiffOptions())
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", RefOf(o), err)
		}
		d := ObjectDiff{Object: RefOf(o), Action: entry.Action}
		switch entry.Action {
		case ssa.CreatedAction:
			d.Diff = unified(RefOf(o).String(), nil, merged)
		case ssa.ConfiguredAction:
			d.Diff = unified(RefOf(o).String(), live, merged)
		}
		out = append(out, d)
	}
	return out, nil
}

func unified(name string, from, to *unstructured.Unstructured) string {
	text := func(u *unstructured.Unstructured) string {
		if u == nil {
			return ""
		}
		data, err := sigsyaml.Marshal(strip(u.Object))
		if err != nil {
			return ""
		}
		return string(data)
	}
	diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(text(from)), B: difflib.SplitLines(text(to)),
		FromFile: "live/" + name, ToFile: "pave/" + name, Context: 3,
	})
	return strings.TrimRight(diff, "\n")
}

// keepLiveRevision gives the desired object the live object's revision
// annotation: a new catalog commit alone changes nothing worth showing
// (apply skips unchanged renders and leaves the annotation as it was).
func keepLiveRevision(ctx context.Context, c client.Client, o *unstructured.Unstructured) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
		return
	}
	rev, ok := live.GetAnnotations()[render.AnnotationRevision]
	if !ok {
		return
	}
	ann := o.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[render.AnnotationRevision] = rev
	o.SetAnnotations(ann)
}
