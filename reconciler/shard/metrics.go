package shard

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the membership's metrics, for the daemon's registry: each
// replica's metrics are its own share's, and pave_shard_info names the
// shard they come from.
func (m *Members) Collectors() []prometheus.Collector {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pave_shard_info", Help: "This replica's shard identity (value 1): every other metric of this replica covers its share of the services only.",
		ConstLabels: prometheus.Labels{"shard": m.opts.Identity},
	})
	info.Set(1)
	return []prometheus.Collector{
		info,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pave_shard_members", Help: "Live members this replica sees, itself included.",
			ConstLabels: prometheus.Labels{"shard": m.opts.Identity},
		}, func() float64 { return float64(len(m.Members())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pave_shard_writable", Help: "1 while this replica's member Lease is renewed in time (it may write), else 0.",
			ConstLabels: prometheus.Labels{"shard": m.opts.Identity},
		}, func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.writable(m.clock.Now()) {
				return 1
			}
			return 0
		}),
	}
}
