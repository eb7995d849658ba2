package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Rollout is how a change that reaches many services at once — a
// template's, pave.yaml's values every service sees, the policies' —
// spreads over them in each environment: in waves, each Ready (and
// soaked) before the next starts. pave.yaml's `rollout:` is the default;
// `templates.<t>.rollout` overrides it for one template.
type Rollout struct {
	// Waves are the cumulative share of the template's services reached
	// at the end of each wave: a count ("1", "5") or a percentage
	// ("10%"); the last is "100%". Default: 1, 10%, 100%.
	Waves []Wave `yaml:"waves" json:"waves,omitempty"`
	// Soak is how long a wave stays Ready before the next starts
	// (default 0).
	Soak Duration `yaml:"soak" json:"soak,omitempty"`
}

// DefaultWaves: one canary, then a tenth, then the rest.
var DefaultWaves = []Wave{"1", "10%", "100%"}

// Wave is one step of a rollout: "3" (services) or "25%".
type Wave string

func (w *Wave) decodeNode(dec *decoder, n *yaml.Node, p string) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int") {
		dec.fail(n, p, "expected a number of services or a percentage such as \"10%%\", got %s", describe(n))
		return
	}
	if _, _, err := Wave(n.Value).parse(); err != nil {
		dec.fail(n, p, "%v", err)
		return
	}
	*w = Wave(n.Value)
}

// parse reads a wave: its count, or its percentage when pct is set.
func (w Wave) parse() (n float64, pct bool, err error) {
	s := strings.TrimSpace(string(w))
	if v, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 100 || math.IsNaN(f) {
			return 0, true, fmt.Errorf("%q is not a percentage between 0%% and 100%% (write e.g. \"10%%\")", string(w))
		}
		return f, true, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 1 {
		return 0, false, fmt.Errorf("%q is neither a number of services (1 or more) nor a percentage such as \"10%%\"", string(w))
	}
	return float64(i), false, nil
}

// reach is how many of total services are reached once the wave is done.
func (w Wave) reach(total int) int {
	n, pct, err := w.parse()
	if err != nil {
		return total
	}
	if pct {
		return min(total, int(math.Ceil(n*float64(total)/100)))
	}
	return min(total, int(n))
}

// String writes the rollout as pave.yaml does: "1, 10%, 100% (soak 5m0s)".
func (r Rollout) String() string {
	var parts []string
	for _, w := range r.waves() {
		parts = append(parts, string(w))
	}
	s := strings.Join(parts, ", ")
	if r.Soak > 0 {
		s += fmt.Sprintf(" (soak %s)", r.Soak)
	}
	return s
}

func (r Rollout) waves() []Wave {
	if len(r.Waves) == 0 {
		return DefaultWaves
	}
	return r.Waves
}

// RolloutFor is the rollout of a template: its own, else pave.yaml's.
func (c *Config) RolloutFor(template string) Rollout {
	if tp, ok := c.Templates[template]; ok && tp.Rollout != nil {
		return *tp.Rollout
	}
	return c.Rollout
}

// Plan splits a template's services into waves. Services listed in first
// (those that also changed themselves, or that the change already
// reached) come first, in the wave the rollout's first wave grows to
// hold; the others follow in an order fixed by a hash of their id, so
// that the canaries are spread across teams and stay the same from one
// change to the next. Empty waves are dropped: with 5 services, "1, 10%,
// 100%" is two waves of 1 and 4.
func (r Rollout) Plan(services, first []string) [][]string {
	if len(services) == 0 {
		return nil
	}
	isFirst := map[string]bool{}
	for _, s := range first {
		isFirst[s] = true
	}
	order := slices.Clone(services)
	slices.SortFunc(order, func(a, b string) int {
		if isFirst[a] != isFirst[b] {
			if isFirst[a] {
				return -1
			}
			return 1
		}
		if ha, hb := serviceHash(a), serviceHash(b); ha != hb {
			if ha < hb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	nFirst := 0
	for _, s := range order {
		if isFirst[s] {
			nFirst++
		}
	}
	var plan [][]string
	done := 0
	for i, w := range r.waves() {
		reach := w.reach(len(order))
		if i == 0 {
			reach = max(reach, nFirst)
		}
		if i == len(r.waves())-1 {
			reach = len(order) // the last wave takes what is left
		}
		if reach <= done {
			continue
		}
		plan = append(plan, order[done:reach])
		done = reach
	}
	return plan
}

// serviceHash places a service in the rollout order: a digest, so that
// ids alike ("team/svc01", "team/svc02") land far apart.
func serviceHash(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(sum[:8])
}

// rollout checks a rollout block at p: at least one wave, each larger
// than the one before when they can be compared, the last "100%".
func (v *validator) rollout(p string, r *Rollout) {
	if r.Waves == nil {
		return
	}
	if len(r.Waves) == 0 {
		v.errorf(p+".waves", "%s.waves: list at least one wave (the last \"100%%\")", p)
		return
	}
	last := r.Waves[len(r.Waves)-1]
	if n, pct, err := last.parse(); err == nil && (!pct || n != 100) {
		v.errorf(fmt.Sprintf("%s.waves[%d]", p, len(r.Waves)-1), "%s.waves[%d]: the last wave must be \"100%%\" (every service is reached at the end), got %q", p, len(r.Waves)-1, string(last))
	}
	for i := 1; i < len(r.Waves); i++ {
		a, apct, aerr := r.Waves[i-1].parse()
		b, bpct, berr := r.Waves[i].parse()
		if aerr == nil && berr == nil && apct == bpct && b <= a {
			v.errorf(fmt.Sprintf("%s.waves[%d]", p, i), "%s.waves[%d]: %q does not reach more services than the wave before it (%q)", p, i, string(r.Waves[i]), string(r.Waves[i-1]))
		}
	}
}
