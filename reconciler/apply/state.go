package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// Deployment is one rollout of a revision of a service to an environment.
type Deployment struct {
	Revision string     `json:"revision"`
	Template string     `json:"template,omitempty"` // name@version
	Hash     string     `json:"hash,omitempty"`     // rendered hash
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"`   // nil while in progress
	Result   string     `json:"result"`          // "Progressing", "Ready", "Failed", "RolledBack", "Superseded"
	Cause    string     `json:"cause,omitempty"` // the failing object and why, or who rolled back
	// Committed is the revision's commit time (for git the committer's,
	// for a folder its newest file's): DORA's lead time runs from it to
	// End. Absent in records written before it was kept.
	Committed *time.Time `json:"committed,omitempty"`
}

// Results of a Deployment.
const (
	DeploymentProgressing = "Progressing"
	DeploymentReady       = "Ready"
	DeploymentFailed      = "Failed"
	DeploymentRolledBack  = "RolledBack"
	DeploymentSuperseded  = "Superseded"
)

// PairState is what pave keeps in a cluster for one service in one
// environment, beside its inventory: the deployment history and the
// operator's holds. It survives restarts of pave and leader changes.
type PairState struct {
	History   []Deployment `json:"history,omitempty"` // newest first, at most HistoryLimit
	Suspended bool         `json:"suspended,omitempty"`
	HeldAt    string       `json:"heldAt,omitempty"`   // revision a rollback holds the pair at, "" = none
	Approved  []string     `json:"approved,omitempty"` // revisions `pave promote` approved for this environment (newest last, bounded)
}

const (
	// HistoryLimit is how many deployments a pair's history keeps.
	HistoryLimit = 20
	// ApprovedLimit is how many approved revisions a pair keeps.
	ApprovedLimit = 10
	// CauseLimit bounds a deployment's cause, in bytes.
	CauseLimit = 1024
	// StateSizeLimit bounds a pair's stored state, in bytes: a state that
	// would be larger is refused rather than written.
	StateSizeLimit = 64 << 10
	// LabelState marks pave's state ConfigMaps (never LabelInventory:
	// a state is not an inventory and lists nothing to prune).
	LabelState = "pave.dev/state"
	dataState  = "state"
)

// Record adds a deployment: a new one goes first (the history stays
// newest first by Start), one with the same Revision and Start replaces
// the recorded one (its End, Result and Cause update). A new deployment
// supersedes any earlier one still in progress (Result "Superseded", End
// the new one's Start). The cause is cut to CauseLimit bytes and the
// history to HistoryLimit deployments.
func (s *PairState) Record(d Deployment) {
	d.Cause = truncate(d.Cause, CauseLimit)
	if i := slices.IndexFunc(s.History, func(h Deployment) bool { return h.Revision == d.Revision && h.Start.Equal(d.Start) }); i >= 0 {
		s.History[i] = d
		return
	}
	for i := range s.History {
		h := &s.History[i]
		if h.End == nil && h.Result == DeploymentProgressing && h.Start.Before(d.Start) {
			end := d.Start
			h.End = &end
			h.Result = DeploymentSuperseded
		}
	}
	// Newest first: before the first deployment that started earlier.
	i := slices.IndexFunc(s.History, func(h Deployment) bool { return h.Start.Before(d.Start) })
	if i < 0 {
		i = len(s.History)
	}
	s.History = slices.Insert(s.History, i, d)
	if len(s.History) > HistoryLimit {
		s.History = s.History[:HistoryLimit]
	}
}

// LastHealthy returns the newest Ready deployment whose revision is not
// before ("" accepts any).
func (s *PairState) LastHealthy(before string) (Deployment, bool) {
	for _, d := range s.History {
		if d.Result == DeploymentReady && (before == "" || d.Revision != before) {
			return d, true
		}
	}
	return Deployment{}, false
}

// Approve records that rev was approved for the environment (once; newest
// last), keeping the newest ApprovedLimit approvals.
func (s *PairState) Approve(rev string) {
	s.Approved = slices.DeleteFunc(s.Approved, func(r string) bool { return r == rev })
	s.Approved = append(s.Approved, rev)
	if n := len(s.Approved); n > ApprovedLimit {
		s.Approved = slices.Clone(s.Approved[n-ApprovedLimit:])
	}
}

// IsApproved reports whether rev was approved for the environment.
func (s *PairState) IsApproved(rev string) bool { return slices.Contains(s.Approved, rev) }

// bound applies the limits that do not lose what fn just did: the newest
// deployments and approvals are kept.
func (s *PairState) bound() {
	if len(s.History) > HistoryLimit {
		s.History = s.History[:HistoryLimit]
	}
	if n := len(s.Approved); n > ApprovedLimit {
		s.Approved = slices.Clone(s.Approved[n-ApprovedLimit:])
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	// Do not cut a UTF-8 sequence in half.
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// stateName is the state ConfigMap's name: the inventory's with ".state"
// (team, service and environment are DNS labels, so it never is another
// pair's inventory name).
func stateName(team, service, env string) string {
	return inventoryName(team, service, env) + ".state"
}

func splitPair(p Pair) (team, service string, err error) {
	team, service, ok := strings.Cut(p.Service, "/")
	if !ok || team == "" || service == "" || strings.Contains(service, "/") || p.Environment == "" {
		return "", "", fmt.Errorf("pair %q in %q: want service TEAM/NAME and an environment", p.Service, p.Environment)
	}
	return team, service, nil
}

func stateFromConfigMap(cm *corev1.ConfigMap) (*PairState, error) {
	s := &PairState{}
	if data, ok := cm.Data[dataState]; ok && data != "" {
		if err := json.Unmarshal([]byte(data), s); err != nil {
			return nil, fmt.Errorf("state %s/%s: %w (delete the ConfigMap to reset it)", cm.Namespace, cm.Name, err)
		}
	}
	return s, nil
}

// State returns the stored state of a pair: an empty state when none is
// stored.
func (a *Applier) State(ctx context.Context, p Pair) (*PairState, error) {
	team, service, err := splitPair(p)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	err = a.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: SystemNamespace, Name: stateName(team, service, p.Environment)}, &cm)
	if apierrors.IsNotFound(err) {
		return &PairState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s in %s: %w", p.Service, p.Environment, err)
	}
	a.states.put(&cm)
	return stateFromConfigMap(&cm)
}

// stateBackoff retries conflicting writes: enough steps for many writers
// of one pair (an operator's verbs and the daemon, or two pave instances
// across a leader change), with jitter so they spread out.
var stateBackoff = wait.Backoff{Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Steps: 30, Cap: time.Second}

// stateCopies keeps the last copy of each state ConfigMap an applier read
// or wrote (without its managed fields), so that recording a deployment
// is one write, not a read and a write: the write carries the copy's
// resourceVersion, and if anything wrote the ConfigMap since (an operator
// verb through another pave, a restart's leftovers), the conflict makes
// UpdateState read it again.
type stateCopies struct {
	mu sync.Mutex
	m  map[string]*corev1.ConfigMap
}

func (s *stateCopies) get(name string) *corev1.ConfigMap {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cm, ok := s.m[name]; ok {
		return cm.DeepCopy()
	}
	return nil
}

func (s *stateCopies) put(cm *corev1.ConfigMap) {
	keep := cm.DeepCopy()
	keep.ManagedFields = nil // an update without them keeps the server's
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*corev1.ConfigMap{}
	}
	s.m[cm.Name] = keep
}

func (s *stateCopies) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// UpdateState reads a pair's state, lets fn change it and writes it back,
// with optimistic concurrency: the write is an update that carries the
// resourceVersion read (or a create when there was none), and a conflict
// with another writer reads again and re-runs fn, so no update is lost.
// The first try starts from the copy this applier last read or wrote,
// when it has one, without reading. fn may therefore run more than once
// and should only change the state. An error from fn aborts without
// writing. History and approvals are cut to their limits; a state larger
// than StateSizeLimit is refused.
func (a *Applier) UpdateState(ctx context.Context, p Pair, fn func(*PairState) error) (*PairState, error) {
	team, service, err := splitPair(p)
	if err != nil {
		return nil, err
	}
	c := a.Cluster.Client
	key := client.ObjectKey{Namespace: SystemNamespace, Name: stateName(team, service, p.Environment)}
	var out *PairState
	fromCopy := false
	err = retry.OnError(stateBackoff, func(err error) bool {
		// A copy that was stale (written or deleted since) is read again.
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || (fromCopy && apierrors.IsNotFound(err))
	}, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var cm corev1.ConfigMap
		exists := true
		copied := a.states.get(key.Name)
		fromCopy = copied != nil
		if copied != nil {
			cm = *copied
		} else if err := c.Get(ctx, key, &cm); apierrors.IsNotFound(err) {
			exists = false
		} else if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		s := &PairState{}
		if exists {
			var err error
			if s, err = stateFromConfigMap(&cm); err != nil {
				return err
			}
		}
		if err := fn(s); err != nil {
			return err
		}
		s.bound()
		data, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if len(data) > StateSizeLimit {
			return fmt.Errorf("state is %d bytes, more than the %d allowed; not written", len(data), StateSizeLimit)
		}
		if !exists {
			if err := ensureSystemNamespace(ctx, c); err != nil {
				return err
			}
			cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
		}
		// Labels are rewritten on every write: States finds the state by
		// them, and the pair by the team, service and environment labels.
		cm.Labels = map[string]string{
			render.LabelManagedBy:   render.ManagedBy,
			render.LabelTeam:        team,
			render.LabelService:     service,
			render.LabelEnvironment: p.Environment,
			LabelState:              "true",
		}
		cm.Data = map[string]string{dataState: string(data)}
		if exists {
			// Carries cm.ResourceVersion: a write since the read conflicts.
			err = c.Update(ctx, &cm, client.FieldOwner(FieldManager))
		} else {
			err = c.Create(ctx, &cm, client.FieldOwner(FieldManager))
		}
		if err != nil {
			a.states.forget(key.Name)
			return err
		}
		a.states.put(&cm)
		out = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update state of %s in %s: %w", p.Service, p.Environment, err)
	}
	return out, nil
}

// States returns the state of every pair stored in the cluster, in one
// list call, to restore holds and history after a restart. A state that
// does not decode is left out and named in the error; the others are
// returned.
func (a *Applier) States(ctx context.Context) (map[Pair]*PairState, error) {
	return a.StatesOf(ctx, nil)
}

// StatesOf is States for the services keep accepts (a shard's share; nil:
// all): the others are left out, and not kept for UpdateState.
func (a *Applier) StatesOf(ctx context.Context, keep func(team, service string) bool) (map[Pair]*PairState, error) {
	var list corev1.ConfigMapList
	if err := a.Cluster.Client.List(ctx, &list, client.InNamespace(SystemNamespace), client.MatchingLabels{LabelState: "true"}); err != nil {
		return nil, fmt.Errorf("list states: %w", err)
	}
	out := make(map[Pair]*PairState, len(list.Items))
	var errs []error
	for i := range list.Items {
		cm := &list.Items[i]
		team, service, env := cm.Labels[render.LabelTeam], cm.Labels[render.LabelService], cm.Labels[render.LabelEnvironment]
		if team == "" || service == "" || env == "" || cm.Name != stateName(team, service, env) {
			errs = append(errs, fmt.Errorf("state %s/%s: labels do not name its service and environment", cm.Namespace, cm.Name))
			continue
		}
		if keep != nil && !keep(team, service) {
			continue
		}
		s, err := stateFromConfigMap(cm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[Pair{Service: team + "/" + service, Environment: env}] = s
		a.states.put(cm)
	}
	return out, errors.Join(errs...)
}

// deleteState removes a pair's state (with its inventory, when the
// service left the catalog).
func deleteState(ctx context.Context, c client.Client, team, service, env string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: stateName(team, service, env)}}
	if err := c.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete state %s: %w", cm.Name, err)
	}
	return nil
}

// ensureSystemNamespace creates pave's system namespace when a state is
// written before any inventory (a suspend before the first apply).
func ensureSystemNamespace(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: SystemNamespace, Labels: map[string]string{render.LabelManagedBy: render.ManagedBy}}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); apierrors.IsNotFound(err) {
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", SystemNamespace, err)
		}
	} else if err != nil {
		return fmt.Errorf("read namespace %s: %w", SystemNamespace, err)
	}
	return nil
}
