//go:build race

package catalog

// raceSlowdown scales the CPU budgets: the race detector (make test-race)
// makes the decoder several times slower without changing its complexity,
// which is what the budgets guard.
const raceSlowdown = 10
