package shard

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
)

// Options configure sharding. DefaultOptions holds every default; BindFlags
// turns them into pave serve's flags.
type Options struct {
	// Shards is the number of replicas the services are split between
	// (1: no sharding, one replica owns every service).
	Shards int
	// Identity names this replica among the members, and its Lease
	// (pave-shard-<identity>): the pod's name on Kubernetes.
	Identity string
	// Namespace holds the member Leases.
	Namespace string
	// LeaseDuration is how long a member's Lease holds without a renewal:
	// the others take over its share that long after its last renewal
	// they saw. Whole seconds.
	LeaseDuration time.Duration
	// RenewDeadline: a replica whose Lease was not renewed for that long
	// stops writing. It must be shorter than LeaseDuration; the
	// difference is the margin that keeps two replicas from writing one
	// service.
	RenewDeadline time.Duration
	// RenewPeriod is how often a replica renews its Lease.
	RenewPeriod time.Duration
	// ListPeriod is how often a replica lists the others' Leases (at
	// most RenewPeriod): a renewal is seen that long after it is
	// written at most, so a dead member's share is taken over within
	// LeaseDuration + ListPeriod of its last renewal. A replica also
	// lists at the moment a member it sees would lapse.
	ListPeriod time.Duration
	// Clock is the membership's clock (tests pass a fake one).
	Clock clock.WithTicker
}

// DefaultOptions are the defaults of the sharding flags.
func DefaultOptions() Options {
	return Options{
		Shards:        1,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RenewPeriod: 5 * time.Second, ListPeriod: time.Second,
	}
}

// BindFlags adds the sharding flags to fs, with o's values as defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Shards, "shards", o.Shards, "split the services between this many replicas, each owning a share by consistent hashing, with a member Lease each (1: no sharding)")
	fs.StringVar(&o.Identity, "shard-identity", o.Identity, "this replica's name among the shards, unique and stable while it runs (default: the host name, the pod's name on Kubernetes)")
	fs.DurationVar(&o.LeaseDuration, "shard-lease-duration", o.LeaseDuration, "how long a member Lease holds without renewal: a dead replica's share is taken over that long after its last renewal (whole seconds)")
	fs.DurationVar(&o.RenewDeadline, "shard-renew-deadline", o.RenewDeadline, "a replica whose member Lease was not renewed for this long stops writing (shorter than --shard-lease-duration)")
	fs.DurationVar(&o.RenewPeriod, "shard-renew-period", o.RenewPeriod, "how often a replica renews its member Lease (shorter than --shard-renew-deadline)")
	fs.DurationVar(&o.ListPeriod, "shard-list-period", o.ListPeriod, "how often a replica lists the others' member Leases, to see one lapse or a push it announces (at most --shard-renew-period)")
}

// identity is Identity, or the host name when it is empty.
func (o Options) identity() string {
	if o.Identity != "" {
		return o.Identity
	}
	host, _ := os.Hostname()
	return host
}

// Enabled reports whether the services are split between replicas.
func (o Options) Enabled() bool { return o.Shards > 1 }

// Validate refuses settings sharding cannot run with.
func (o Options) Validate() error {
	var errs []error
	if o.Shards < 1 {
		errs = append(errs, fmt.Errorf("--shards must be at least 1, got %d", o.Shards))
	}
	if !o.Enabled() {
		return errors.Join(errs...)
	}
	if id := o.identity(); id == "" {
		errs = append(errs, errors.New("--shard-identity is required with --shards (the host name is empty)"))
	} else if msgs := validation.IsDNS1123Subdomain(LeaseName(id)); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--shard-identity %q: lease name %s: %v", id, LeaseName(id), msgs))
	}
	if o.LeaseDuration < time.Second || o.LeaseDuration%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--shard-lease-duration must be whole seconds, at least 1s, got %s", o.LeaseDuration))
	}
	if o.RenewDeadline <= 0 || o.RenewDeadline >= o.LeaseDuration {
		errs = append(errs, fmt.Errorf("--shard-renew-deadline (%s) must be positive and shorter than --shard-lease-duration (%s)", o.RenewDeadline, o.LeaseDuration))
	}
	if o.RenewPeriod <= 0 || o.RenewPeriod >= o.RenewDeadline {
		errs = append(errs, fmt.Errorf("--shard-renew-period (%s) must be positive and shorter than --shard-renew-deadline (%s)", o.RenewPeriod, o.RenewDeadline))
	}
	if o.ListPeriod <= 0 || o.ListPeriod > o.RenewPeriod {
		errs = append(errs, fmt.Errorf("--shard-list-period (%s) must be positive and at most --shard-renew-period (%s)", o.ListPeriod, o.RenewPeriod))
	}
	return errors.Join(errs...)
}
