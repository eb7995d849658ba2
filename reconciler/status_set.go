package reconciler

// Set stores a copy of one service's status, replacing what the store
// held for it: for a program that serves a status it did not reconcile
// itself (the CLI's tests run pave status against a real API server).
func (s *Store) Set(svc ServiceStatus) {
	if svc.Service == "" {
		svc.Service = svc.Team + "/" + svc.Name
	}
	if svc.Environments == nil {
		svc.Environments = map[string]*EnvironmentStatus{}
	}
	c := copyService(&svc)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.services[c.Service] = &c
}

// Only limits what the store shows (Services, Service, PhaseCounts) to the
// services keep accepts: a shard's status is its own share's. Set it
// before the store is used.
func (s *Store) Only(keep func(service string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.keep = keep
}
