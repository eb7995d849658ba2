//go:build linux

package review_test

import (
	"os"
	"syscall"
)

// maxRSS is the peak resident set of a finished process, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // kilobytes on Linux
}
