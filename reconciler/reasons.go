package reconciler

import corev1 "k8s.io/api/core/v1"

// Reason says how one reconcile of a service in an environment ended. It
// is the reason of the Kubernetes Event recorded for it, and the outcomes
// table maps it to everything else the daemon does with the result.
type Reason string

const (
	// ReasonApplied: a new version reached the cluster and is healthy.
	ReasonApplied Reason = "Applied"
	// ReasonUpToDate: nothing to write (or only drift corrected, which has
	// its own event); healthy. It records no event.
	ReasonUpToDate Reason = "UpToDate"
	// ReasonProgressing: applied, not healthy yet; checked again.
	ReasonProgressing Reason = "Progressing"
	// ReasonHealthCheckFailed: applied, and an object reports failure.
	ReasonHealthCheckFailed Reason = "HealthCheckFailed"
	// ReasonApplyFailed: the API server failed the apply; retried.
	ReasonApplyFailed Reason = "ApplyFailed"
	// ReasonRefused: a guard (ownership, scope) refused to write; a retry
	// cannot help until the catalog or the live object changes.
	ReasonRefused Reason = "Refused"
	// ReasonPolicyDenied: a blocking policy violation; nothing applied.
	ReasonPolicyDenied Reason = "PolicyDenied"
	// ReasonPolicyTimedOut: the policies reached no verdict within their
	// timeout (a starved CPU, a slow policy); nothing applied; retried.
	ReasonPolicyTimedOut Reason = "PolicyTimedOut"
	// ReasonRenderFailed: the template did not render; nothing applied.
	ReasonRenderFailed Reason = "RenderFailed"
	// ReasonInvalidService: service.yaml is invalid; nothing applied or
	// pruned.
	ReasonInvalidService Reason = "InvalidService"
	// ReasonClusterUnreachable: the cluster did not answer; retried.
	ReasonClusterUnreachable Reason = "ClusterUnreachable"
	// ReasonNoCredentials: pave serve has no --cluster for the
	// environment's cluster.
	ReasonNoCredentials Reason = "NoCredentials"
	// ReasonRemoved: the service left the catalog and was pruned.
	ReasonRemoved Reason = "Removed"
	// ReasonPruneFailed: pruning a removed service failed; retried.
	ReasonPruneFailed Reason = "PruneFailed"
	// ReasonPruneRefused: the mass-prune guard refused to prune a removed
	// service; it waits for a human.
	ReasonPruneRefused Reason = "PruneRefused"
	// ReasonCatalogInvalid: pave.yaml or the policies of the new revision
	// are broken; the previous state keeps running.
	ReasonCatalogInvalid Reason = "CatalogInvalid"

	// ReasonWaiting: the pair waits at its promotion gate and runs
	// nothing pave can apply meanwhile (never deployed there, or its
	// revision cannot be loaded). Not a failure.
	ReasonWaiting Reason = "Waiting"

	// Events recorded beside a reconcile's own.

	// ReasonDrift: a field changed in the cluster (corrected or not).
	ReasonDrift Reason = "Drift"
	// ReasonPruned: an object the render no longer has was deleted.
	ReasonPruned Reason = "Pruned"
	// ReasonRolledBack: with rollback: auto, a failed revision was rolled
	// back to the last healthy one.
	ReasonRolledBack Reason = "RolledBack"
)

// outcome is what a reason means.
type outcome struct {
	// Phase the status API shows.
	Phase Phase
	// EventType is the Kubernetes Event's type; "" records none (the
	// cluster cannot be told). Normal events are recorded only when the
	// reconcile wrote something, so a resync of an unchanged service is
	// silent; Warning events every time.
	EventType string
	// ChangeFailure counts, for DORA, a deployment that ends here as a
	// failed change (and starts the time to restore).
	ChangeFailure bool
	// Retry requeues the pair with backoff.
	Retry bool
}

// outcomes is the one table of reasons.
var outcomes = map[Reason]outcome{
	ReasonApplied:            {Phase: PhaseReady, EventType: corev1.EventTypeNormal},
	ReasonUpToDate:           {Phase: PhaseReady},
	ReasonProgressing:        {Phase: PhaseProgressing, EventType: corev1.EventTypeNormal, Retry: true},
	ReasonHealthCheckFailed:  {Phase: PhaseFailed, EventType: corev1.EventTypeWarning, ChangeFailure: true},
	ReasonApplyFailed:        {Phase: PhaseFailed, EventType: corev1.EventTypeWarning, ChangeFailure: true, Retry: true},
	ReasonRefused:            {Phase: PhaseFailed, EventType: corev1.EventTypeWarning},
	ReasonPolicyDenied:       {Phase: PhasePolicyDenied, EventType: corev1.EventTypeWarning},
	ReasonPolicyTimedOut:     {Phase: PhasePolicyDenied, EventType: corev1.EventTypeWarning, Retry: true},
	ReasonRenderFailed:       {Phase: PhaseRenderError, EventType: corev1.EventTypeWarning},
	ReasonInvalidService:     {Phase: PhaseRenderError, EventType: corev1.EventTypeWarning},
	ReasonClusterUnreachable: {Phase: PhaseClusterUnreachable, Retry: true},
	ReasonNoCredentials:      {Phase: PhaseClusterUnreachable},
	ReasonRemoved:            {Phase: PhasePruned, EventType: corev1.EventTypeNormal},
	ReasonPruneFailed:        {Phase: PhaseFailed, EventType: corev1.EventTypeWarning, Retry: true},
	ReasonPruneRefused:       {Phase: PhaseFailed, EventType: corev1.EventTypeWarning},
	ReasonCatalogInvalid:     {Phase: PhaseCatalogInvalid},
	ReasonWaiting:            {Phase: PhaseWaiting},
	ReasonDrift:              {EventType: corev1.EventTypeWarning},
	ReasonPruned:             {EventType: corev1.EventTypeNormal},
	ReasonRolledBack:         {EventType: corev1.EventTypeWarning},
}

// outcomeOf returns the table's row for r; a reason missing from it
// reads as a failure, never as success.
func outcomeOf(r Reason) outcome {
	if o, ok := outcomes[r]; ok {
		return o
	}
	return outcome{Phase: PhaseFailed, EventType: corev1.EventTypeWarning}
}
