//go:build !race

package catalog

// raceSlowdown scales the CPU budgets; without the race detector, 1.
const raceSlowdown = 1
