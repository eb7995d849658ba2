package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// DriftMode says what a resync does with objects changed in the cluster.
type DriftMode string

const (
	// DriftCorrect re-applies drifted objects (the default).
	DriftCorrect DriftMode = "correct"
	// DriftWarn only reports them.
	DriftWarn DriftMode = "warn"
)

// Options configure an Applier.
type Options struct {
	// Wait for health after applying, up to WaitTimeout.
	Wait        bool
	WaitTimeout time.Duration
	// PollInterval is how often health and staged applies poll.
	PollInterval time.Duration
	DriftMode    DriftMode
	// Prune deletes objects the render no longer has. Without it they
	// stay, and stay in the inventory for a later pruning run.
	Prune bool
	// Impersonate, when set, makes every write of a team's objects run as
	// this user, with "{team}" replaced by the team (e.g.
	// "system:serviceaccount:pave-system:team-{team}"), so that RBAC limits
	// what a mistake can touch. Namespaces and inventories are still written
	// as pave itself.
	Impersonate string
	// Now is the clock (tests set it).
	Now func() time.Time
}

// DefaultOptions are pave's defaults: wait up to 5 minutes, correct drift.
func DefaultOptions() Options {
	return Options{Wait: true, WaitTimeout: 5 * time.Minute, PollInterval: time.Second, DriftMode: DriftCorrect, Prune: true, Now: time.Now}
}

// Applier applies rendered services to one cluster.
type Applier struct {
	Cluster *Cluster
	Options Options

	mu    sync.Mutex
	teams map[string]*ssa.ResourceManager
	// claims serialise reconciles that would write the same object.
	claims claims
	// index holds the cluster's inventories once LoadInventories ran.
	index inventoryIndex
	// watch is the cluster's shared view of pave's objects, for health,
	// once Watch started it.
	watch *watch
	// states is the last copy of each pair's state ConfigMap this
	// applier read or wrote, by name (see UpdateState).
	states stateCopies
}

// manager is the resource manager that writes a team's objects: pave's
// own, or one impersonating the team's user.
func (a *Applier) manager(team string) (*ssa.ResourceManager, error) {
	if a.Options.Impersonate == "" {
		return a.Cluster.Manager, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if m, ok := a.teams[team]; ok {
		return m, nil
	}
	cfg := rest.CopyConfig(a.Cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: strings.ReplaceAll(a.Options.Impersonate, "{team}", team)}
	c, err := NewCluster(a.Cluster.Name, cfg, ClusterOptions{})
	if err != nil {
		return nil, err
	}
	if a.teams == nil {
		a.teams = map[string]*ssa.ResourceManager{}
	}
	a.teams[team] = c.Manager
	return c.Manager, nil
}

// New returns an Applier for a cluster.
func New(c *Cluster, opts Options) *Applier {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = 5 * time.Minute
	}
	if opts.DriftMode == "" {
		opts.DriftMode = DriftCorrect
	}
	return &Applier{Cluster: c, Options: opts}
}

// Change is what happened to one object.
type Change struct {
	Object ObjectRef
	Action ssa.Action
	// Error is set when a delete failed; the object stays in the inventory.
	Error string `json:",omitempty"`
	// Generation is the object's metadata.generation after a write that
	// returned it (0: not known), so health need not read it again.
	Generation int64 `json:"-"`
}

// Result is the outcome of reconciling one service in one environment.
type Result struct {
	Service     string // team/name
	Environment string
	Cluster     string
	Revision    string
	Hash        string
	// Skipped is true when the rendered hash matched the inventory and no
	// drift check ran: nothing was written.
	Skipped bool
	Changes []Change
	Pruned  []Change
	Drift   []DriftEvent
	Health  Health
	// Err is the failure that stopped the reconcile, if any.
	Err error

	// objects are what Write applied, until WaitHealth has waited for
	// them.
	objects []*unstructured.Unstructured
	// inventory is what Write applied and kept, until WaitHealth has
	// saved it; inventoryExisted says the pair had one before.
	inventory        *Inventory
	inventoryExisted bool
}

// Counts tallies the changes by action, prunes included.
func (r *Result) Counts() map[ssa.Action]int {
	m := map[ssa.Action]int{}
	for _, c := range r.Changes {
		m[c.Action]++
	}
	for _, c := range r.Pruned {
		m[c.Action]++
	}
	return m
}

// Wrote reports whether the reconcile changed anything in the cluster.
func (r *Result) Wrote() bool {
	for _, c := range append(slices.Clone(r.Changes), r.Pruned...) {
		if c.Action == ssa.CreatedAction || c.Action == ssa.ConfiguredAction || c.Action == ssa.DeletedAction {
			return true
		}
	}
	return false
}

// Apply reconciles one rendered service: check where its objects land and
// that it owns those that exist, apply what changed, prune what the render
// no longer has, record the inventory, and (when asked) wait for health.
// cfg is the catalog's pave.yaml, whose templates section says what each
// template may place beyond the team's namespace. With resync set, objects
// are checked for drift even when the rendered hash is unchanged. budget
// guards against mass deletion across one round of reconciles of this
// cluster.
func (a *Applier) Apply(ctx context.Context, cfg *catalog.Config, res *render.Result, resync bool, budget *PruneBudget) *Result {
	out := a.Write(ctx, cfg, res, resync, budget)
	a.WaitHealth(ctx, out)
	return out
}

// Write is Apply without the wait for health: WaitHealth completes it,
// saving the inventory and then waiting (the daemon does both outside its
// workers, so that a slow rollout holds no worker while it becomes
// Ready). A Write must be followed by its WaitHealth.
func (a *Applier) Write(ctx context.Context, cfg *catalog.Config, res *render.Result, resync bool, budget *PruneBudget) *Result {
	out := &Result{Service: res.Service, Environment: res.Environment, Cluster: a.Cluster.Name, Revision: res.Revision, Hash: res.Hash}
	fail := func(err error) *Result {
		out.Err = err
		out.Health = Health{Status: HealthFailed, Message: err.Error()}
		return out
	}
	if len(res.Objects) == 0 {
		return fail(errors.New("render produced no objects; refusing to apply (and to prune)"))
	}
	// Where every object lands, from the cluster's discovery (cached), and
	// whose it says it is: checked on every reconcile, before any write.
	if err := a.checkScope(cfg, res); err != nil {
		return fail(err)
	}
	if err := checkLabels(res); err != nil {
		return fail(err)
	}
	inv, err := a.inventory(ctx, res.Team, res.Name, res.Environment)
	if err != nil {
		return fail(err)
	}
	objects := applyOrder(res.Objects)
	// Each object's digest, for what this apply writes and its inventory
	// (computed once, when needed: an unchanged service needs none).
	var digests map[string]string
	digest := func() error {
		if digests != nil {
			return nil
		}
		digests = map[string]string{}
		for _, o := range objects {
			d, err := digestOf(o)
			if err != nil {
				return err
			}
			digests[RefOf(o).key()] = d
		}
		return nil
	}

	unchanged := inv != nil && inv.Hash == res.Hash
	if len(res.KubeVersions) > 0 && (!unchanged || resync) {
		// Before anything is written: the charts' Chart.yaml kubeVersion,
		// against the version the cluster reports.
		v, err := a.Cluster.KubeVersion()
		if err != nil {
			return fail(err)
		}
		if err := res.CheckKubeVersion(v, "cluster "+a.Cluster.Name); err != nil {
			return fail(err)
		}
	}
	corrected := false
	// Whatever is written is first checked for ownership, under a claim of
	// its objects; the claim ends with the writes.
	release := func() {}
	defer func() { release() }()
	claim := func() error {
		var err error
		release, err = a.claims.acquire(ctx, objects)
		return err
	}
	record := func(action ssa.Action) {
		for _, o := range objects {
			out.Changes = append(out.Changes, Change{Object: RefOf(o), Action: action})
		}
	}
	switch {
	case unchanged && !resync:
		// Skip unchanged: no write calls at all.
		out.Skipped = true
		record(ssa.UnchangedAction)
	case unchanged && resync:
		if err := claim(); err != nil {
			return fail(err)
		}
		drift, err := a.detectDrift(ctx, res, inv, objects)
		if err != nil {
			return fail(err)
		}
		out.Drift = drift
		switch {
		case len(drift) == 0:
			record(ssa.UnchangedAction)
		case a.Options.DriftMode == DriftWarn:
			record(ssa.SkippedAction)
		default:
			if err := a.applyAll(ctx, res.Team, objects, nil, nil, out, nil); err != nil {
				return fail(err)
			}
			for i := range out.Drift {
				out.Drift[i].Corrected = true
			}
			corrected = true
		}
	default:
		if err := claim(); err != nil {
			return fail(err)
		}
		// What this apply writes: with the digests of the last apply, only
		// the objects whose rendered content changed (the others are not
		// read, written or given the new revision); else every object.
		if err := digest(); err != nil {
			return fail(err)
		}
		write, same := objects, map[string]bool{}
		if inv != nil && inv.Digests != nil {
			write = nil
			for _, o := range objects {
				k := RefOf(o).key()
				if d := digests[k]; d != "" && d == inv.Digests[k] {
					same[k] = true
					continue
				}
				write = append(write, o)
			}
		}
		// One metadata read per object written, before anything is
		// written: the service is applied whole or not at all. With
		// digests, an object the watch holds is checked from the watch,
		// and written only if it is still the version checked.
		live, err := a.readLive(ctx, write, inv != nil && inv.Digests != nil)
		if err != nil {
			return fail(err)
		}
		if err := checkOwnership(res, inv, write, live); err != nil {
			return fail(err)
		}
		recheck := a.recheckOwner(res, inv)
		diffed := map[string]ssa.Action{}
		switch {
		case inv != nil && inv.Digests != nil:
			// Their digests changed: each existing one is written as it
			// is, without a diff first.
			for _, o := range write {
				if _, exists := live[RefOf(o).key()]; exists {
					diffed[RefOf(o).key()] = ssa.ConfiguredAction
				}
			}
		case inv != nil:
			// Only objects whose content changed take the new revision.
			if diffed, err = a.keepRevisionOfUnchanged(ctx, res.Team, write, live); err != nil {
				return fail(err)
			}
		}
		for _, o := range objects {
			if same[RefOf(o).key()] {
				diffed[RefOf(o).key()] = ssa.UnchangedAction
			}
		}
		if err := a.applyAll(ctx, res.Team, objects, live, diffed, out, recheck); err != nil {
			return fail(err)
		}
	}
	release()

	// Prune what the previous inventory had and the render no longer has.
	keep := map[string]bool{}
	refs := make([]ObjectRef, 0, len(objects))
	for _, o := range objects {
		r := RefOf(o)
		keep[r.key()] = true
		refs = append(refs, r)
	}
	var stale []ObjectRef
	if inv != nil {
		for _, r := range inv.Objects {
			if !keep[r.key()] && r.Kind != "Namespace" {
				stale = append(stale, r)
			}
		}
	}
	if len(stale) > 0 && !a.Options.Prune {
		refs = append(refs, stale...)
		stale = nil
	}
	if len(stale) > 0 {
		pruned, failed, err := a.prune(ctx, res.Team, res.Name, res.Environment, stale, budget)
		out.Pruned = pruned
		if err != nil {
			// Refused by the guard: the old objects stay, and so does the
			// old inventory's record of them.
			refs = append(refs, stale...)
			out.Err = err
		} else {
			refs = append(refs, failed...)
		}
	}

	if inv == nil || inv.Hash != res.Hash || len(stale) > 0 || corrected {
		if err := digest(); err != nil {
			return fail(err)
		}
		// Saved by WaitHealth, after the objects: the daemon has given
		// its worker back by then, so a worker's time per service is its
		// objects' writes, and the inventory's write overlaps the next
		// service's.
		out.inventoryExisted = inv != nil
		out.inventory = &Inventory{
			Team: res.Team, Service: res.Name, Environment: res.Environment,
			Objects: refs, Digests: digests, Hash: res.Hash, Revision: res.Revision, Template: res.Template, Source: res.Source,
			LastApplied: a.Options.Now(),
		}
	}

	// Health needs only which objects they are: a wait holds no more.
	out.objects = make([]*unstructured.Unstructured, len(objects))
	for i, o := range objects {
		out.objects[i] = RefOf(o).Unstructured()
	}
	return out
}

// WaitHealth completes a Write: it waits for the objects' health (when the
// applier waits) and says so in out.Health. A Write that failed already
// has its health.
func (a *Applier) WaitHealth(ctx context.Context, out *Result) {
	if inv := out.inventory; inv != nil {
		out.inventory = nil
		if err := a.saveInventory(ctx, inv, out.inventoryExisted); err != nil {
			out.Err, out.objects = err, nil
			out.Health = Health{Status: HealthFailed, Message: err.Error()}
			return
		}
	}
	if out.objects == nil {
		return
	}
	if a.Options.Wait {
		out.Health = a.health(ctx, out.objects, out.Changes)
	} else {
		out.Health = Health{Status: HealthUnknown, Message: "not checked (run with --wait)"}
	}
	if out.Err != nil && out.Health.Status == HealthReady {
		out.Health.Message = out.Err.Error()
	}
	out.objects = nil
}

// applyAll server-side applies a service's objects. live, when given,
// holds those that existed a moment ago (read under the objects' claim),
// and diffed what keepRevisionOfUnchanged's diff found of them. An object
// that did not exist is created with one request, where diffing it first
// (a read and a dry-run) would add two; one the diff found unchanged is
// not written, and one it found changed is written with one request. The
// others, and cluster definitions (Namespaces, CRDs, ClusterRoles,
// classes, which later objects may need ready), go through ssa's staged
// apply, which writes only what changed.
//
// An object diffed as configured is written only if it is still at the
// resourceVersion live holds (whose owner was checked); if it changed
// meanwhile, recheck reads and checks it again and gives the version to
// write at.
func (a *Applier) applyAll(ctx context.Context, team string, objects []*unstructured.Unstructured, live liveObjects, diffed map[string]ssa.Action, out *Result, recheck recheckFunc) error {
	opts := ssa.ApplyOptions{WaitInterval: a.Options.PollInterval, WaitTimeout: a.Options.WaitTimeout}
	stages := [][]*unstructured.Unstructured{objects}
	managers := []*ssa.ResourceManager{a.Cluster.Manager}
	if a.Options.Impersonate != "" {
		// The team's Namespace is pave's to create; the rest is the team's.
		var nss, rest []*unstructured.Unstructured
		for _, o := range objects {
			if isNamespace(o) {
				nss = append(nss, o)
			} else {
				rest = append(rest, o)
			}
		}
		m, err := a.manager(team)
		if err != nil {
			return err
		}
		stages, managers = [][]*unstructured.Unstructured{nss, rest}, []*ssa.ResourceManager{a.Cluster.Manager, m}
	}
	for i, objs := range stages {
		var staged, fresh, changed []*unstructured.Unstructured
		for _, o := range objs {
			key := RefOf(o).key()
			_, exists := live[key]
			definition := ssautils.IsClusterDefinition(o) || ssautils.IsClassDefinition(o)
			switch {
			case diffed[key] == ssa.UnchangedAction:
				out.Changes = append(out.Changes, Change{Object: RefOf(o), Action: ssa.UnchangedAction})
			case definition || live == nil:
				staged = append(staged, o)
			case diffed[key] == ssa.ConfiguredAction:
				changed = append(changed, o)
			case !exists:
				fresh = append(fresh, o)
			default:
				staged = append(staged, o)
			}
		}
		if len(staged) > 0 {
			cs, err := managers[i].ApplyAllStaged(ctx, staged, opts)
			if cs != nil {
				for _, e := range cs.Entries {
					out.Changes = append(out.Changes, Change{Object: refFromEntry(e), Action: e.Action})
				}
			}
			if err != nil {
				return fmt.Errorf("apply: %w", err)
			}
		}
		if err := applyDirect(ctx, managers[i].Client(), fresh, ssa.CreatedAction, out, nil, nil); err != nil {
			return err
		}
		if err := applyDirect(ctx, managers[i].Client(), changed, ssa.ConfiguredAction, out, live, recheck); err != nil {
			return err
		}
	}
	return nil
}

// applyDirect server-side applies objects whose outcome is known (action:
// they did not exist, or a diff found them changed), a few at once.
//
// With live, each object is written only at the resourceVersion live
// holds of it (a precondition of the apply); when the object changed
// since, recheck reads and checks it again, and it is written once more
// at the version recheck gives.
func applyDirect(ctx context.Context, c client.Client, objects []*unstructured.Unstructured, action ssa.Action, out *Result, live liveObjects, recheck recheckFunc) error {
	errs := make([]error, len(objects))
	generations := make([]int64, len(objects))
	var g errgroup.Group
	g.SetLimit(4)
	for i, o := range objects {
		g.Go(func() error {
			write := func(rv string) (*unstructured.Unstructured, error) {
				written := o.DeepCopy()
				written.SetResourceVersion(rv)
				//nolint:staticcheck // client.Apply with an object is the controller-runtime SSA entry point.
				return written, c.Patch(ctx, written, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership)
			}
			rv := ""
			if m, ok := live[RefOf(o).key()]; ok && recheck != nil {
				rv = m.GetResourceVersion()
			}
			written, err := write(rv)
			if rv != "" && apierrors.IsConflict(err) {
				// Changed since its owner was checked: check again, a
				// few times (a controller may be writing its status).
				err = retry.OnError(conflictBackoff, apierrors.IsConflict, func() error {
					rv, err := recheck(ctx, o)
					if err != nil {
						return err
					}
					written, err = write(rv)
					return err
				})
			}
			if err != nil {
				errs[i] = fmt.Errorf("apply: %s: %w", describe(o), err)
				return nil
			}
			generations[i] = written.GetGeneration()
			return nil
		})
	}
	_ = g.Wait()
	for i, o := range objects {
		if errs[i] == nil {
			out.Changes = append(out.Changes, Change{Object: RefOf(o), Action: action, Generation: generations[i]})
		}
	}
	return errors.Join(errs...)
}

// conflictBackoff spaces the checks and writes again of an object that
// keeps changing under a conditional write (about 0.6 s in all); the
// reconcile's retry comes after.
var conflictBackoff = wait.Backoff{Steps: 5, Duration: 20 * time.Millisecond, Factor: 2, Jitter: 0.1}

// recheckFunc reads an object again and checks whose it is, returning the
// resourceVersion to write it at ("" when it no longer exists).
type recheckFunc func(ctx context.Context, o *unstructured.Unstructured) (string, error)

// recheckOwner reads an object again and checks that it is still res's
// to write.
func (a *Applier) recheckOwner(res *render.Result, inv *Inventory) recheckFunc {
	return func(ctx context.Context, o *unstructured.Unstructured) (string, error) {
		fresh, err := a.readLive(ctx, []*unstructured.Unstructured{o}, false)
		if err != nil {
			return "", err
		}
		if err := checkOwnership(res, inv, []*unstructured.Unstructured{o}, fresh); err != nil {
			return "", err
		}
		m, ok := fresh[RefOf(o).key()]
		if !ok {
			return "", nil // deleted meanwhile: created again
		}
		return m.GetResourceVersion(), nil
	}
}

// keepRevisionOfUnchanged gives every object that would not otherwise
// change the revision annotation it has in the cluster, so that a commit
// changing one field of a service updates only the objects concerned.
func (a *Applier) keepRevisionOfUnchanged(ctx context.Context, team string, objects []*unstructured.Unstructured, live liveObjects) (map[string]ssa.Action, error) {
	m, err := a.manager(team)
	if err != nil {
		return nil, err
	}
	diffed := map[string]ssa.Action{}
	for _, o := range objects {
		rev, ok := o.GetAnnotations()[render.AnnotationRevision]
		if !ok {
			continue
		}
		candidate := o.DeepCopy()
		keepLiveRevision(candidate, live)
		if candidate.GetAnnotations()[render.AnnotationRevision] == rev {
			continue // new object, or already at this revision
		}
		mgr := m
		if isNamespace(o) {
			mgr = a.Cluster.Manager
		}
		entry, _, _, err := mgr.Diff(ctx, candidate.DeepCopy(), ssa.DefaultDiffOptions())
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", RefOf(o), err)
		}
		if entry == nil {
			continue
		}
		switch entry.Action {
		case ssa.UnchangedAction:
			o.SetAnnotations(candidate.GetAnnotations())
			diffed[RefOf(o).key()] = ssa.UnchangedAction
		case ssa.ConfiguredAction:
			diffed[RefOf(o).key()] = ssa.ConfiguredAction
		}
	}
	return diffed, nil
}

// applyOrder puts what other objects depend on first, in the order render
// sorted them: ServiceAccounts and ConfigMaps before the workloads.
func applyOrder(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}

func refFromEntry(e ssa.ChangeSetEntry) ObjectRef {
	m := e.ObjMetadata
	gv, _ := schema.ParseGroupVersion(e.GroupVersion)
	return ObjectRef{Group: m.GroupKind.Group, Version: gv.Version, Kind: m.GroupKind.Kind, Namespace: m.Namespace, Name: m.Name}
}
