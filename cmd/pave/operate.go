package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/reconciler"
)

// The operator verbs: each one request to pave serve's write API, which
// needs the server's bearer token (pave serve --api-token-file; without
// it the server refuses every write).

// operatorRequest is the JSON body of a write request.
type operatorRequest struct {
	Env      string `json:"env,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// servicePath is the API path of a service's endpoint: TEAM/NAME was
// checked by parseServiceID.
func servicePath(id, endpoint string) string {
	team, name, _ := strings.Cut(id, "/")
	return "/api/v1/services" + apiPath(team, name, endpoint)
}

// postVerb sends one write request and returns the server's answer.
func postVerb(ctx context.Context, f *serverFlags, path string, req operatorRequest) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	var res reconciler.OperatorResult
	_, err = c.post(ctx, path, req, &res)
	return err
}

// where is " in ENV", or " in every environment".
func where(env string) string {
	if env == "" {
		return " in every environment"
	}
	return " in " + env
}

func newPromoteCmd() *cobra.Command {
	var (
		server   serverFlags
		env      string
		template string
	)
	cmd := &cobra.Command{
		Use:   "promote (TEAM/NAME | --template TEMPLATE) --env ENV",
		Short: "Approve the manual promotion gate of a service, or the next wave of a template, in an environment",
		Long: `Promote approves what waits at a manual gate (approval: manual in
pave.yaml): the revision of TEAM/NAME pending in --env, or with
--template the next wave of that template's rollout in --env. pave serve
then applies it as soon as the environment's other conditions hold.

The server refuses (exit 1) when nothing waits for approval there.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" {
				return flagError("promote needs --env")
			}
			switch {
			case template == "" && len(args) == 0:
				return flagError("promote needs TEAM/NAME or --template")
			case template != "" && len(args) > 0:
				return flagError("promote takes TEAM/NAME or --template, not both")
			case template != "":
				if err := postVerb(cmd.Context(), &server, "/api/v1/templates"+apiPath(template, "promote"), operatorRequest{Env: env}); err != nil {
					return withContext(err, "promote template %s in %s", template, env)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "approved the next wave of template %s in %s\n", template, env)
				return nil
			}
			id, err := parseServiceID(args[0])
			if err != nil {
				return err
			}
			if err := postVerb(cmd.Context(), &server, servicePath(id, "promote"), operatorRequest{Env: env}); err != nil {
				return withContext(err, "promote %s in %s", id, env)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approved %s for %s\n", id, env)
			return nil
		},
	}
	server.bind(cmd.Flags())
	cmd.Flags().StringVar(&env, "env", "", "environment whose gate to approve")
	cmd.Flags().StringVar(&template, "template", "", "approve the next wave of this template's rollout instead of one service")
	completeFromServer(cmd, &server)
	return cmd
}

func newRollbackCmd() *cobra.Command {
	var (
		server serverFlags
		env    string
		to     string
	)
	cmd := &cobra.Command{
		Use:   "rollback TEAM/NAME --env ENV [--to REVISION]",
		Short: "Apply an earlier revision of a service in an environment and hold it there",
		Long: `Rollback has pave serve apply an earlier revision of TEAM/NAME in --env:
--to REVISION, or the last revision that was healthy there before the one
it runs (see pave history). The pair stays held at that revision until a
commit changes the service, or pave resume.

The server refuses (exit 1) when there is no healthy revision to go back to.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseServiceID(args[0])
			if err != nil {
				return err
			}
			if env == "" {
				return flagError("rollback needs --env")
			}
			if err := postVerb(cmd.Context(), &server, servicePath(id, "rollback"), operatorRequest{Env: env, Revision: to}); err != nil {
				return withContext(err, "roll back %s in %s", id, env)
			}
			target := "the last healthy revision"
			if to != "" {
				target = shortRevision(to)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolling back %s in %s to %s; held there until a commit changes it or pave resume\n", id, env, target)
			return nil
		},
	}
	server.bind(cmd.Flags())
	cmd.Flags().StringVar(&env, "env", "", "environment to roll back")
	cmd.Flags().StringVar(&to, "to", "", "revision to go back to (default: the last healthy one before the running one)")
	completeFromServer(cmd, &server)
	return cmd
}

// newSuspendResumeCmd builds pave suspend or pave resume, which differ in
// their verb and words.
func newSuspendResumeCmd(verb, done, short, long string) *cobra.Command {
	var (
		server serverFlags
		env    string
	)
	cmd := &cobra.Command{
		Use:   verb + " TEAM/NAME [--env ENV]",
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseServiceID(args[0])
			if err != nil {
				return err
			}
			if err := postVerb(cmd.Context(), &server, servicePath(id, verb), operatorRequest{Env: env}); err != nil {
				return withContext(err, "%s %s%s", verb, id, where(env))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s%s\n", done, id, where(env))
			return nil
		},
	}
	server.bind(cmd.Flags())
	cmd.Flags().StringVar(&env, "env", "", "one environment (default: every environment)")
	completeFromServer(cmd, &server)
	return cmd
}

func newSuspendCmd() *cobra.Command {
	return newSuspendResumeCmd("suspend", "suspended",
		"Stop reconciling a service (drift correction included), in one environment or all",
		`Suspend has pave serve stop reconciling TEAM/NAME in --env (default:
every environment): no new revision is applied, no drift corrected, no
object pruned, until pave resume. The suspension is kept in the cluster,
so it survives a restart of pave serve and a leader change, and shows in
pave status.`)
}

func newResumeCmd() *cobra.Command {
	return newSuspendResumeCmd("resume", "resumed",
		"Resume reconciling a suspended or rolled-back service",
		`Resume undoes pave suspend and a rollback's hold on TEAM/NAME in --env
(default: every environment): pave serve reconciles it again, to the
revision its promotion gates allow.`)
}

// completeFromServer completes TEAM/NAME and --env from the status of
// the server the command's flags (or $PAVE_SERVER) name; nothing without
// one, and nothing if it does not answer within a second.
func completeFromServer(cmd *cobra.Command, f *serverFlags) {
	fetch := func(cmd *cobra.Command) []statusService {
		c, err := f.client()
		if err != nil {
			return nil
		}
		c.http.Timeout = time.Second
		var all struct {
			Services []statusService `json:"services"`
		}
		if _, err := c.get(cmd.Context(), "/api/v1/services", nil, &all); err != nil {
			return nil
		}
		return all.Services
	}
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var ids []string
		for _, s := range fetch(cmd) {
			ids = append(ids, s.Service)
		}
		return withPrefix(ids, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	if cmd.Flags().Lookup("env") == nil {
		return
	}
	_ = cmd.RegisterFlagCompletionFunc("env", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var envs []string
		for _, s := range fetch(cmd) {
			if len(args) > 0 && s.Service != args[0] {
				continue
			}
			for env := range s.Environments {
				envs = append(envs, env)
			}
		}
		slices.Sort(envs)
		return withPrefix(slices.Compact(envs), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}
