package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/notify"
)

// expiringWithin is how far ahead an exception's expiry is announced.
const expiringWithin = 14 * 24 * time.Hour

// notify tells the service's team what one reconcile came to, once per
// change (the notifier deduplicates by each event's key).
func (d *Daemon) notify(p *pairRun, r *result, phase Phase, now time.Time) {
	n := d.opts.Notifier
	if n == nil {
		return
	}
	rev := p.snap.rev.ID
	ev := func(kind, msg, object, key string) {
		n.Notify(notify.Event{Kind: kind, Team: p.team, Service: p.key.Service, Environment: p.key.Environment, Cluster: p.env.Cluster,
			Revision: rev, Message: msg, Object: object, Time: now, Key: key})
	}
	switch {
	case phase == PhaseReady && r.deployed:
		ev(catalog.EventDeployed, fmt.Sprintf("revision %s is Ready: %s", p.snap.rev.Short(), summarize(r.changes)), "", rev+" "+r.hash)
	case phase == PhaseFailed:
		object := r.healthObject
		msg := strings.TrimSpace(cause(&EnvironmentStatus{Health: r.health, HealthObject: r.healthObject, Errors: r.errors}))
		ev(catalog.EventFailed, msg, object, rev+" "+string(r.reason)+" "+object)
	case phase == PhasePolicyDenied:
		denied := slices.Clone(r.denied)
		slices.Sort(denied)
		ev(catalog.EventPolicyDenied, strings.Join(r.errors, "; "), "", rev+" "+strings.Join(denied, ","))
	}
	if r.driftCorrected > 0 {
		var fields []string
		for _, dr := range r.drift {
			if dr.Corrected {
				fields = append(fields, dr.Object+" "+dr.Field)
			}
		}
		ev(catalog.EventDriftCorrected, r.drift[0].Message, r.drift[0].Object, now.String()+" "+strings.Join(fields, ","))
	}
	// A halt at the environment gate is the service's; a halted wave is
	// told once, for the whole rollout (haltedWave).
	if strings.HasPrefix(p.gate.gate, "halted") && !strings.HasPrefix(p.gate.gate, "halted: wave") {
		// Once until the pair deploys again: the halt lasts across the
		// commits that do not fix it.
		ev(catalog.EventHalted, p.gate.gate, "", "halted")
	}
}

// notifyHaltedWave tells the platform (pave.yaml's default targets) that
// a template rollout halted in an environment, once.
func (d *Daemon) notifyHaltedWave(p *rolloutPlan, wave int, env, rev, why string) {
	if d.opts.Notifier == nil {
		return
	}
	d.opts.Notifier.Notify(notify.Event{Kind: catalog.EventHalted, Service: "template/" + p.template, Environment: env, Revision: rev,
		Message: fmt.Sprintf("the rollout of template %s halted at wave %d of %d: %s", p.template, wave+1, len(p.waves), why), Time: d.clock.Now(),
		Key: rev + " " + p.template})
}

// notifyRolledBack tells the team pave rolled a pair back.
func (d *Daemon) notifyRolledBack(p *pairRun, msg string) {
	if d.opts.Notifier == nil {
		return
	}
	d.opts.Notifier.Notify(notify.Event{Kind: catalog.EventRolledBack, Team: p.team, Service: p.key.Service, Environment: p.key.Environment,
		Cluster: p.env.Cluster, Revision: p.snap.rev.ID, Message: msg, Time: d.clock.Now(), Key: p.snap.rev.ID + " rolled back"})
}

// configureNotifications takes a new revision's pave.yaml and announces
// the exceptions that expire within two weeks.
func (d *Daemon) configureNotifications(cat *catalog.Catalog) {
	n := d.opts.Notifier
	if n == nil {
		return
	}
	n.Configure(cat.Config)
	now := d.clock.Now()
	for _, x := range cat.Exceptions {
		if !x.Valid {
			continue
		}
		for _, e := range x.Exceptions {
			if e.Expires.IsZero() || e.Expires.Before(now) || e.Expires.Sub(now) > expiringWithin {
				continue
			}
			n.Notify(notify.Event{Kind: catalog.EventExceptionExpiring, Team: x.Metadata.Team, Service: x.ID(), Time: now,
				Message: fmt.Sprintf("the exception to %s (approved by %s) expires on %s; renew it or fix what it excuses", e.Policy, e.ApprovedBy, e.Expires),
				Key:     e.Policy + " " + e.Expires.String()})
		}
	}
}

// SetNotifier sets who is told what happens (before Run).
func (d *Daemon) SetNotifier(n *notify.Notifier) { d.opts.Notifier = n }
