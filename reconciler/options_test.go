package reconciler

import (
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pave-dev/pave/reconciler/apply"
)

// TestOptionsFlags: the daemon's flags write into its Options, with
// DefaultOptions as the defaults; --wait-timeout 0 applies without
// waiting for health, and --drift-mode takes correct or warn only.
func TestOptionsFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		check   func(Options) bool
		wantErr bool
	}{
		{nil, func(o Options) bool {
			return o.Apply.Wait && o.Apply.WaitTimeout == 5*time.Minute && o.Apply.DriftMode == apply.DriftCorrect && o.Interval == time.Minute
		}, false},
		{[]string{"--wait-timeout", "0"}, func(o Options) bool { return !o.Apply.Wait && o.Apply.WaitTimeout == 0 }, false},
		{[]string{"--wait-timeout", "20s"}, func(o Options) bool { return o.Apply.Wait && o.Apply.WaitTimeout == 20*time.Second }, false},
		{[]string{"--drift-mode", "warn"}, func(o Options) bool { return o.Apply.DriftMode == apply.DriftWarn }, false},
		{[]string{"--drift-mode", "ignore"}, nil, true},
		{[]string{"--min-backoff", "2s", "--max-backoff", "1m", "--concurrency", "8"}, func(o Options) bool {
			return o.MinBackoff == 2*time.Second && o.MaxBackoff == time.Minute && o.Concurrency == 8
		}, false},
	} {
		o := DefaultOptions()
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		o.BindFlags(fs)
		err := fs.Parse(tc.args)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%v: accepted", tc.args)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if !tc.check(o) {
			t.Errorf("%v: options %+v", tc.args, o)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}
