//go:build unix

package catalog

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the test process has used. Budgets are counted
// in it rather than in wall time, so that a loaded machine does not fail
// them.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
