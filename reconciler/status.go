package reconciler

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/pave-dev/pave/policy"
)

// Phase is where a service stands in an environment.
type Phase string

const (
	PhasePending            Phase = "Pending"
	PhaseReady              Phase = "Ready"
	PhaseProgressing        Phase = "Progressing"
	PhaseFailed             Phase = "Failed"
	PhasePolicyDenied       Phase = "PolicyDenied"
	PhaseRenderError        Phase = "RenderError"
	PhaseClusterUnreachable Phase = "ClusterUnreachable"
	PhasePruned             Phase = "Pruned"
	PhaseCatalogInvalid     Phase = "CatalogInvalid"
	// PhaseWaiting: the pair runs nothing yet, or nothing pave can load,
	// and waits at its promotion gate.
	PhaseWaiting Phase = "Waiting"
)

// Phases lists every phase, for metrics.
var Phases = []Phase{PhasePending, PhaseReady, PhaseProgressing, PhaseFailed, PhasePolicyDenied, PhaseRenderError, PhaseClusterUnreachable, PhasePruned, PhaseCatalogInvalid, PhaseWaiting}

// EnvironmentStatus is a service in one environment, as the status API
// reports it.
type EnvironmentStatus struct {
	Phase           Phase  `json:"phase"`
	Cluster         string `json:"cluster,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	DesiredRevision string `json:"desiredRevision,omitempty"`
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// PendingRevision is the newest revision the pair waits for at its
	// promotion gate ("" when it runs the newest).
	PendingRevision string `json:"pendingRevision"`
	// Gate says why the pair does not run the newest revision yet.
	Gate string `json:"gate,omitempty"`
	// Wave is the pair's place in a template rollout in progress ("2 of
	// 3 (template worker)").
	Wave string `json:"wave,omitempty"`
	// Suspended: pave suspend stopped reconciling the pair.
	Suspended bool `json:"suspended"`
	// HeldAt is the revision a rollback holds the pair at.
	HeldAt string `json:"heldAt,omitempty"`
	// ReadySince is when the pair last became Ready with what it runs:
	// the soak of the next environment counts from it.
	ReadySince    *time.Time `json:"readySince,omitempty"`
	LastApplyTime *time.Time `json:"lastApplyTime,omitempty"`
	LastReconcile *time.Time `json:"lastReconcile,omitempty"`
	Hash          string     `json:"hash,omitempty"`
	// Policy holds the policy results, the same objects as
	// pave check --format json.
	Policy *policy.Result `json:"policy,omitempty"`
	// Health is the health message (the first object that is not ready,
	// and why).
	Health       string         `json:"health,omitempty"`
	HealthObject string         `json:"healthObject,omitempty"`
	Errors       []string       `json:"errors,omitempty"`
	Changes      map[string]int `json:"changes,omitempty"`
	Drift        []DriftRecord  `json:"drift,omitempty"`
}

// DriftRecord is one drift event as the status API reports it.
type DriftRecord struct {
	Time      time.Time `json:"time"`
	Object    string    `json:"object"`
	Field     string    `json:"field"`
	Manager   string    `json:"manager,omitempty"`
	Corrected bool      `json:"corrected"`
	Message   string    `json:"message"`
}

// ServiceStatus is one service in every environment.
type ServiceStatus struct {
	Service      string                        `json:"service"`
	Team         string                        `json:"team"`
	Name         string                        `json:"name"`
	Template     string                        `json:"template,omitempty"`
	Source       string                        `json:"source,omitempty"`
	Environments map[string]*EnvironmentStatus `json:"environments"`
}

// SourceStatus is what the daemon follows.
type SourceStatus struct {
	URL          string     `json:"url"`
	Branch       string     `json:"branch,omitempty"`
	Revision     string     `json:"revision,omitempty"`
	CommitTime   *time.Time `json:"commitTime,omitempty"`
	Message      string     `json:"message,omitempty"`
	Author       string     `json:"author,omitempty"`
	LastFetch    *time.Time `json:"lastFetch,omitempty"`
	LastError    string     `json:"lastError,omitempty"`
	LastErrorAt  *time.Time `json:"lastErrorTime,omitempty"`
	CatalogError []string   `json:"catalogErrors,omitempty"`
	// Applied is the last revision whose catalog was accepted.
	Applied string `json:"appliedRevision,omitempty"`
	// Environments are that catalog's environments, in delivery order.
	Environments []string `json:"environments,omitempty"`
	// Shard names this replica when pave serve runs as shards: the
	// services shown are its share.
	Shard string `json:"shard,omitempty"`
}

// maxDrift bounds the drift events kept per service and environment.
const maxDrift = 20

// Store keeps the status in memory. It is rebuilt from the clusters'
// inventories on start.
type Store struct {
	mu       sync.RWMutex
	services map[string]*ServiceStatus
	source   SourceStatus
	// keep, when set, is the services shown (a shard's share, Only).
	keep func(service string) bool
	// gen counts the changes to services: with the ids shown, it tags
	// what the status API serves (its ETag).
	gen uint64
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{services: map[string]*ServiceStatus{}} }

// update changes one service's status in an environment under the lock.
func (s *Store) update(team, name, env string, fn func(svc *ServiceStatus, e *EnvironmentStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	id := team + "/" + name
	svc, ok := s.services[id]
	if !ok {
		svc = &ServiceStatus{Service: id, Team: team, Name: name, Environments: map[string]*EnvironmentStatus{}}
		s.services[id] = svc
	}
	e, ok := svc.Environments[env]
	if !ok {
		e = &EnvironmentStatus{Phase: PhasePending}
		svc.Environments[env] = e
	}
	fn(svc, e)
	if len(e.Drift) > maxDrift {
		e.Drift = e.Drift[len(e.Drift)-maxDrift:]
	}
}

func (s *Store) updateSource(fn func(*SourceStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.source)
}

// Source returns the source status.
func (s *Store) Source() SourceStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.source
	out.CatalogError = slices.Clone(s.source.CatalogError)
	return out
}

// Services returns a copy of every service's status, sorted by id.
func (s *Store) Services() []ServiceStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ServiceStatus, 0, len(s.services))
	for _, svc := range s.services {
		if s.keep != nil && !s.keep(svc.Service) {
			continue
		}
		out = append(out, copyService(svc))
	}
	slices.SortFunc(out, func(a, b ServiceStatus) int {
		switch {
		case a.Service < b.Service:
			return -1
		case a.Service > b.Service:
			return 1
		}
		return 0
	})
	return out
}

// Shown returns the ids of the services shown (all, or a shard's share),
// sorted, and a tag that changes whenever what they show may have: the
// count of changes to the store and a hash of the ids (a share changes
// without a change to the store).
func (s *Store) Shown() (ids []string, tag string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids = make([]string, 0, len(s.services))
	for id := range s.services {
		if s.keep == nil || s.keep(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	h := fnv.New64a()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return ids, fmt.Sprintf(`"%d-%d-%x"`, s.gen, len(ids), h.Sum64())
}

// Service returns one service's status.
func (s *Store) Service(id string) (ServiceStatus, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	svc, ok := s.services[id]
	if !ok || (s.keep != nil && !s.keep(id)) {
		return ServiceStatus{}, false
	}
	return copyService(svc), true
}

// PhaseCounts counts service × environment pairs per phase.
func (s *Store) PhaseCounts() map[Phase]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := map[Phase]int{}
	for _, svc := range s.services {
		if s.keep != nil && !s.keep(svc.Service) {
			continue
		}
		for _, e := range svc.Environments {
			m[e.Phase]++
		}
	}
	return m
}

func copyService(svc *ServiceStatus) ServiceStatus {
	c := *svc
	c.Environments = make(map[string]*EnvironmentStatus, len(svc.Environments))
	for k, e := range svc.Environments {
		ec := *e
		ec.Errors = slices.Clone(e.Errors)
		ec.Drift = slices.Clone(e.Drift)
		c.Environments[k] = &ec
	}
	return c
}
