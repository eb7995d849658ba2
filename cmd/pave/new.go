package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
)

type newOptions struct {
	catalogDir string
	scaffold   catalog.ScaffoldOptions
}

func newNewCmd() *cobra.Command {
	o := newOptions{}
	cmd := &cobra.Command{
		Use:   "new TEAM/NAME",
		Short: "Scaffold services/TEAM/NAME/service.yaml",
		Long: `New writes services/TEAM/NAME/service.yaml with a short comment on each
field, using defaults from pave.yaml. It refuses to overwrite a file and
refuses unknown teams and templates; the result is validated with the same
rules as 'pave validate'.`,
		Example: `  pave new payments/refunds --image registry.example.com/payments/refunds:1.0.0 --port 8080`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			team, name, ok := strings.Cut(args[0], "/")
			if !ok || team == "" || name == "" || strings.Contains(name, "/") {
				return flagError("expected TEAM/NAME, got %q", args[0])
			}
			o.scaffold.Team, o.scaffold.Name = team, name
			return o.run(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().StringVar(&o.scaffold.Template, "template", "", "golden-path template (default: pave.yaml defaults.template)")
	cmd.Flags().StringVar(&o.scaffold.Image, "image", "", "container image (default: <first registry>/TEAM/NAME:0.1.0)")
	cmd.Flags().IntVar(&o.scaffold.Port, "port", 0, "port the application listens on (default 8080)")
	return cmd
}

func (o *newOptions) run(stdout io.Writer) error {
	cat, err := catalog.LoadDir(o.catalogDir)
	var cfgErr *catalog.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return &exitError{code: exitUsage, err: cfgErr}
	case err != nil:
		return usageError("%v", err)
	}
	defer cat.Close()
	file, content, err := cat.Scaffold(o.scaffold)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if err := catalog.WriteScaffold(o.catalogDir, file, content); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	id := o.scaffold.Team + "/" + o.scaffold.Name
	shown := filepath.Join(o.catalogDir, filepath.FromSlash(file))
	// pave validate when it can see all that may be wrong, else pave
	// check TEAM/NAME: the rule is catalog.NextCheck's.
	next := cat.NextCheck(cat.ScaffoldTemplate(o.scaffold), id)
	fmt.Fprintf(stdout, `Created %s

Next steps:
  1. Edit it: set the image, port and size your service needs.
  2. Check it:   %s --catalog %s
  3. Commit it:  git checkout -b add-%s && git add %s && git commit -m "Add %s"
  4. Open a pull request. pave check comments on it with what will be
     created in each environment (%s) and the result of every
     platform policy, with a fix hint for anything that fails.
`, shown, next, o.catalogDir, strings.ReplaceAll(id, "/", "-"), filepath.Dir(shown), id, strings.Join(cat.Config.EnvironmentNames(), ", "))
	return nil
}
