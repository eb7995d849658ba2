package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/clock"

	"github.com/pave-dev/pave/notify"
	"github.com/pave-dev/pave/reconciler/apply"
)

// Options configure the daemon. DefaultOptions holds every default, and
// BindFlags turns them into pave serve's flags: each default is written
// once, here.
type Options struct {
	// Interval between polls of the source (with jitter).
	Interval time.Duration
	// ResyncInterval between drift checks of every service.
	ResyncInterval time.Duration
	// Concurrency is the number of queue workers.
	Concurrency int
	// Apply configures every cluster's applier (wait timeout, drift mode).
	Apply apply.Options
	// AllowMassPrune disables the mass-prune guard.
	AllowMassPrune bool
	// ShutdownTimeout bounds how long in-flight applies may finish on
	// stop, and then how long queued Kubernetes Events may take to reach
	// their clusters.
	ShutdownTimeout time.Duration
	// PingTimeout bounds a cluster's reachability check.
	PingTimeout time.Duration
	// MinBackoff is the first retry delay of a failing service; it doubles
	// with each failure in a row, up to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff caps the retry delay of a failing service or fetch.
	MaxBackoff time.Duration
	// Clock is the daemon's only clock: status times, DORA, metrics'
	// durations, the poll and resync timers and the work queue's backoff
	// all read it. Tests pass a fake one.
	Clock clock.WithTicker
	// Notifier tells teams what happened to their services, as pave.yaml's
	// notifications say (nil: nobody is told).
	Notifier *notify.Notifier
	// Profiling serves Go's profiles (/debug/pprof/) on the probe
	// listener.
	Profiling bool
	// Owner is this replica's share of the services when pave serve runs
	// as several shards (nil: every service is this replica's).
	Owner Owner
	// Idle, when set, is called once each time the work queue runs dry:
	// nothing queued and no reconcile in flight, after a burst of work (a
	// commit's round, a resync). pave serve returns the memory the burst
	// used to the operating system there.
	Idle func()
}

// Owner says which services this replica reconciles (reconciler/shard).
type Owner interface {
	// Owns reports whether a service ("team/name") is this replica's
	// share: only those are queued, and shown in the status.
	Owns(service string) bool
	// Claim fences one reconcile of a service: ok is false while another
	// replica may still write it (the pair is dropped, its status left
	// as it is); the context is cancelled as soon as the claim lapses;
	// release ends the claim.
	Claim(ctx context.Context, service string) (claimed context.Context, release func(), ok bool)
	// Changes signals that the share, or what may be claimed of it,
	// changed: the pairs of the services gained, and those dropped for
	// want of a claim, are queued again.
	Changes() <-chan struct{}
}

// DefaultOptions are the defaults of pave serve's flags.
func DefaultOptions() Options {
	return Options{
		Interval: time.Minute, ResyncInterval: 10 * time.Minute, Concurrency: 4,
		Apply: apply.DefaultOptions(), ShutdownTimeout: 30 * time.Second, PingTimeout: 5 * time.Second,
		MinBackoff: time.Second, MaxBackoff: 5 * time.Minute, Clock: clock.RealClock{},
	}
}

// BindFlags adds the daemon's flags to fs, with o's values as defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.Interval, "interval", o.Interval, "poll interval of the source (with jitter)")
	fs.DurationVar(&o.ResyncInterval, "resync-interval", o.ResyncInterval, "interval of drift checks of every service")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "services reconciled at once")
	fs.Var(waitTimeout{&o.Apply}, "wait-timeout", "how long to wait for a service to become healthy (0: do not wait)")
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "serve Go's CPU and memory profiles at /debug/pprof/ on --probe-listen")
	fs.Var(driftMode{&o.Apply.DriftMode}, "drift-mode", "what to do with objects changed in a cluster: correct or warn")
	fs.BoolVar(&o.AllowMassPrune, "allow-mass-prune", o.AllowMassPrune, "allow deleting more than half of a cluster's, or all of a team's, pave-managed objects")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "how long in-flight work, then queued events, may finish on SIGTERM")
	fs.DurationVar(&o.MinBackoff, "min-backoff", o.MinBackoff, "first retry delay of a failing service (doubles with each failure in a row)")
	fs.DurationVar(&o.MaxBackoff, "max-backoff", o.MaxBackoff, "longest retry delay of a failing service, and of polls after failed fetches")
}

// Validate refuses settings the daemon cannot run with.
func (o Options) Validate() error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--interval", o.Interval}, {"--resync-interval", o.ResyncInterval}, {"--shutdown-timeout", o.ShutdownTimeout},
		{"--min-backoff", o.MinBackoff}, {"--max-backoff", o.MaxBackoff},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.flag, d.v))
		}
	}
	if o.MinBackoff > o.MaxBackoff && o.MaxBackoff > 0 {
		errs = append(errs, fmt.Errorf("--min-backoff (%s) must not exceed --max-backoff (%s)", o.MinBackoff, o.MaxBackoff))
	}
	if o.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency must be at least 1, got %d", o.Concurrency))
	}
	if o.Apply.WaitTimeout < 0 {
		errs = append(errs, fmt.Errorf("--wait-timeout must not be negative, got %s", o.Apply.WaitTimeout))
	}
	return errors.Join(errs...)
}

// waitTimeout is --wait-timeout: a duration, 0 meaning "apply without
// waiting for health".
type waitTimeout struct{ o *apply.Options }

func (w waitTimeout) String() string { return w.o.WaitTimeout.String() }
func (w waitTimeout) Type() string   { return "duration" }
func (w waitTimeout) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	w.o.WaitTimeout, w.o.Wait = v, v > 0
	return nil
}

// driftMode is --drift-mode: correct or warn.
type driftMode struct{ m *apply.DriftMode }

func (d driftMode) String() string { return string(*d.m) }
func (d driftMode) Type() string   { return "string" }
func (d driftMode) Set(s string) error {
	switch m := apply.DriftMode(s); m {
	case apply.DriftCorrect, apply.DriftWarn:
		*d.m = m
		return nil
	}
	return fmt.Errorf("must be %s or %s", apply.DriftCorrect, apply.DriftWarn)
}
