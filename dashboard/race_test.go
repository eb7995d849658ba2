//go:build race

package dashboard

// raceSlowdown scales the browser test's time bounds: the race detector
// (make test-race) makes the server several times slower.
const raceSlowdown = 5
