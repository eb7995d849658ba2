package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildPave builds the pave binary into a temporary folder, for tests
// that run it as a process; cleanup removes it.
func BuildPave() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "pave-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "pave")
	build := exec.Command("go", "build", "-o", bin, "github.com/pave-dev/pave/cmd/pave")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build pave: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
