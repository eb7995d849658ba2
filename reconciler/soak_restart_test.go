package reconciler

import (
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestSoakSurvivesRestart: a soak in progress goes on after a restart from
// where it was: the environment before became Ready when its history says,
// not when the new daemon first looked at it.
func TestSoakSurvivesRestart(t *testing.T) {
	const id = "soak/api"
	const img = "registry.example.com/soak/api:"
	dir := catalogDir(t, []string{"soak"}, map[string]string{id: webService(img + "1.0.0")})
	withPromotion(t, dir, "{soak: 10m}")

	d := run(t, dir)
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "soaking, 10m left")
	d.clock.Step(6 * time.Minute)
	d.queue.Add(pairKey{id, "prod"})
	d.gateIs(time.Minute, id, "prod", "soaking, 4m left")
	d.stop()

	// The restarted daemon's clock goes on from the first one's.
	later := d.clock.Now()
	d = run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Clock = clocktesting.NewFakeClock(later) })
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "soaking, 4m left")
	if got := image(t, "prod", "soak-prod", "api"); got[0] != '<' {
		t.Fatalf("prod runs %s before the soak ended", got)
	}
	d.clock.Step(4 * time.Minute)
	d.envPhase(time.Minute, id, "prod", PhaseReady)
	liveImage(t, 10*time.Second, "prod", "soak-prod", "api", img+"1.0.0")
}
