package reconciler

import (
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/source"
)

// doraState is what DORA needs to remember of a pair between reconciles.
type doraState struct {
	// deploying is the revision of a deployment not yet healthy or
	// failed (it may take several reconciles: Progressing).
	deploying *source.Revision
	// failedAt is when a deployment failed; the next healthy reconcile
	// measures the time to restore from it.
	failedAt time.Time
}

// recordDORA counts deployments (a new version that became healthy) and
// their lead time from the commit, change failures (a new version that
// ended in a failure reason of the outcomes table) and the time to
// restore after one. deployed says this reconcile put a new version in
// the cluster. Lead time is measured where a change is delivered: from
// the commit to Ready in the last environment (last), since promotion
// brings it there through every environment before.
func (d *Daemon) recordDORA(log logr.Logger, k pairKey, team, name string, rev *source.Revision, reason Reason, deployed, last bool) {
	o := outcomeOf(reason)
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.dora[k]
	if !ok {
		st = &doraState{}
		d.dora[k] = st
	}
	if deployed {
		st.deploying = rev
	}
	now := d.clock.Now()
	restore := func() {
		if st.failedAt.IsZero() {
			return
		}
		restored := now.Sub(st.failedAt)
		d.Metrics.TimeToRestore.WithLabelValues(team, name, k.Environment).Observe(restored.Seconds())
		st.failedAt = time.Time{}
		log.Info("restored", "after", restored.String())
	}
	switch {
	case o.Phase == PhaseReady && st.deploying != nil:
		lead := now.Sub(st.deploying.Time)
		d.Metrics.Deployments.WithLabelValues(team, name, k.Environment).Inc()
		if last {
			d.Metrics.LeadTime.WithLabelValues(team, name, k.Environment).Observe(lead.Seconds())
		}
		st.deploying = nil
		log.Info("deployed", "leadTime", lead.String())
		restore()
	case o.ChangeFailure && st.deploying != nil:
		d.Metrics.ChangeFailures.WithLabelValues(team, name, k.Environment).Inc()
		st.deploying = nil
		if st.failedAt.IsZero() {
			st.failedAt = now
		}
	case o.Phase == PhaseReady:
		// Healthy again without a new deployment (e.g. a slow rollout).
		restore()
	}
}
