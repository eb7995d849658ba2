package shard

import (
	"fmt"
	"strings"
	"testing"
)

func services(n int) []string {
	teams := []string{"payments", "storefront", "data", "search", "identity"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/svc-%05d", teams[i%len(teams)], i)
	}
	return out
}

// TestAssignIsBalanced: three replicas each own about a third of 10,000
// services.
func TestAssignIsBalanced(t *testing.T) {
	members := []string{"pave-7d9f-a", "pave-7d9f-b", "pave-7d9f-c"}
	count := map[string]int{}
	for _, s := range services(10000) {
		count[Assign(members, s)]++
	}
	for _, m := range members {
		if share := float64(count[m]) / 10000; share < 0.30 || share > 0.37 {
			t.Errorf("%s owns %.1f%% of the services, want about a third", m, share*100)
		}
	}
}

// TestAssignMovesOnlyWhatMust: a fourth replica takes about a quarter of
// the services, every one of them from the others and none between them;
// when it leaves again each service goes back where it was; a replica
// leaving hands over its own services only. The order members are listed
// in changes nothing.
func TestAssignMovesOnlyWhatMust(t *testing.T) {
	three := []string{"a", "b", "c"}
	four := []string{"d", "c", "b", "a"}
	svcs := services(10000)
	moved := 0
	for _, s := range svcs {
		before, after := Assign(three, s), Assign(four, s)
		if before != after {
			moved++
			if after != "d" {
				t.Fatalf("%s moved from %s to %s, not to the new replica", s, before, after)
			}
		}
		if back := Assign([]string{"c", "a", "b"}, s); back != before {
			t.Fatalf("%s: %s with the members in another order, %s before", s, back, before)
		}
	}
	if share := float64(moved) / float64(len(svcs)); share < 0.22 || share > 0.28 {
		t.Errorf("a fourth replica moved %.1f%% of the services, want about 25%%", share*100)
	}
	for _, s := range svcs {
		before, after := Assign(three, s), Assign([]string{"a", "c"}, s)
		if before != "b" && before != after {
			t.Fatalf("%s moved from %s to %s when b left", s, before, after)
		}
	}
	if got := Assign(nil, "payments/checkout"); got != "" {
		t.Errorf("no members: owner %q", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"defaults, not sharded", func(*Options) {}, ""},
		{"sharded", func(o *Options) { o.Shards, o.Identity = 3, "pave-5c8d7-x2k9q" }, ""},
		{"zero shards", func(o *Options) { o.Shards = 0 }, "--shards must be at least 1, got 0"},
		{"identity not a name", func(o *Options) { o.Shards, o.Identity = 2, "Pave_1" }, `--shard-identity "Pave_1"`},
		{"fraction of a second", func(o *Options) { o.Shards, o.Identity, o.LeaseDuration = 2, "a", 1500*1e6 }, "--shard-lease-duration must be whole seconds"},
		{"deadline not shorter", func(o *Options) { o.Shards, o.Identity, o.RenewDeadline = 2, "a", o.LeaseDuration }, "--shard-renew-deadline (15s) must be positive and shorter"},
		{"period not shorter", func(o *Options) { o.Shards, o.Identity, o.RenewPeriod = 2, "a", o.RenewDeadline }, "--shard-renew-period (10s) must be positive and shorter"},
		{"list period longer than the renew period", func(o *Options) { o.Shards, o.Identity, o.ListPeriod = 2, "a", 6e9 }, "--shard-list-period (6s) must be positive and at most --shard-renew-period (5s)"},
		{"list period zero", func(o *Options) { o.Shards, o.Identity, o.ListPeriod = 2, "a", 0 }, "--shard-list-period (0s) must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
