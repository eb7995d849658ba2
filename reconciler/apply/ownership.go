package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// AnnotationAdopt, put on a live object by a cluster admin, hands an object
// pave does not own to one service: "payments/checkout" (for a team's
// Namespace, the team: "payments"). Adoption is never a side effect of a
// render: a rendered object may not carry it.
const AnnotationAdopt = "pave.dev/adopt"

// liveObjects holds the metadata of the rendered objects that exist, by
// ObjectRef.key().
type liveObjects map[string]metav1.Object

// readLive reads the metadata of every object (one GET each, metadata
// only); objects that do not exist are absent from the result.
//
// With fromWatch, an object the cluster's watch holds is not read: its
// owner and resourceVersion come from the watch, and the write that
// follows is conditional on that resourceVersion (writeIfUnchanged).
func (a *Applier) readLive(ctx context.Context, objects []*unstructured.Unstructured, fromWatch bool) (liveObjects, error) {
	// A few reads at once: a service's wait is one read's, not the sum.
	found := make([]*metav1.PartialObjectMetadata, len(objects))
	var w *watch
	if fromWatch {
		w = a.watcher()
	}
	var g errgroup.Group
	g.SetLimit(4)
	for i, o := range objects {
		if w != nil {
			if m, ok := w.owner(ctx, o); ok {
				found[i] = m
				continue
			}
		}
		g.Go(func() error {
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(o.GroupVersionKind())
			err := a.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), m)
			switch {
			case apierrors.IsNotFound(err), meta.IsNoMatchError(err):
				// Not there (yet): a kind whose CRD this render adds.
			case err != nil:
				return fmt.Errorf("read %s: %w", describe(o), err)
			default:
				found[i] = m
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	live := liveObjects{}
	for i, o := range objects {
		if found[i] != nil {
			live[RefOf(o).key()] = found[i]
		}
	}
	return live, nil
}

// checkLabels verifies that every object says whose it is, as render
// stamps it: pave's labels for this service (for the Namespace, the
// team's). What pave writes must never claim to be another service's,
// or that service would own it (and could prune it).
func checkLabels(res *render.Result) error {
	var problems []string
	for _, o := range res.Objects {
		labels := o.GetLabels()
		want := map[string]string{render.LabelTeam: res.Team, render.LabelEnvironment: res.Environment}
		if isNamespace(o) {
			// pave makes the team's Namespace itself.
			want[render.LabelManagedBy] = render.ManagedBy
		} else {
			// A chart may set app.kubernetes.io/managed-by itself: pave's
			// own keys say whose an object is.
			want[render.LabelService] = res.Name
		}
		for k, v := range want {
			if labels[k] != v {
				problems = append(problems, fmt.Sprintf("ownership: %s of %s is labelled %s=%q, not %q", describe(o), res.Service, k, labels[k], v))
			}
		}
		if _, ok := o.GetAnnotations()[AnnotationAdopt]; ok {
			problems = append(problems, fmt.Sprintf("ownership: %s of %s carries the annotation %s, which only a cluster admin puts on a live object", describe(o), res.Service, AnnotationAdopt))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return &RefusalError{Problems: problems}
	}
	return nil
}

// checkOwnership refuses a service whose objects exist in the cluster and
// are not its own. An object is the service's when its pave labels say
// this team, service and environment, when a cluster admin annotated it
// for adoption, or — labels removed by hand, no other service named — when
// the service's inventory lists it. The team's Namespace is shared by the
// team's services: it is theirs when its labels name the team.
func checkOwnership(res *render.Result, inv *Inventory, objects []*unstructured.Unstructured, live liveObjects) error {
	var problems []string
	for _, o := range objects {
		m, ok := live[RefOf(o).key()]
		if !ok {
			continue
		}
		if p := ownershipProblem(res, inv, o, m); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return &RefusalError{Problems: problems}
	}
	return nil
}

func ownershipProblem(res *render.Result, inv *Inventory, o *unstructured.Unstructured, live metav1.Object) string {
	labels, adopt := live.GetLabels(), live.GetAnnotations()[AnnotationAdopt]
	team, service, env := labels[render.LabelTeam], labels[render.LabelService], labels[render.LabelEnvironment]
	// A service's objects say whose they are in pave's own keys; a chart
	// may have set app.kubernetes.io/managed-by to something else.
	byPave := labels[render.LabelManagedBy] == render.ManagedBy || (!isNamespace(o) && team != "" && service != "")
	notPave := func(adoptAs string) string {
		return fmt.Sprintf("%s is not managed by pave (a cluster admin may hand it to %s with the annotation %s: %s)", describe(o), res.Service, AnnotationAdopt, adoptAs)
	}
	if isNamespace(o) {
		switch {
		case byPave && team == res.Team && env == res.Environment,
			adopt == res.Team, strings.HasPrefix(adopt, res.Team+"/"):
			return ""
		case !byPave || team == "":
			return notPave(res.Team)
		case team != res.Team:
			return fmt.Sprintf("%s belongs to team %s, not %s", describe(o), team, res.Team)
		default:
			return fmt.Sprintf("%s belongs to team %s in environment %q, not %q", describe(o), team, env, res.Environment)
		}
	}
	owner := team + "/" + service
	switch {
	case byPave && owner == res.Service && env == res.Environment, adopt == res.Service:
		return ""
	case byPave && team != "" && service != "" && owner != res.Service:
		return fmt.Sprintf("%s belongs to %s, not %s", describe(o), owner, res.Service)
	case byPave && owner == res.Service && env != "":
		return fmt.Sprintf("%s belongs to %s in environment %q, not %q", describe(o), owner, env, res.Environment)
	case inv != nil && slices.ContainsFunc(inv.Objects, func(r ObjectRef) bool { return r.key() == RefOf(o).key() }):
		// Applied by this service, and some of its labels removed since:
		// drift, which the apply corrects.
		return ""
	}
	return notPave(res.Service)
}

// claims keeps two reconciles of one cluster from checking and writing the
// same object at once: between one's ownership check and its write, the
// other could create the object. A reconcile claims all of its objects'
// keys (the shared team Namespace aside) or waits for them all.
type claims struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// acquire waits until no other reconcile holds any of the objects, then
// holds them all until release is called.
func (c *claims) acquire(ctx context.Context, objects []*unstructured.Unstructured) (release func(), err error) {
	var keys []string
	for _, o := range objects {
		if !isNamespace(o) {
			keys = append(keys, RefOf(o).key())
		}
	}
	for {
		c.mu.Lock()
		var busy chan struct{}
		for _, k := range keys {
			if ch, ok := c.held[k]; ok {
				busy = ch
				break
			}
		}
		if busy == nil {
			if c.held == nil {
				c.held = map[string]chan struct{}{}
			}
			done := make(chan struct{})
			for _, k := range keys {
				c.held[k] = done
			}
			c.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					c.mu.Lock()
					for _, k := range keys {
						delete(c.held, k)
					}
					c.mu.Unlock()
					close(done)
				})
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return func() {}, ctx.Err()
		}
	}
}
