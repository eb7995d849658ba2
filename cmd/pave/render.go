package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

type renderOptions struct {
	catalogDir string
	env        string
	outputDir  string
	revision   string
}

func newRenderCmd() *cobra.Command {
	o := renderOptions{}
	cmd := &cobra.Command{
		Use:   "render [TEAM/NAME ...]",
		Short: "Render services into Kubernetes manifests",
		Long: `Render runs services through their golden-path templates and prints the
manifests pave would apply, as multi-document YAML (all services and
environments when none are named), or writes one file per service and
environment with --output-dir (DIR/ENV/TEAM/NAME.yaml).

Errors are printed as file:line: message, naming the service.yaml (or patch)
and, for template failures, the template file and line. The other services
are still rendered. Exit status: 0 when everything rendered, 1 when any
service failed or is invalid, 2 for usage errors or an invalid pave.yaml.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().StringVar(&o.env, "env", "", "render only this environment")
	cmd.Flags().StringVar(&o.outputDir, "output-dir", "", "write DIR/ENV/TEAM/NAME.yaml instead of printing")
	cmd.Flags().StringVar(&o.revision, "revision", "", "catalog revision to stamp as pave.dev/revision")
	return cmd
}

// loadCatalog loads --catalog, mapping an unusable catalog to exit status 2.
func loadCatalog(dir string) (*catalog.Catalog, error) {
	cat, err := catalog.LoadDir(dir)
	var cfgErr *catalog.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s", prefixErrors(dir, cfgErr.Errors))}
	case err != nil:
		return nil, usageError("%v", err)
	}
	return cat, nil
}

func prefixErrors(dir string, errs catalog.ErrorList) string {
	out := ""
	for i, e := range errs {
		c := *e
		c.File = filepath.Join(dir, filepath.FromSlash(e.File))
		if i > 0 {
			out += "\n"
		}
		out += c.Error()
	}
	return out
}

// selectServices returns the named services ("team/name"), or all.
func selectServices(cat *catalog.Catalog, ids []string) ([]*catalog.Service, error) {
	if len(ids) == 0 {
		return cat.Services, nil
	}
	var out []*catalog.Service
	for _, id := range ids {
		s, ok := cat.Service(id)
		if !ok {
			file := catalog.ServicesDir + "/" + id + "/" + catalog.ServiceFile
			if slices.Contains(cat.Invalid, file) {
				continue // its errors are reported with the catalog's
			}
			return nil, usageError("no service %q in the catalog", id)
		}
		out = append(out, s)
	}
	return out, nil
}

func (o *renderOptions) run(stdout, stderr io.Writer, ids []string) error {
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
	services, err := selectServices(cat, ids)
	if err != nil {
		return err
	}
	failed := false
	for _, e := range cat.Errors {
		if len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { return e.File == catalog.ServicesDir+"/"+id+"/"+catalog.ServiceFile }) {
			continue
		}
		c := *e
		c.File = filepath.Join(o.catalogDir, filepath.FromSlash(e.File))
		fmt.Fprintln(stderr, report.Terminal(c.Error()))
		failed = true
	}
	r := render.New(cat, render.Options{Revision: o.revision})
	for _, svc := range services {
		for _, env := range cat.Config.EnvironmentNames() {
			if o.env != "" && env != o.env {
				continue
			}
			res, err := r.Render(svc, env)
			if err != nil {
				for _, e := range render.Errors(err) {
					c := *e
					c.File = filepath.Join(o.catalogDir, filepath.FromSlash(e.File))
					fmt.Fprintln(stderr, report.Terminal(c.Error()))
				}
				if len(render.Errors(err)) == 0 {
					fmt.Fprintln(stderr, report.Terminal(err.Error()))
				}
				failed = true
				continue
			}
			if err := o.write(stdout, res); err != nil {
				return &exitError{code: exitInternal, err: err}
			}
		}
	}
	if failed {
		return silentExit(exitFailure)
	}
	return nil
}

func (o *renderOptions) write(stdout io.Writer, res *render.Result) error {
	data := res.YAML()
	if o.outputDir == "" {
		_, err := stdout.Write(data)
		return err
	}
	file := filepath.Join(o.outputDir, res.Environment, res.Team, res.Name+".yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}
