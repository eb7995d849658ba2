package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

type checkOptions struct {
	catalogDir string
	env        string
	format     string
	output     string
}

func newCheckCmd() *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [TEAM/NAME ...]",
		Short: "Validate, render and check services against the catalog's policies",
		Long: `Check validates the catalog, renders every service (or the named ones) in
every environment (or --env), and evaluates the rendered objects against
the Rego policies in the catalog's policies/ folder. Every result points at
the service.yaml line responsible, with a hint how to fix it; denials that
an unexpired exception in service.yaml covers are reported as excepted.

Formats: text (grouped by service and environment), json, markdown (a pull
request comment), sarif (SARIF 2.1.0), junit and github (workflow commands
that annotate the pull request).

Exit status: 0 when nothing is denied (warnings allowed), 1 when a policy
denies a service or a service is invalid, fails to render or to evaluate
(or the policies do not compile), 2 for usage errors or an invalid
pave.yaml.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().StringVar(&o.env, "env", "", "check only this environment")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: "+strings.Join(policy.Formats(), ", "))
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to this file instead of standard output")
	return cmd
}

func (o *checkOptions) run(ctx context.Context, stdout, stderr io.Writer, ids []string) error {
	formatter, err := policy.Get(o.format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	cat, err := loadCatalog(o.catalogDir)
	if err != nil {
		return err
	}
	defer cat.Close()
	if o.env != "" {
		if _, ok := cat.Config.Environment(o.env); !ok {
			return usageError("unknown environment %q (pave.yaml environments: %v)", o.env, cat.Config.EnvironmentNames())
		}
	}
	for _, id := range ids {
		if !strings.Contains(id, "/") {
			return usageError("expected TEAM/NAME, got %q", id)
		}
	}
	if _, err := selectServices(cat, ids); err != nil {
		return err
	}

	var report *policy.Report
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	var compileErr *policy.CompileError
	switch {
	case errors.As(err, &compileErr):
		// Fail closed: nothing is checked when a policy does not compile.
		report = &policy.Report{Results: []*policy.Result{}}
		for _, e := range compileErr.Errors {
			report.Errors = append(report.Errors, policy.Error{File: e.File, Line: e.Line, Message: "policy does not compile: " + e.Message})
		}
	case err != nil:
		return &exitError{code: exitInternal, err: err}
	default:
		report = engine.Check(ctx, cat, render.New(cat, render.Options{}), policy.CheckOptions{Services: ids, Environment: o.env})
	}
	report.RelocateFiles(o.catalogDir)

	var buf bytes.Buffer
	if err := formatter.Format(&buf, report); err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	if o.output == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	} else {
		if err := os.WriteFile(o.output, buf.Bytes(), 0o644); err != nil {
			return usageError("-o: %v", err)
		}
		s := report.Summary()
		fmt.Fprintf(stderr, "wrote %s: %d services, %d denials, %d warnings, %d excepted, %d errors\n", o.output, s.Services, s.Denials, s.Warnings, s.Excepted, s.Errors)
	}
	if report.Failed() {
		return silentExit(exitFailure)
	}
	return nil
}
