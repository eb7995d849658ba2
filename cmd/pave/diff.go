package main

import (
	"context"
	"fmt"
	"github.com/pave-dev/pave/report"
	"io"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/reconciler/apply"
)

type diffOptions struct {
	catalogDir string
	env        string
	revision   string
	cluster    clusterFlags

	con *console // colour and progress
}

func newDiffCmd() *cobra.Command {
	o := diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff [TEAM/NAME ...]",
		Short: "Show what apply would change in the clusters, without writing",
		Long: `Diff renders and checks services like apply, then compares every object
with the live cluster through a server-side dry-run apply and prints a
unified diff per object that would be created or changed. Secret values are
masked. Exit status 0 when nothing would change, 1 when something would (or
a service is invalid, fails to render or is denied).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.con = consoleOf(cmd)
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	fs.StringVar(&o.env, "env", "", "diff only this environment")
	fs.StringVar(&o.revision, "revision", "", "catalog revision (default: the catalog's git HEAD, if any)")
	o.cluster.bind(fs)
	return cmd
}

func (o *diffOptions) run(ctx context.Context, stdout, stderr io.Writer, ids []string) error {
	ctx, stop := signalContext(ctx)
	defer stop()
	prog := o.con.progress(stderr, "checking services", "", 0)
	cat, clusters, p, err := prepareClusterRun(ctx, o.catalogDir, o.revision, o.env, ids, &o.cluster, prog)
	prog.end()
	if err != nil {
		return err
	}
	defer cat.Close()
	changed := false
	// Each cluster is asked once whether it answers: one without
	// credentials, or that does not answer, is reported once with the
	// number of services it holds back, not once per service.
	down := map[string]error{}
	skipped := map[string]int{}
	var order []string
	for _, res := range p.rendered {
		env, _ := cat.Config.Environment(res.Environment)
		if _, asked := down[env.Cluster]; !asked {
			order = append(order, env.Cluster)
			if c, ok := clusters[env.Cluster]; !ok {
				down[env.Cluster] = fmt.Errorf("no --cluster %s given", env.Cluster)
			} else {
				down[env.Cluster] = c.Ping(ctx, 5*time.Second)
			}
		}
		if down[env.Cluster] != nil {
			skipped[env.Cluster]++
		}
	}
	for _, name := range order {
		if down[name] != nil {
			fmt.Fprintf(stderr, "%v (%s not diffed)\n", down[name], plural(skipped[name], "service"))
			changed = true
		}
	}
	prog = o.con.progress(stderr, "diffing", "pair", len(p.rendered))
	defer prog.end()
	for _, res := range p.rendered {
		prog.add(1)
		env, _ := cat.Config.Environment(res.Environment)
		if down[env.Cluster] != nil {
			continue
		}
		c := clusters[env.Cluster]
		opts := apply.DefaultOptions()
		opts.Impersonate = o.cluster.impersonate
		diffs, err := apply.New(c, opts).Diff(ctx, cat.Config, res)
		if err != nil {
			fmt.Fprintln(prog, report.Terminal(fmt.Sprintf("%s (%s): %v", res.Service, res.Environment, err)))
			changed = true
			continue
		}
		for _, d := range diffs {
			if d.Action == ssa.UnchangedAction {
				continue
			}
			changed = true
			fmt.Fprintf(stdout, "# %s\n%s\n", report.Terminal(fmt.Sprintf("%s (%s): %s %s", res.Service, res.Environment, d.Object, d.Action)), report.TerminalLines(d.Diff, ""))
		}
	}
	prog.end()
	if changed || len(p.blocked) > 0 {
		return silentExit(exitFailure)
	}
	fmt.Fprintln(stderr, "no changes")
	return nil
}
