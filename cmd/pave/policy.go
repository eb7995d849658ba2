package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with the catalog's Rego policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return flagError("missing subcommand (pave policy test)")
		},
	}
	cmd.AddCommand(newPolicyTestCmd())
	return cmd
}

type policyTestOptions struct {
	catalogDir string
	verbose    bool
}

func newPolicyTestCmd() *cobra.Command {
	o := policyTestOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the Rego unit tests of the catalog's policies",
		Long: `Test runs every test_ rule of the catalog's policies/*_test.rego files
with OPA's test runner, with the builtins and data.pave that checks use,
and reports like go test: a line per failing test (every test with -v),
then ok or FAIL.

Exit status: 0 when every test passes, 1 when a test fails or the policies
do not compile, 2 for usage errors or an invalid pave.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "list every test, passing ones too")
	return cmd
}

func (o *policyTestOptions) run(ctx context.Context, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	fsys, closer, err := catalog.OpenDir(o.catalogDir)
	if err != nil {
		return usageError("%v", err)
	}
	defer closer.Close()
	cfg, err := catalog.LoadConfig(fsys)
	var cfgErr *catalog.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return &exitError{code: exitUsage, err: fmt.Errorf("%s", prefixErrors(o.catalogDir, cfgErr.Errors))}
	case err != nil:
		return usageError("%v", err)
	}
	dir := filepath.Join(o.catalogDir, catalog.PoliciesDir)
	start := time.Now()
	results, err := policy.Test(ctx, fsys, catalog.PoliciesDir, policy.Options{Config: cfg, Timeout: 10 * time.Second})
	var compileErr *policy.CompileError
	switch {
	case errors.As(err, &compileErr):
		fmt.Fprintln(stdout, prefixErrors(o.catalogDir, compileErr.Errors))
		fmt.Fprintf(stdout, "FAIL\t%s [build failed]\n", dir)
		return silentExit(exitFailure)
	case err != nil:
		return &exitError{code: exitInternal, err: err}
	}
	if len(results) == 0 {
		fmt.Fprintf(stdout, "?   \t%s\t[no test files]\n", dir)
		return nil
	}
	failed := 0
	for _, r := range results {
		status := "PASS"
		switch {
		case r.Skip:
			status = "SKIP"
		case !r.Passed():
			status = "FAIL"
			failed++
		}
		if status == "PASS" && !o.verbose {
			continue
		}
		fmt.Fprintf(stdout, "--- %s: %s (%s)\n", status, r.Name, seconds(r.Duration))
		if status != "FAIL" && !o.verbose {
			continue
		}
		fmt.Fprintf(stdout, "    %s:%d\n", filepath.Join(o.catalogDir, filepath.FromSlash(r.File)), r.Line)
		if r.Err != nil {
			fmt.Fprintf(stdout, "    error: %s\n", indent(r.Err.Error()))
		}
		if len(r.Output) > 0 {
			fmt.Fprintf(stdout, "    %s\n", indent(strings.TrimRight(string(r.Output), "\n")))
		}
	}
	elapsed := seconds(time.Since(start))
	if failed > 0 {
		fmt.Fprintf(stdout, "FAIL\n%d of %d tests failed\nFAIL\t%s\t%s\n", failed, len(results), dir, elapsed)
		return silentExit(exitFailure)
	}
	if o.verbose {
		fmt.Fprintln(stdout, "PASS")
	}
	fmt.Fprintf(stdout, "ok  \t%s\t%s\t(%d tests)\n", dir, elapsed, len(results))
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }
