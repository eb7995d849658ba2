package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are pave's Prometheus metrics, DORA metrics included. They live
// in their own registry (no global state).
type Metrics struct {
	Registry *prometheus.Registry

	ReconcileDuration *prometheus.HistogramVec
	// Services (pave_services) counts the pairs per phase when scraped.
	Services         prometheus.Collector
	PolicyViolations *prometheus.CounterVec
	ApplyObjects     *prometheus.CounterVec
	FetchDuration    prometheus.Histogram
	FetchErrors      prometheus.Counter
	RevisionInfo     *prometheus.GaugeVec
	DriftCorrections *prometheus.CounterVec
	WebhookRejected  *prometheus.CounterVec

	// DORA, per team, service and environment.
	Deployments     *prometheus.CounterVec
	LeadTime        *prometheus.HistogramVec
	ChangeFailures  *prometheus.CounterVec
	TimeToRestore   *prometheus.HistogramVec
	QueueDepth      prometheus.GaugeFunc
	queueDepthValue func() float64
}

var doraLabels = []string{"team", "service", "environment"}

// NewMetrics registers pave's metrics in a new registry. queueDepth reports
// the work queue's length, phases the service × environment pairs per
// phase; both are read when the metrics are scraped.
func NewMetrics(queueDepth func() float64, phases func() map[Phase]int) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), queueDepthValue: queueDepth}
	leadBuckets := []float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600}
	m.ReconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pave_reconcile_duration_seconds", Help: "Duration of each reconcile stage (fetch, load, render, policy, apply, health).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"stage"})
	m.Services = &phaseCollector{desc: prometheus.NewDesc("pave_services", "Service × environment pairs per phase.", []string{"phase"}, nil), counts: phases}
	m.PolicyViolations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_policy_violations_total", Help: "Policy denials found, per policy."}, []string{"policy"})
	m.ApplyObjects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_apply_objects_total", Help: "Objects applied, per action (created, configured, unchanged, deleted, skipped)."}, []string{"action"})
	m.FetchDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pave_source_fetch_duration_seconds", Help: "Duration of source fetches.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)})
	m.FetchErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "pave_source_fetch_errors_total", Help: "Failed source fetches."})
	m.RevisionInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pave_source_revision_info", Help: "The revision of the catalog being followed (value 1)."}, []string{"revision", "branch"})
	m.DriftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_drift_corrections_total", Help: "Drifted fields found in clusters and corrected."}, doraLabels)
	m.WebhookRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_webhook_rejected_total", Help: "Webhook requests rejected, per reason."}, []string{"reason"})
	m.Deployments = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_deployments_total", Help: "DORA: deployments that reached their cluster and became healthy."}, doraLabels)
	m.LeadTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pave_deployment_lead_time_seconds", Help: "DORA: time from the commit to the deployment being healthy.", Buckets: leadBuckets}, doraLabels)
	m.ChangeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_change_failures_total", Help: "DORA: deployments that ended Failed."}, doraLabels)
	m.TimeToRestore = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pave_time_to_restore_seconds", Help: "DORA: time from a failed deployment to the next healthy one.", Buckets: leadBuckets}, doraLabels)
	m.QueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pave_queue_depth", Help: "Service × environment pairs waiting in the work queue."}, func() float64 {
		if m.queueDepthValue == nil {
			return 0
		}
		return m.queueDepthValue()
	})
	m.Registry.MustRegister(
		m.ReconcileDuration, m.Services, m.PolicyViolations, m.ApplyObjects, m.FetchDuration, m.FetchErrors,
		m.RevisionInfo, m.DriftCorrections, m.WebhookRejected, m.Deployments, m.LeadTime, m.ChangeFailures,
		m.TimeToRestore, m.QueueDepth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// phaseCollector is pave_services, counted when scraped: counting after
// every reconcile walked every pair each time, a quadratic cost in a round
// over the whole catalog.
type phaseCollector struct {
	desc   *prometheus.Desc
	counts func() map[Phase]int
}

func (c *phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	var counts map[Phase]int
	if c.counts != nil {
		counts = c.counts()
	}
	for _, p := range Phases {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[p]), string(p))
	}
}
