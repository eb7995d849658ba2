package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/report"
)

// statusService is a service's status as the API serves it
// (reconciler.ServiceStatus), decoded on the client's side so that pave
// status reads any server version: the fields it does not know are
// ignored, those a server does not send are empty.
type statusService struct {
	Service      string                `json:"service"`
	Template     string                `json:"template,omitempty"`
	Environments map[string]*statusEnv `json:"environments"`
}

// statusEnv is a service in one environment (reconciler.EnvironmentStatus).
type statusEnv struct {
	Phase string `json:"phase"`
	// AppliedRevision is the revision the environment runs.
	AppliedRevision string `json:"appliedRevision"`
	// PendingRevision is the revision it waits for at its gate.
	PendingRevision string `json:"pendingRevision"`
	// Gate says why it waits.
	Gate      string `json:"gate"`
	Suspended bool   `json:"suspended"`
	// HeldAt is the revision a rollback holds it at.
	HeldAt string `json:"heldAt"`
}

// shortRevisionLen is how much of a revision the tables show, as git's
// abbreviated hashes (unique enough in any catalog's history).
const shortRevisionLen = 12

func shortRevision(rev string) string {
	if len(rev) > shortRevisionLen {
		return rev[:shortRevisionLen]
	}
	return rev
}

type statusOptions struct {
	server serverFlags
	output outputFlags
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [TEAM/NAME]",
		Short: "Show each service's phase, running and pending revision and gate per environment, from pave serve",
		Long: `Status asks a running pave serve (--server) for the status of every
service, or of one, and prints a row per service and environment:

  PHASE        Ready, Progressing, Failed, ...
  RUNNING      the revision the environment runs
  PENDING      the revision it waits for at its promotion gate
  GATE         why it waits (soaking, awaiting approval, halted: ...),
               and whether pave suspend or a rollback holds it

-o json prints the API's answer as it came.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	o.server.bind(cmd.Flags())
	o.output.bind(cmd.Flags(), []string{"text", "json"}, false)
	completeFromServer(cmd, &o.server)
	return cmd
}

func (o *statusOptions) run(cmd *cobra.Command, args []string) error {
	if err := o.output.check(); err != nil {
		return err
	}
	var id string
	if len(args) == 1 {
		var err error
		if id, err = parseServiceID(args[0]); err != nil {
			return err
		}
	}
	c, err := o.server.client()
	if err != nil {
		return err
	}
	var services []statusService
	var raw []byte
	if id == "" {
		var all struct {
			Services []statusService `json:"services"`
		}
		raw, err = c.get(cmd.Context(), "/api/v1/services", nil, &all)
		services = all.Services
	} else {
		var one statusService
		raw, err = c.get(cmd.Context(), "/api/v1/services"+apiPath(strings.Split(id, "/")...), nil, &one)
		services = []statusService{one}
	}
	if err != nil {
		what := "every service"
		if id != "" {
			what = id
		}
		return withContext(err, "status of %s", what)
	}
	out := cmd.OutOrStdout()
	if o.output.format == "json" {
		_, err := out.Write(raw)
		return err
	}
	if len(services) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no services yet: the server has not reconciled any")
		return nil
	}
	// Environments in delivery order, as the server's catalog lists them;
	// by name when it does not say.
	var source struct {
		Environments []string `json:"environments"`
	}
	if _, err := c.get(cmd.Context(), "/api/v1/source", nil, &source); err != nil {
		source.Environments = nil
	}
	printStatus(out, services, source.Environments, consoleOf(cmd).colored(out))
	return nil
}

// printStatus writes the status table: one row per service and
// environment, environments in delivery order (order), then by name.
func printStatus(w io.Writer, services []statusService, order []string, colour bool) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tENVIRONMENT\tPHASE\tRUNNING\tPENDING\tGATE")
	var phases []string
	for _, svc := range services {
		envs := make([]string, 0, len(svc.Environments))
		for env := range svc.Environments {
			envs = append(envs, env)
		}
		slices.SortFunc(envs, func(a, b string) int {
			return cmp.Or(cmp.Compare(rank(order, a), rank(order, b)), cmp.Compare(a, b))
		})
		for _, env := range envs {
			e := svc.Environments[env]
			if e == nil {
				continue
			}
			phase := cell(e.Phase)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(svc.Service), cell(env), phase,
				cell(shortRevision(e.AppliedRevision)), cell(shortRevision(e.PendingRevision)), cell(gateText(e)))
			phases = append(phases, phase)
		}
	}
	tw.Flush()
	if colour {
		io.WriteString(w, colourColumn(table.String(), "PHASE", phases, phaseColour))
		return
	}
	w.Write(table.Bytes())
}

// phaseColour is the colour of a phase in pave status's table and of a
// deployment's result in pave history's: red for what needs a human,
// yellow for what is under way or waiting, green for what is done.
func phaseColour(phase string) string {
	switch phase {
	case "Failed", "PolicyDenied", "RenderError", "ClusterUnreachable", "CatalogInvalid", "RolledBack":
		return sgrRed
	case "Pending", "Progressing", "Waiting":
		return sgrYellow
	case "Ready", "Pruned":
		return sgrGreen
	}
	return ""
}

// gateText is the GATE cell: a suspension and a rollback hold first (an
// operator set them and must undo them), then the daemon's gate.
func gateText(e *statusEnv) string {
	var parts []string
	if e.Suspended {
		parts = append(parts, "suspended")
	}
	if e.HeldAt != "" {
		parts = append(parts, "held at "+shortRevision(e.HeldAt))
	}
	if e.Gate != "" {
		parts = append(parts, e.Gate)
	}
	return strings.Join(parts, "; ")
}

// cell is a table cell of text from the server: escaped for the
// terminal, tabs and newlines flattened so the table stays aligned, "-"
// when empty.
func cell(s string) string {
	s = report.Terminal(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return "-"
	}
	return s
}

// parseServiceID checks a TEAM/NAME argument.
func parseServiceID(arg string) (string, error) {
	team, name, ok := strings.Cut(arg, "/")
	if !ok || team == "" || name == "" || strings.Contains(name, "/") {
		return "", flagError("%q is not a service: want TEAM/NAME", arg)
	}
	return arg, nil
}

// rank is an environment's place in delivery order; unknown ones last.
func rank(order []string, env string) int {
	if i := slices.Index(order, env); i >= 0 {
		return i
	}
	return len(order)
}
