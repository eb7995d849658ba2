package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/report"
)

type validateOptions struct {
	catalogDir string
	out        outputFlags
	con        *console
}

func newValidateCmd() *cobra.Command {
	o := validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check pave.yaml and every service.yaml of a catalog",
		Long: `Validate loads the catalog and prints every error compiler-style
(file:line:column: message), sorted by file and line.

It checks what can be known without rendering: every field of
service.yaml and pave.yaml, and the settings a template takes (those its
values.schema.json allows). An exception past its expiry date is a warning
(file:line:column: warning: ...): it no longer applies, so the denial it
covered is back in pave check.

Exit status: 0 when the catalog is valid (warnings allowed), 1 when any
service has errors, 2 for usage errors or a missing or invalid pave.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.con = consoleOf(cmd)
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	o.out.bind(cmd.Flags(), []string{"text", "json"}, false)
	return cmd
}

// validateReport is the JSON output of pave validate.
type validateReport struct {
	Errors   []reportError   `json:"errors"`
	Warnings []reportError   `json:"warnings"`
	Services []serviceStatus `json:"services"`
}

type reportError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type serviceStatus struct {
	Service string `json:"service,omitempty"`
	File    string `json:"file"`
	Valid   bool   `json:"valid"`
}

func (o *validateOptions) run(stdout, stderr io.Writer) error {
	if err := o.out.check(); err != nil {
		return err
	}
	cat, err := catalog.LoadDir(o.catalogDir)
	var cfgErr *catalog.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		o.print(stdout, cfgErr.Errors, nil, nil)
		return silentExit(exitUsage)
	case err != nil:
		return usageError("%v", err)
	}
	defer cat.Close()
	checkExceptionPolicies(cat)
	o.print(stdout, cat.Errors, cat.Warnings, cat)
	valid := len(cat.Services)
	summary := fmt.Sprintf("%d services valid, %d invalid", valid, len(cat.Invalid))
	if n := len(cat.Warnings); n > 0 {
		summary += ", " + plural(n, "warning")
	}
	fmt.Fprintln(stderr, summary)
	if len(cat.Errors) > 0 {
		return silentExit(exitFailure)
	}
	return nil
}

// displayPath turns a catalog-relative path into one the user can open
// from where they ran pave.
func (o *validateOptions) displayPath(rel string) string {
	return filepath.Join(o.catalogDir, filepath.FromSlash(rel))
}

func (o *validateOptions) print(w io.Writer, errs, warnings catalog.ErrorList, cat *catalog.Catalog) {
	if o.out.format == "text" {
		// Colour marks pave's own words: the location of an error in
		// red, the word "warning" in yellow; the message is escaped text.
		red, yellow := func(s string) string { return s }, func(s string) string { return s }
		if o.con != nil && o.con.colored(w) {
			red = func(s string) string { return sgrRed + s + sgrReset }
			yellow = func(s string) string { return sgrYellow + sgrBold + s + sgrReset }
		}
		for _, e := range errs {
			c := *e
			c.File = o.displayPath(e.File)
			fmt.Fprintf(w, "%s: %s\n", red(report.Terminal(c.Location())), report.Terminal(c.Message))
		}
		for _, e := range warnings {
			c := *e
			c.File = o.displayPath(e.File)
			fmt.Fprintf(w, "%s: %s: %s\n", report.Terminal(c.Location()), yellow("warning"), report.Terminal(c.Message))
		}
		return
	}
	report := validateReport{Errors: []reportError{}, Warnings: []reportError{}, Services: []serviceStatus{}}
	for _, e := range errs {
		report.Errors = append(report.Errors, reportError{File: o.displayPath(e.File), Line: e.Line, Column: e.Column, Message: e.Message})
	}
	for _, e := range warnings {
		report.Warnings = append(report.Warnings, reportError{File: o.displayPath(e.File), Line: e.Line, Column: e.Column, Message: e.Message})
	}
	if cat != nil {
		for _, s := range cat.Services {
			report.Services = append(report.Services, serviceStatus{Service: s.ID(), File: o.displayPath(s.File), Valid: true})
		}
		for _, f := range cat.Invalid {
			report.Services = append(report.Services, serviceStatus{File: o.displayPath(f), Valid: false})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(report)
}

// checkExceptionPolicies adds an error for every exception that names a
// policy the catalog does not have, and for a policy bundle that does not
// compile; the services concerned become invalid.
func checkExceptionPolicies(cat *catalog.Catalog) {
	if _, err := fs.Stat(cat.FS, catalog.PoliciesDir); err != nil {
		return
	}
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		var ce *policy.CompileError
		if errors.As(err, &ce) {
			cat.Errors = append(cat.Errors, ce.Errors...)
		} else {
			cat.Errors = append(cat.Errors, &catalog.Error{File: catalog.PoliciesDir, Message: err.Error()})
		}
		cat.Errors.Sort()
		return
	}
	var valid []*catalog.Service
	for _, s := range cat.Services {
		if errs := engine.UnknownExceptions(s); len(errs) > 0 {
			cat.Errors = append(cat.Errors, errs...)
			cat.Invalid = append(cat.Invalid, s.File)
			continue
		}
		valid = append(valid, s)
	}
	cat.Services = valid
	cat.Errors.Sort()
	slices.Sort(cat.Invalid)
}
