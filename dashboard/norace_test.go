//go:build !race

package dashboard

// raceSlowdown scales the browser test's time bounds; without the race
// detector, 1.
const raceSlowdown = 1
