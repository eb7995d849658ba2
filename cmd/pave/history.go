package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/reconciler/apply"
)

// serviceHistory is the history endpoint's answer
// (reconciler.ServiceHistory).
type serviceHistory struct {
	Service      string                        `json:"service"`
	Environments map[string][]apply.Deployment `json:"environments"`
}

func newHistoryCmd() *cobra.Command {
	var (
		server serverFlags
		output outputFlags
		env    string
	)
	cmd := &cobra.Command{
		Use:   "history TEAM/NAME [--env ENV]",
		Short: "List a service's last deployments per environment, from pave serve",
		Long: `History asks a running pave serve (--server) for the last deployments of
TEAM/NAME in --env (default: every environment), newest first: the
revision, the template it was rendered with, when it started, how long it
took, how it ended (Ready, Failed, RolledBack, Superseded, or Progressing
while under way) and why. pave keeps them in each cluster, beside the
service's inventory, so they survive restarts.

-o json prints the API's answer as it came.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := output.check(); err != nil {
				return err
			}
			id, err := parseServiceID(args[0])
			if err != nil {
				return err
			}
			c, err := server.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if env != "" {
				q.Set("env", env)
			}
			var h serviceHistory
			raw, err := c.get(cmd.Context(), servicePath(id, "history"), q, &h)
			if err != nil {
				return withContext(err, "history of %s%s", id, where(env))
			}
			out := cmd.OutOrStdout()
			if output.format == "json" {
				_, err := out.Write(raw)
				return err
			}
			printHistory(out, h, consoleOf(cmd).colored(out))
			return nil
		},
	}
	server.bind(cmd.Flags())
	output.bind(cmd.Flags(), []string{"text", "json"}, false)
	cmd.Flags().StringVar(&env, "env", "", "one environment (default: every environment)")
	completeFromServer(cmd, &server)
	return cmd
}

// printHistory writes one row per deployment: environments by name,
// deployments newest first as the server keeps them.
func printHistory(w io.Writer, h serviceHistory, colour bool) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tREVISION\tTEMPLATE\tSTARTED\tDURATION\tRESULT\tCAUSE")
	envs := make([]string, 0, len(h.Environments))
	for env := range h.Environments {
		envs = append(envs, env)
	}
	slices.Sort(envs)
	var results []string
	for _, env := range envs {
		for _, d := range h.Environments[env] {
			took := "-"
			if d.End != nil {
				took = d.End.Sub(d.Start).Round(time.Second).String()
			}
			result := cell(d.Result)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(env), cell(shortRevision(d.Revision)), cell(d.Template),
				d.Start.UTC().Format(time.RFC3339), took, result, cell(d.Cause))
			results = append(results, result)
		}
	}
	tw.Flush()
	if colour {
		io.WriteString(w, colourColumn(table.String(), "RESULT", results, phaseColour))
		return
	}
	w.Write(table.Bytes())
}
