package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
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
// What apply would refuse (an object outside what cfg allows the template,
// one the service does not own) is refused here too.
func (a *Applier) Diff(ctx context.Context, cfg *catalog.Config, res *render.Result) ([]ObjectDiff, error) {
	if err := a.checkScope(cfg, res); err != nil {
		return nil, err
	}
	if err := checkLabels(res); err != nil {
		return nil, err
	}
	inv, err := a.inventory(ctx, res.Team, res.Name, res.Environment)
	if err != nil {
		return nil, err
	}
	live, err := a.readLive(ctx, res.Objects, false)
	if err != nil {
		return nil, err
	}
	if err := checkOwnership(res, inv, res.Objects, live); err != nil {
		return nil, err
	}
	m, err := a.manager(res.Team)
	if err != nil {
		return nil, err
	}
	var out []ObjectDiff
	for _, o := range res.Objects {
		o = o.DeepCopy()
		keepLiveRevision(o, live)
		mgr := m
		if isNamespace(o) {
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
func keepLiveRevision(o *unstructured.Unstructured, live liveObjects) {
	m, ok := live[RefOf(o).key()]
	if !ok {
		return
	}
	rev, ok := m.GetAnnotations()[render.AnnotationRevision]
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
