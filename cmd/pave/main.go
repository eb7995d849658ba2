// Command pave renders golden-path services from a catalog repository,
// checks them against the platform's policies and applies them to the
// clusters of each environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFailure  = 1 // the catalog has problems (invalid services, denials)
	exitUsage    = 2 // bad flags or arguments, or an unusable catalog config
	exitInternal = 3
)

// exitError carries the exit code a command wants, next to its message.
type exitError struct {
	code int
	err  error
	// help: the mistake is in how the command was called, so the message
	// points at the command's --help.
	help bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks a mistake in how the command was called.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// flagError marks a bad flag value or argument: the message points at the
// command's --help.
func flagError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), help: true}
}

// silentExit ends a command with a code after it already printed its report.
func silentExit(code int) error { return &exitError{code: code} }

// currentBuild is what pave was built from: the -ldflags values of a make
// build, else the module version and VCS revision the go command recorded
// (go install …@vX.Y.Z).
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Commit == "unknown" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				b.Commit = s.Value[:7]
			}
		}
	}
	return b
}

func main() {
	if cmd, _, err := newRootCmd(currentBuild()).Find(os.Args[1:]); err == nil && isBatch(cmd.Name()) {
		batchGC()
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// isBatch: the command renders and evaluates a whole catalog once and
// exits (check, and its review with --base; render).
func isBatch(name string) bool { return name == "check" || name == "render" }

// batchGC sets the garbage collector for a batch command: it allocates
// fast and exits soon, so the heap may grow to five times what is live
// before a collection (GOGC=400, not 100), up to a soft limit of 1.25 GiB
// past which the collector runs as often as it must. GOGC or GOMEMLIMIT in
// the environment wins over either.
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(batchGOGC)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(batchMemoryLimit)
	}
}

const (
	batchGOGC        = 400
	batchMemoryLimit = 1280 << 20
)

func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr, osTerminal())
}

// runWith runs pave on a terminal tests can stand in for.
func runWith(args []string, stdout, stderr io.Writer, t terminal) int {
	root, con := newRoot(currentBuild(), t)
	root.SetContext(withConsole(context.Background(), con))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	path := root.Name()
	if cmd != nil {
		path = cmd.CommandPath()
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "pave: %v\n", ee.err)
		}
		if ee.help {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		}
		return ee.code
	}
	// Everything cobra reports itself (unknown flags, wrong argument
	// counts) is a usage error.
	fmt.Fprintf(stderr, "pave: %v\nRun '%s --help' for usage.\n", err, path)
	return exitUsage
}

type buildInfo struct {
	Version   string
	Commit    string
	GoVersion string
}

func newRootCmd(info buildInfo) *cobra.Command {
	root, _ := newRoot(info, osTerminal())
	return root
}

// newRoot builds pave's command tree and the console its commands use.
func newRoot(info buildInfo, t terminal) (*cobra.Command, *console) {
	con := &console{term: t}
	root := &cobra.Command{
		Use:   "pave",
		Short: "GitOps reconciler for golden-path services",
		Long: `pave renders every service of a catalog repository through the platform
team's golden-path templates, checks the result against the platform's
policies, and applies what passes to the clusters of each environment.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return con.check()
		},
	}
	con.bindFlags(root.PersistentFlags())
	root.AddCommand(
		newValidateCmd(),
		newNewCmd(),
		newRenderCmd(),
		newApplyCmd(),
		newDiffCmd(),
		newServeCmd(),
		newStatusCmd(), newPromoteCmd(), newRollbackCmd(), newSuspendCmd(), newResumeCmd(), newHistoryCmd(),
		newCheckCmd(), newPolicyCmd(),
		newCodeownersCmd(),
		newVersionCmd(info),
	)
	plainSwitchUsage(root)
	registerCompletions(root)
	return root, con
}

func newVersionCmd(info buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pave's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "pave %s\ncommit: %s\ngo: %s\n", info.Version, info.Commit, info.GoVersion)
			return nil
		},
	}
}
