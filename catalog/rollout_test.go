package catalog

import (
	"fmt"
	"slices"
	"testing"
)

func TestRolloutPlan(t *testing.T) {
	services := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf("team%d/svc%02d", i%3, i))
		}
		return s
	}
	sizes := func(plan [][]string) []int {
		var out []int
		for _, w := range plan {
			out = append(out, len(w))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		rollout  Rollout
		services int
		first    int
		want     []int
	}{
		{"default over 20", Rollout{}, 20, 0, []int{1, 1, 18}},
		{"default over 1000", Rollout{}, 1000, 0, []int{1, 99, 900}},
		{"default over 5 drops the empty wave", Rollout{}, 5, 0, []int{1, 4}},
		{"one service", Rollout{}, 1, 0, []int{1}},
		{"services that changed themselves join the first wave", Rollout{}, 20, 3, []int{3, 17}},
		{"counts", Rollout{Waves: []Wave{"2", "5", "100%"}}, 20, 0, []int{2, 3, 15}},
		{"everything at once", Rollout{Waves: []Wave{"100%"}}, 20, 0, []int{20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svcs := services(tc.services)
			first := svcs[len(svcs)-tc.first:]
			plan := tc.rollout.Plan(svcs, first)
			if got := sizes(plan); !slices.Equal(got, tc.want) {
				t.Fatalf("wave sizes %v, want %v", got, tc.want)
			}
			var all []string
			for _, w := range plan {
				all = append(all, w...)
			}
			slices.Sort(all)
			if sorted := slices.Sorted(slices.Values(svcs)); !slices.Equal(all, sorted) {
				t.Fatalf("the plan does not hold every service once (%d of %d)", len(all), len(sorted))
			}
			for _, f := range first {
				if !slices.Contains(plan[0], f) {
					t.Errorf("%s changed itself but is not in the first wave %v", f, plan[0])
				}
			}
			// The order does not depend on the order services are listed
			// in, and the canaries stay the same from one change to the
			// next.
			rev := slices.Clone(svcs)
			slices.Reverse(rev)
			if again := tc.rollout.Plan(rev, first); fmt.Sprint(again) != fmt.Sprint(plan) {
				t.Fatalf("the plan depends on the input order:\n%v\n%v", plan, again)
			}
		})
	}
}

func TestRolloutCanariesSpreadAcrossTeams(t *testing.T) {
	var svcs []string
	for _, team := range []string{"alpha", "beta", "gamma", "delta"} {
		for i := range 25 {
			svcs = append(svcs, fmt.Sprintf("%s/svc%02d", team, i))
		}
	}
	plan := Rollout{}.Plan(svcs, nil)
	teams := map[string]bool{}
	for _, s := range plan[1] {
		teams[s[:len(s)-6]] = true
	}
	if len(plan[1]) != 9 || len(teams) < 2 {
		t.Fatalf("the second wave (10%% of 100) is %v: want 9 services from more than one team", plan[1])
	}
}

func TestRolloutFor(t *testing.T) {
	cfg := &Config{Rollout: Rollout{Waves: []Wave{"1", "100%"}}, Templates: map[string]TemplatePolicy{
		"web": {Rollout: &Rollout{Waves: []Wave{"100%"}}},
		"api": {},
	}}
	if got := cfg.RolloutFor("web").String(); got != "100%" {
		t.Errorf("web: %s", got)
	}
	if got := cfg.RolloutFor("api").String(); got != "1, 100%" {
		t.Errorf("api: %s", got)
	}
	if got := (Rollout{Soak: Duration(300e9)}).String(); got != "1, 10%, 100% (soak 5m0s)" {
		t.Errorf("default: %s", got)
	}
}
