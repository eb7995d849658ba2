package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the module that marks the repository root.
const ModulePath = "github.com/pave-dev/pave"

// BuildCommand builds every binary this package needs. It is run from the
// repository root; `make tools` and `make test` run it too.
const BuildCommand = "bash e2e/tools/build.sh"

// EnvToolsBin names a directory holding all binaries side by side (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok) and kwok's
// stage files in its stages/ subdirectory. It overrides the versioned
// directories under .cache/bin.
const EnvToolsBin = "PAVE_TOOLS_BIN"

// EnvToolsCache moves the versioned binary cache (default <repo>/.cache/bin)
// elsewhere, e.g. to a directory that outlives the clone, so that CI on a
// reused machine builds nothing. build.sh honours it too.
const EnvToolsCache = "PAVE_TOOLS_CACHE"

// Binaries are the paths of the control-plane programs.
type Binaries struct {
	Etcd              string
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kwok              string
	// KwokStages is the directory with kwok's default Stage files
	// (node-initialize.yaml, node-heartbeat.yaml, pod-*.yaml) that
	// e2e/tools/build.sh copies out of the kwok module.
	KwokStages string
}

// MissingBinariesError says which binaries are missing and how to build them.
type MissingBinariesError struct {
	Missing []string
	Root    string // repository root, where BuildCommand is to be run
}

func (e *MissingBinariesError) Error() string {
	env := ""
	if dir := os.Getenv(EnvToolsCache); dir != "" {
		env = EnvToolsCache + "=" + dir + " "
	}
	return fmt.Sprintf("local control plane not built (missing %s); build it with:\n\tcd %s && %s%s",
		strings.Join(e.Missing, ", "), e.Root, env, BuildCommand)
}

// FindBinaries locates the binaries that e2e/tools/build.sh built for the
// versions pinned in e2e/tools/go.mod and e2e/tools/kwok/go.mod, or those in
// $PAVE_TOOLS_BIN. It returns a *MissingBinariesError naming the build
// command when any is missing.
func FindBinaries() (Binaries, error) {
	root, err := RepoRoot()
	if err != nil && os.Getenv(EnvToolsBin) == "" {
		return Binaries{}, err
	}
	var b Binaries
	if dir := os.Getenv(EnvToolsBin); dir != "" {
		b = Binaries{
			Etcd:              filepath.Join(dir, "etcd"),
			APIServer:         filepath.Join(dir, "kube-apiserver"),
			ControllerManager: filepath.Join(dir, "kube-controller-manager"),
			Scheduler:         filepath.Join(dir, "kube-scheduler"),
			Kwok:              filepath.Join(dir, "kwok"),
			KwokStages:        filepath.Join(dir, "stages"),
		}
	} else {
		v, err := readToolVersions(root)
		if err != nil {
			return Binaries{}, err
		}
		bin := filepath.Join(root, ".cache", "bin")
		if dir := os.Getenv(EnvToolsCache); dir != "" {
			bin = dir
		}
		k8s := filepath.Join(bin, "k8s-"+v.kubernetes)
		kwok := filepath.Join(bin, "kwok-"+v.kwok)
		b = Binaries{
			Etcd:              filepath.Join(bin, "etcd-"+v.etcd, "etcd"),
			APIServer:         filepath.Join(k8s, "kube-apiserver"),
			ControllerManager: filepath.Join(k8s, "kube-controller-manager"),
			Scheduler:         filepath.Join(k8s, "kube-scheduler"),
			Kwok:              filepath.Join(kwok, "kwok"),
			KwokStages:        filepath.Join(kwok, "stages"),
		}
	}
	var missing []string
	for _, p := range []string{b.Etcd, b.APIServer, b.ControllerManager, b.Scheduler, b.Kwok} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, relTo(root, p))
		}
	}
	for _, f := range kwokStageFiles {
		if _, err := os.Stat(filepath.Join(b.KwokStages, f)); err != nil {
			missing = append(missing, relTo(root, b.KwokStages)+"/")
			break
		}
	}
	if len(missing) > 0 {
		return b, &MissingBinariesError{Missing: missing, Root: root}
	}
	return b, nil
}

func relTo(root, p string) string {
	if root == "" {
		return p
	}
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares ModulePath.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePathOf(filepath.Join(dir, "go.mod")) == ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

func modulePathOf(goMod string) string {
	f, err := os.Open(goMod)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}

type toolVersions struct{ kubernetes, etcd, kwok string }

// readToolVersions reads the pinned versions from the tools modules, the
// single source of truth that e2e/tools/build.sh builds from.
func readToolVersions(root string) (toolVersions, error) {
	tools := filepath.Join(root, "e2e", "tools", "go.mod")
	kwokMod := filepath.Join(root, "e2e", "tools", "kwok", "go.mod")
	var v toolVersions
	var err error
	if v.kubernetes, err = requiredVersion(tools, "k8s.io/kubernetes"); err != nil {
		return v, err
	}
	if v.etcd, err = requiredVersion(tools, "go.etcd.io/etcd/server/v3"); err != nil {
		return v, err
	}
	if v.kwok, err = requiredVersion(kwokMod, "sigs.k8s.io/kwok"); err != nil {
		return v, err
	}
	return v, nil
}

// requiredVersion finds "<module> <version>" in a go.mod require line.
func requiredVersion(goMod, module string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", fmt.Errorf("read tool versions: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == module && strings.HasPrefix(fields[1], "v") {
			return fields[1], nil
		}
	}
	return "", errors.New(goMod + ": no require line for " + module)
}
