package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/go-git/go-git/v5"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

// clusterFlags are the flags of every command that talks to clusters.
type clusterFlags struct {
	clusters    []string
	impersonate string
	qps         float32
	burst       int
	allowExec   bool
}

func (f *clusterFlags) bind(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.clusters, "cluster", nil, "cluster credentials: NAME=KUBECONFIG_PATH[#CONTEXT] (repeatable; NAME as in pave.yaml environments)")
	def := apply.DefaultClusterOptions()
	fs.Float32Var(&f.qps, "qps", def.QPS, "requests per second to each API server")
	fs.IntVar(&f.burst, "burst", def.Burst, "request burst to each API server")
	fs.BoolVar(&f.allowExec, "allow-kubeconfig-exec", false, "allow kubeconfig exec credential plugins (they run programs)")
	fs.StringVar(&f.impersonate, "impersonate", "", `write each team's objects as this user, "{team}" replaced (e.g. system:serviceaccount:pave-system:team-{team}), so RBAC limits what a mistake can touch`)
}

// checkNames refuses a --cluster NAME that no environment of pave.yaml
// uses: a typo would otherwise leave that cluster's services without
// credentials, reported one by one.
func (f *clusterFlags) checkNames(cfg *catalog.Config) error {
	var names []string
	for _, e := range cfg.Environments {
		if !slices.Contains(names, e.Cluster) {
			names = append(names, e.Cluster)
		}
	}
	for _, s := range f.clusters {
		ref, err := apply.ParseClusterRef(s)
		if err != nil {
			continue // build reports it
		}
		if !slices.Contains(names, ref.Name) {
			return flagError("--cluster %s: pave.yaml has no cluster %q (its environments use: %s)", s, ref.Name, strings.Join(names, ", "))
		}
	}
	return nil
}

// clusters builds one cluster client per --cluster flag.
func (f *clusterFlags) build() (map[string]*apply.Cluster, error) {
	opts := apply.DefaultClusterOptions()
	opts.QPS, opts.Burst, opts.AllowExec = f.qps, f.burst, f.allowExec
	out := map[string]*apply.Cluster{}
	for _, s := range f.clusters {
		ref, err := apply.ParseClusterRef(s)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if _, dup := out[ref.Name]; dup {
			return nil, flagError("--cluster %s given twice", ref.Name)
		}
		cfg, err := ref.RESTConfig(opts)
		if err != nil {
			return nil, usageError("%v", err)
		}
		c, err := apply.NewCluster(ref.Name, cfg, opts)
		if err != nil {
			return nil, usageError("%v", err)
		}
		out[ref.Name] = c
	}
	if len(out) == 0 {
		return nil, flagError("no --cluster given")
	}
	return out, nil
}

type applyOptions struct {
	catalogDir     string
	env            string
	prune          bool
	wait           bool
	timeout        time.Duration
	allowMassPrune bool
	driftMode      string
	resync         bool
	revision       string
	cluster        clusterFlags

	con *console // colour and progress
}

func newApplyCmd() *cobra.Command {
	o := applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply [TEAM/NAME ...]",
		Short: "Validate, render, check and apply services to their clusters, once",
		Long: `Apply runs the whole pipeline once: validate → render → policy → apply →
prune → health, for every service (or the named ones) in every environment
(or --env). It is what CI/CD or a platform engineer runs; the daemon runs
the same steps continuously.

Services that are invalid, fail to render or are denied by a policy are
skipped and reported, and nothing of theirs is pruned. With --prune, objects
a service no longer renders are deleted (only if they still carry pave's
labels for it), and so are services removed from the catalog, under the
mass-prune guard. Exit status 1 when any service was not applied cleanly.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.con = consoleOf(cmd)
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	fs.StringVar(&o.env, "env", "", "apply only this environment")
	fs.BoolVar(&o.prune, "prune", false, "delete what the catalog no longer renders")
	fs.BoolVar(&o.wait, "wait", false, "wait for every service to become Ready")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	fs.BoolVar(&o.allowMassPrune, "allow-mass-prune", false, "allow deleting more than half of a cluster's, or all of a team's, pave-managed objects")
	fs.StringVar(&o.driftMode, "drift-mode", "correct", "what to do with objects changed in the cluster: correct or warn")
	fs.BoolVar(&o.resync, "resync", false, "check every object for drift even when its render is unchanged")
	fs.StringVar(&o.revision, "revision", "", "catalog revision to record (default: the catalog's git HEAD, if any)")
	o.cluster.bind(fs)
	return cmd
}

// clusterRun is what apply and diff apply: the pairs that rendered and
// passed the pipeline, and those it blocked.
type clusterRun struct {
	cat      *catalog.Catalog
	rendered []*render.Result
	blocked  map[apply.Pair]error
	problems []string // what to tell the user, one line each
}

// judge runs the pipeline (validate → render → policy) over the services
// of ids (all when empty) in env (all when empty): the part of apply and
// diff that never touches a cluster.
func judge(ctx context.Context, cat *catalog.Catalog, catalogDir, revision, env string, ids []string) (*clusterRun, error) {
	p := &clusterRun{cat: cat, blocked: map[apply.Pair]error{}}
	checkExceptionPolicies(cat)
	if _, err := selectServices(cat, ids); err != nil {
		return nil, err
	}
	envs := cat.Config.EnvironmentNames()
	if env != "" && !slices.Contains(envs, env) {
		return nil, usageError("unknown environment %q (pave.yaml environments: %s)", env, strings.Join(envs, ", "))
	}
	if env != "" {
		envs = []string{env}
	}
	show := func(file string) string { return displayPath(catalogDir, file) }
	for _, e := range cat.Errors {
		c := *e
		c.File = show(e.File)
		p.problems = append(p.problems, c.Error())
	}
	for _, f := range cat.Invalid {
		for _, e := range envs {
			p.blocked[apply.Pair{Service: catalog.ServiceIDOf(f), Environment: e}] = errors.New("invalid service.yaml")
		}
	}
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		// Fail closed: a broken policy bundle applies nothing.
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("policies: %w", err)}
	}
	run := pipeline.New(cat, render.New(cat, render.Options{Revision: revision}), engine).Run(ctx, pipeline.Options{Services: ids, Environment: env})
	for _, out := range run.Outcomes() {
		pair := apply.Pair{Service: out.Service.ID(), Environment: out.Environment}
		if !out.Blocked() {
			p.rendered = append(p.rendered, out.Rendered)
			continue
		}
		p.blocked[pair] = errors.New("denied by policy")
		if out.RenderErr != nil {
			p.blocked[pair] = out.RenderErr
		}
		for _, prob := range out.Problems() {
			prob.File = show(prob.File)
			p.problems = append(p.problems, prob.String())
		}
	}
	return p, nil
}

func displayPath(catalogDir, file string) string {
	if file == "" {
		return catalogDir
	}
	return strings.TrimPrefix(catalogDir+"/"+file, "./")
}

// gitRevision returns the HEAD commit of the git repository holding dir.
func gitRevision(dir string) string {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return ""
	}
	head, err := repo.Head()
	if err != nil {
		return ""
	}
	return head.Hash().String()
}

func (o *applyOptions) run(ctx context.Context, stdout, stderr io.Writer, ids []string) error {
	if o.driftMode != string(apply.DriftCorrect) && o.driftMode != string(apply.DriftWarn) {
		return flagError("--drift-mode must be correct or warn")
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	prog := o.con.progress(stderr, "checking services", "", 0)
	cat, clusters, p, err := prepareClusterRun(ctx, o.catalogDir, o.revision, o.env, ids, &o.cluster, prog)
	prog.end()
	if err != nil {
		return err
	}
	defer cat.Close()

	// The clusters' watches for health log nothing pave apply would show.
	ctrllog.SetLogger(logr.Discard())
	opts := apply.DefaultOptions()
	opts.Wait, opts.WaitTimeout, opts.Prune = o.wait, o.timeout, o.prune
	opts.DriftMode = apply.DriftMode(o.driftMode)
	opts.Impersonate = o.cluster.impersonate
	fleet := &apply.Fleet{Appliers: map[string]*apply.Applier{}, Concurrency: 4}
	for name, c := range clusters {
		fleet.Appliers[name] = apply.New(c, opts)
	}
	round := apply.Round{
		Config: cat.Config, Rendered: p.rendered, Blocked: p.blocked,
		Catalog: map[string]bool{}, PruneRemoved: o.prune && len(ids) == 0,
		Resync: o.resync, AllowMassPrune: o.allowMassPrune,
	}
	if o.env != "" {
		round.Environments = []string{o.env}
	}
	for _, s := range cat.Services {
		round.Catalog[s.ID()] = true
	}
	for pair := range p.blocked {
		round.Catalog[pair.Service] = true
	}
	prog = o.con.progress(stderr, "applying", "pair", len(p.rendered))
	round.Done = func(*apply.Result) { prog.add(1) }
	results := fleet.Reconcile(ctx, round)
	prog.end()
	clean := printApplyResults(stdout, results, o.wait, o.con.colored(stdout)) && len(p.blocked) == 0 && len(cat.Errors) == 0
	if !clean {
		return silentExit(exitFailure)
	}
	return nil
}

// signalContext is cancelled by Ctrl-C or SIGTERM.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// prepareClusterRun is what apply and diff share: load the catalog, build
// the cluster clients, then validate, render and evaluate the services,
// printing every problem. The caller closes the catalog.
func prepareClusterRun(ctx context.Context, catalogDir, revision, env string, ids []string, cf *clusterFlags, stderr io.Writer) (*catalog.Catalog, map[string]*apply.Cluster, *clusterRun, error) {
	cat, err := loadCatalog(catalogDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cf.checkNames(cat.Config); err != nil {
		cat.Close()
		return nil, nil, nil, err
	}
	clusters, err := cf.build()
	if err != nil {
		cat.Close()
		return nil, nil, nil, err
	}
	if revision == "" {
		revision = gitRevision(catalogDir)
	}
	p, err := judge(ctx, cat, catalogDir, revision, env, ids)
	if err != nil {
		cat.Close()
		return nil, nil, nil, err
	}
	for _, line := range p.problems {
		fmt.Fprintln(stderr, report.Terminal(line))
	}
	return cat, clusters, p, nil
}

// printApplyResults prints one line per service and environment, and the
// details that need attention; it reports whether everything was clean.
func printApplyResults(w io.Writer, results []*apply.Result, wait, colour bool) bool {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	healths := make([]string, 0, len(results))
	fmt.Fprintln(tw, "SERVICE\tENVIRONMENT\tCLUSTER\tHEALTH\tCHANGES")
	clean := true
	var details []string
	// A cluster that did not answer fails every service of it the same
	// way: say so once, with the count.
	unreachable := map[string]int{}
	var unreachableOrder []string
	for _, r := range results {
		counts := r.Counts()
		var parts []string
		for _, a := range []ssa.Action{ssa.CreatedAction, ssa.ConfiguredAction, ssa.UnchangedAction, ssa.DeletedAction, ssa.SkippedAction} {
			if counts[a] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
			}
		}
		health := string(r.Health.Status)
		if health == "" {
			health = "-"
		}
		service := r.Service
		if service == "" {
			service = "(cluster)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", service, r.Environment, r.Cluster, health, strings.Join(parts, ", "))
		healths = append(healths, health)
		if r.Err != nil && apply.IsUnreachable(r.Err) {
			clean = false
			msg := r.Err.Error()
			if unreachable[msg] == 0 {
				unreachableOrder = append(unreachableOrder, msg)
			}
			unreachable[msg]++
		} else if r.Err != nil {
			clean = false
			details = append(details, fmt.Sprintf("%s (%s): %v", service, r.Environment, r.Err))
		} else if wait && r.Health.Status != apply.HealthReady && r.Health.Status != apply.HealthPruned {
			clean = false
			details = append(details, fmt.Sprintf("%s (%s): %s %s: %s", service, r.Environment, r.Health.Status, r.Health.Object, r.Health.Message))
		}
		for _, d := range r.Drift {
			verb := "reported"
			if d.Corrected {
				verb = "corrected"
			}
			details = append(details, fmt.Sprintf("%s (%s): drift %s: %s", service, r.Environment, verb, d))
		}
		for _, c := range r.Pruned {
			if c.Error != "" {
				details = append(details, fmt.Sprintf("%s (%s): prune %s: %s", service, r.Environment, c.Object, c.Error))
			}
		}
	}
	tw.Flush()
	if colour {
		// Coloured once aligned, at the column's place in each row, so
		// the colour codes do not count as width.
		io.WriteString(w, colourColumn(table.String(), "HEALTH", healths, healthColour))
	} else {
		w.Write(table.Bytes())
	}
	for _, msg := range unreachableOrder {
		line := fmt.Sprintf("%s (%s not applied)", report.Terminal(msg), plural(unreachable[msg], "service"))
		if colour {
			line = sgrRed + line + sgrReset
		}
		fmt.Fprintln(w, line)
	}
	for _, d := range details {
		fmt.Fprintln(w, report.Terminal(d))
	}
	return clean
}

// plural is "1 service" or "3 services".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
