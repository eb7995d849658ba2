package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// watch is a cluster's shared view of the objects pave applied, for
// health: one informer per kind, over every object labelled with a pave
// team, shared by all the services and environments of the cluster. A
// service waiting for health reads its objects from it and is woken by
// their changes, instead of polling the API server; memory stays flat as
// services grow because the informers keep of each object its identity,
// owner and health, computed as it arrives (not its spec or status). A
// kind pave may not list and watch (RBAC) is polled, as before.
type watch struct {
	cluster *Cluster
	cache   crcache.Cache
	ctx     context.Context

	mu sync.Mutex
	// kinds: each kind's informer, once started (or refused).
	kinds map[schema.GroupVersionKind]*kindWatch
	// waiters are woken by a change of the object (ObjectRef.key()).
	waiters map[string]map[chan struct{}]struct{}
}

type kindWatch struct {
	decided chan struct{} // closed once watched or refused is known
	watched bool
}

// statusless are the kinds whose objects are current as soon as they are
// written (kstatus: no status to wait for): health does not read them.
var statusless = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}: true, {Kind: "Secret"}: true, {Kind: "ServiceAccount"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}: true, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: true, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: true,
}

// informerSyncTimeout bounds how long a kind's informer may take to list
// before its objects are polled instead.
const informerSyncTimeout = 30 * time.Second

// Watch starts the cluster's shared informers for health; they stop with
// ctx or stop. Until it is called, health polls each object.
func (a *Applier) Watch(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	cfg := rest.CopyConfig(a.Cluster.Config)
	cfg.Timeout = 0 // watches are long requests; the client's timeout would cut them
	team, err := labels.NewRequirement(render.LabelTeam, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	readInPlace := true
	c, err := crcache.New(cfg, crcache.Options{
		Mapper:               a.Cluster.mapper,
		DefaultLabelSelector: labels.NewSelector().Add(*team),
		DefaultTransform:     trimForHealth,
		// Health only reads: the cached copy is read in place, not
		// copied at every look.
		DefaultUnsafeDisableDeepCopy: &readInPlace,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: watch: %w", a.Cluster.Name, err)
	}
	w := &watch{cluster: a.Cluster, cache: c, ctx: ctx, kinds: map[schema.GroupVersionKind]*kindWatch{}, waiters: map[string]map[chan struct{}]struct{}{}}
	go func() { _ = c.Start(ctx) }()
	a.mu.Lock()
	a.watch = w
	a.mu.Unlock()
	return func() {
		cancel()
		a.mu.Lock()
		if a.watch == w {
			a.watch = nil
		}
		a.mu.Unlock()
	}, nil
}

func (a *Applier) watcher() *watch {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.watch
}

// healthMetaFields are the metadata fields health and the informer read.
var healthMetaFields = []string{"name", "namespace", "uid", "resourceVersion", "generation", "deletionTimestamp"}

// ownershipLabels and ownershipAnnotations are the labels and annotations
// the ownership check reads: kept so that a write can check an object's
// owner from the watch (ownedFromWatch), its resourceVersion making the
// write conditional on that very version.
var (
	ownershipLabels      = []string{render.LabelTeam, render.LabelService, render.LabelEnvironment, render.LabelManagedBy}
	ownershipAnnotations = []string{AnnotationAdopt}
)

// watchedHealth is the field of a watched copy that holds the object's
// health, computed by kstatus when the copy was made: the copy keeps it
// instead of the spec and status it was computed from. No Kubernetes
// object has a top-level field of that name, so it also marks a copy
// already trimmed.
const watchedHealth = "pave.dev/health"

// healthError stands for kstatus's status in a watched copy's health when
// kstatus could not compute one (no kstatus status is named so).
const healthError = "Error"

// trimForHealth keeps of an object what health and the ownership check
// read: its kind, the metadata that identify it and its generation, the
// labels and annotation that say whose it is, and its health, computed
// by kstatus from the whole object as it arrives (its status and message,
// or the error computing it). Its spec and status, other labels and
// annotations and its managed fields are not kept: a cluster's watch
// holds every object pave applied, so its size is pave's memory.
//
// It is idempotent, as the informer asks: a copy already trimmed is
// returned as it is (computing health again from it, without its status,
// would make every watched object look new and never ready).
func trimForHealth(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	if _, trimmed := u.Object[watchedHealth]; trimmed {
		return u, nil
	}
	// One string, "<status>\n<message>", not a map: a map takes a few
	// hundred bytes however few its keys.
	var health string
	if res, err := status.Compute(u); err != nil {
		health = healthError + "\n" + err.Error()
	} else {
		health = string(res.Status) + "\n" + res.Message
	}
	kept := map[string]any{"apiVersion": u.Object["apiVersion"], "kind": u.Object["kind"], watchedHealth: health}
	if meta, ok := u.Object["metadata"].(map[string]any); ok {
		m := pick(meta, healthMetaFields)
		for field, keys := range map[string][]string{"labels": ownershipLabels, "annotations": ownershipAnnotations} {
			if all, ok := meta[field].(map[string]any); ok {
				if some := pick(all, keys); len(some) > 0 {
					m[field] = some
				}
			}
		}
		kept["metadata"] = m
	}
	u.Object = kept
	return u, nil
}

// healthOf reads the health a watched copy holds (trimForHealth).
func healthOf(u *unstructured.Unstructured) (*status.Result, error) {
	h, ok := u.Object[watchedHealth].(string)
	if !ok {
		return nil, errors.New("no health in the watched copy")
	}
	st, msg, _ := strings.Cut(h, "\n")
	if st == healthError {
		return nil, errors.New(msg)
	}
	return &status.Result{Status: status.Status(st), Message: msg}, nil
}

// pick returns the fields of m that are among keys.
func pick(m map[string]any, keys []string) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// kind starts (once) the informer of a kind and reports whether its
// objects can be read from the watch.
func (w *watch) kind(ctx context.Context, gvk schema.GroupVersionKind) bool {
	w.mu.Lock()
	k, ok := w.kinds[gvk]
	if !ok {
		k = &kindWatch{decided: make(chan struct{})}
		w.kinds[gvk] = k
	}
	w.mu.Unlock()
	if ok {
		select {
		case <-k.decided:
			return k.watched
		case <-ctx.Done():
			return false
		}
	}
	k.watched = w.start(gvk)
	close(k.decided)
	return k.watched
}

// start lists a kind once to see that pave may (RBAC), then starts its
// informer and waits for it to sync.
func (w *watch) start(gvk schema.GroupVersionKind) bool {
	probe := &unstructured.UnstructuredList{}
	probe.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := w.cluster.Client.List(w.ctx, probe, client.Limit(1), client.HasLabels{render.LabelTeam}); err != nil {
		return false
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	ctx, cancel := context.WithTimeout(w.ctx, informerSyncTimeout)
	defer cancel()
	inf, err := w.cache.GetInformer(ctx, obj, crcache.BlockUntilSynced(true))
	if err != nil {
		_ = w.cache.RemoveInformer(w.ctx, obj)
		return false
	}
	notify := func(o any) {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if m, ok := o.(metav1.Object); ok {
			w.wake(ObjectRef{Group: gvk.Group, Kind: gvk.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}.key())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, o any) { notify(o) },
		DeleteFunc: notify,
	}); err != nil {
		_ = w.cache.RemoveInformer(w.ctx, obj)
		return false
	}
	return true
}

// owner returns the metadata the watch holds of an object: its
// identity, resourceVersion, and the labels and annotation that say whose
// it is. It answers only from a kind already watched and synced (it
// starts no informer), and only for an object the watch has: one it does
// not have may exist without pave's labels, and must be read.
func (w *watch) owner(ctx context.Context, o *unstructured.Unstructured) (*metav1.PartialObjectMetadata, bool) {
	gvk := o.GroupVersionKind()
	w.mu.Lock()
	k, ok := w.kinds[gvk]
	w.mu.Unlock()
	if !ok {
		return nil, false
	}
	select {
	case <-k.decided:
	default:
		return nil, false
	}
	if !k.watched {
		return nil, false
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := w.cache.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
		return nil, false
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	m.SetNamespace(u.GetNamespace())
	m.SetName(u.GetName())
	m.SetUID(u.GetUID())
	m.SetResourceVersion(u.GetResourceVersion())
	m.SetGeneration(u.GetGeneration())
	m.SetLabels(u.GetLabels())
	m.SetAnnotations(u.GetAnnotations())
	if m.GetResourceVersion() == "" || u.GetDeletionTimestamp() != nil {
		return nil, false
	}
	return m, true
}

func (w *watch) wake(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.waiters[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// subscribe wakes ch on any change of the objects; the returned func
// unsubscribes.
func (w *watch) subscribe(keys []string, ch chan struct{}) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		if w.waiters[k] == nil {
			w.waiters[k] = map[chan struct{}]struct{}{}
		}
		w.waiters[k][ch] = struct{}{}
	}
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, k := range keys {
			delete(w.waiters[k], ch)
			if len(w.waiters[k]) == 0 {
				delete(w.waiters, k)
			}
		}
	}
}

// errPoll says health cannot come from the watch for these objects.
var errPoll = errors.New("not watched")

// waitWatched waits, from the watch, until every object is current (Ready),
// one fails, or the timeout passes. minGen holds, for an object this
// reconcile changed, the generation the watch must have seen before its
// status counts (a stale copy would report the old spec's status).
func (a *Applier) waitWatched(ctx context.Context, w *watch, objects []*unstructured.Unstructured, minGen map[string]int64) (Health, error) {
	var keys []string
	var watched []*unstructured.Unstructured
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		if statusless[gvk.GroupKind()] {
			continue
		}
		if !w.kind(ctx, gvk) {
			return Health{}, errPoll
		}
		keys = append(keys, RefOf(o).key())
		watched = append(watched, o)
	}
	ready := Health{Status: HealthReady, Message: fmt.Sprintf("%d objects ready", len(objects))}
	if len(watched) == 0 {
		return ready, nil
	}
	wake := make(chan struct{}, 1)
	defer w.subscribe(keys, wake)()
	timeout := time.NewTimer(a.Options.WaitTimeout)
	defer timeout.Stop()
	for {
		pending, failed := "", false
		for _, o := range watched {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			err := w.cache.Get(ctx, client.ObjectKeyFromObject(o), live)
			switch {
			case apierrors.IsNotFound(err):
				pending = RefOf(o).String() + ": not found yet"
			case err != nil:
				return Health{}, errPoll
			case live.GetGeneration() < minGen[RefOf(o).key()]:
				pending = RefOf(o).String() + ": the change is not observed yet"
			default:
				res, err := healthOf(live)
				switch {
				case err != nil:
					pending = RefOf(o).String() + ": " + err.Error()
				case res.Status == status.FailedStatus:
					failed = true
				case res.Status != status.CurrentStatus:
					pending = RefOf(o).String() + ": " + res.Message
				}
			}
			if failed || pending != "" {
				break
			}
		}
		switch {
		case failed:
			return a.diagnose(ctx, objects, errors.New("an object failed")), nil
		case pending == "":
			return ready, nil
		}
		select {
		case <-wake:
		case <-timeout.C:
			return a.diagnose(ctx, objects, fmt.Errorf("timed out after %s: %s", a.Options.WaitTimeout, pending)), nil
		case <-ctx.Done():
			return Health{Status: HealthProgressing, Message: ctx.Err().Error()}, nil
		}
	}
}

// generations holds, for each statusful object an apply created or
// changed, the generation the watch's copy must reach before its status
// counts (what a read says now; kinds without generations have 0).
func (a *Applier) generations(ctx context.Context, objects []*unstructured.Unstructured, changes []Change) (map[string]int64, error) {
	action, written := map[string]ssa.Action{}, map[string]int64{}
	for _, c := range changes {
		action[c.Object.key()] = c.Action
		if c.Generation > 0 {
			written[c.Object.key()] = c.Generation // from the write's answer
		}
	}
	out := map[string]int64{}
	for _, o := range objects {
		k := RefOf(o).key()
		if statusless[o.GroupVersionKind().GroupKind()] {
			continue
		}
		// A created object counts once the watch has it at all.
		if g, ok := written[k]; ok && action[k] == ssa.ConfiguredAction {
			out[k] = g
			continue
		}
		if action[k] == ssa.ConfiguredAction {
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(o.GroupVersionKind())
			if err := a.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), m); err != nil {
				return nil, err
			}
			out[k] = m.GetGeneration()
		}
	}
	return out, nil
}
