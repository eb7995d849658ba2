package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// environment is the bench catalog's one environment (and cluster).
const environment = "staging"

// pipelineCase times the scripted pipeline against pave check + pave apply
// (with -qps and -burst) on the same catalog, each applying to a fresh
// cluster of its own.
//
// The script, as a team would write it around the same golden-path chart
// and the same policies: per service, `helm template` with a values file
// (what pave hands the chart: the service's settings, pave's context and
// pave.yaml's platform values) and `conftest test` of the catalog's
// policies over {service, environment, namespace, objects} (the input
// pave's policies read); then `kubectl apply --server-side` of the
// Namespaces and of each team's rendered files. -pipeline-workers services
// are rendered and checked at once (xargs -P). The values files, conftest's
// data file (data.pave) and the chart's dependency build are written before
// the clock starts.
func (e *env) pipelineCase(ctx context.Context) ([]row, error) {
	n := e.o.services
	dir := filepath.Join(e.work, "pipeline")
	cat, err := e.writeCatalog(filepath.Join(dir, "catalog"), n)
	if err != nil {
		return nil, err
	}
	logf("pipeline: %d services", n)

	// pave: check (validate, render, policies), then apply.
	c, err := e.cluster(ctx, "pipeline-pave")
	if err != nil {
		return nil, err
	}
	paveCheck, err := e.run(ctx, "pave-check.log", cat.dir, e.pave, "check", "--catalog", cat.dir)
	if err != nil {
		c.Stop()
		return nil, err
	}
	logf("pave check: %s", secs(paveCheck))
	// The same client limits as pave serve in the flux case: kubectl's
	// apply is not throttled client-side (it is one request at a time),
	// pave apply's default --qps 50 would be.
	paveApply, err := e.run(ctx, "pave-apply.log", cat.dir, e.pave, "apply", "--catalog", cat.dir, "--cluster", environment+"="+c.Kubeconfig(),
		"--qps", fmt.Sprint(e.o.qps), "--burst", fmt.Sprint(e.o.burst))
	c.Stop()
	if err != nil {
		return nil, err
	}
	logf("pave apply: %s", secs(paveApply))

	// The script.
	s, err := e.prepareScript(ctx, dir, cat)
	if err != nil {
		return nil, err
	}
	c, err = e.cluster(ctx, "pipeline-script")
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	start := time.Now()
	if err := s.renderAndCheck(ctx, e.o.workers); err != nil {
		return nil, err
	}
	scriptCheck := time.Since(start)
	logf("helm template + conftest test: %s", secs(scriptCheck))
	start = time.Now()
	if err := s.apply(ctx, c.Kubeconfig()); err != nil {
		return nil, err
	}
	scriptApply := time.Since(start)
	logf("kubectl apply --server-side: %s", secs(scriptApply))

	peer := "helm+conftest+kubectl"
	return []row{
		{name: fmt.Sprintf("render + policy, %d services", n), pave: paveCheck, peer: scriptCheck, peerName: "helm template + conftest test"},
		{name: fmt.Sprintf("apply to a fresh cluster, %d services", n), pave: paveApply, peer: scriptApply, peerName: "kubectl apply --server-side"},
		{name: fmt.Sprintf("check + apply, %d services", n), pave: paveCheck + paveApply, peer: scriptCheck + scriptApply, peerName: peer},
	}, nil
}

// script is the scripted pipeline's inputs.
type script struct {
	e         *env
	dir       string
	chart     string
	policies  string
	data      string
	services  []scriptService
	teamFiles map[string]string // namespace → folder of rendered files
}

type scriptService struct {
	name, team, namespace string
	values                string // values file
	out                   string // helm template's output
	input                 string // conftest's input
	service               map[string]any
}

func (e *env) prepareScript(ctx context.Context, dir string, cat *benchCatalog) (*script, error) {
	loaded, err := catalog.LoadDir(cat.dir)
	if err != nil {
		return nil, err
	}
	cfg := loaded.Config
	envCfg, ok := cfg.Environment(environment)
	if !ok {
		return nil, fmt.Errorf("no environment %s", environment)
	}
	s := &script{e: e, dir: dir, policies: filepath.Join(cat.dir, "policies"), teamFiles: map[string]string{}}
	// The chart with its library beside it, as the catalog holds them;
	// `helm dependency build` packs the library into charts/.
	tmpl := filepath.Join(dir, "templates")
	if err := os.CopyFS(tmpl, os.DirFS(filepath.Join(cat.dir, "templates"))); err != nil {
		return nil, err
	}
	s.chart = filepath.Join(tmpl, "web-service")
	if err := adaptForHelm(tmpl, s.chart); err != nil {
		return nil, err
	}
	if _, err := e.run(ctx, "helm-dependency.log", dir, e.tools.helm, "dependency", "build", s.chart); err != nil {
		return nil, err
	}
	var chartMeta struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if data, err := os.ReadFile(filepath.Join(s.chart, "Chart.yaml")); err != nil {
		return nil, err
	} else if err := sigsyaml.Unmarshal(data, &chartMeta); err != nil {
		return nil, err
	}
	data, err := json.Marshal(map[string]any{"pave": policy.Data(cfg)})
	if err != nil {
		return nil, err
	}
	s.data = filepath.Join(dir, "data.json")
	if err := os.WriteFile(s.data, data, 0o644); err != nil {
		return nil, err
	}
	for _, svc := range loaded.Services {
		st := svc.ForEnvironment(environment)
		st.Patches = nil
		size := cfg.Sizes[cmpOr(st.Size, cfg.Defaults.Size)]
		ns := envCfg.NamespaceFor(svc.Metadata.Team)
		vals, err := catalog.Plain(st)
		if err != nil {
			return nil, err
		}
		vals["pave"] = map[string]any{
			"service": svc.Metadata.Name, "team": svc.Metadata.Team, "environment": environment,
			"cluster": envCfg.Cluster, "namespace": ns, "revision": "",
			"resources": map[string]any{
				"requests": map[string]any{"cpu": size.Requests.CPU, "memory": size.Requests.Memory},
				"limits":   map[string]any{"cpu": size.Limits.CPU, "memory": size.Limits.Memory},
			},
			"template": map[string]any{"name": chartMeta.Name, "version": chartMeta.Version},
		}
		if vals["platform"], err = catalog.Plain(cfg.Platform); err != nil {
			return nil, err
		}
		y, err := sigsyaml.Marshal(vals)
		if err != nil {
			return nil, err
		}
		ss := scriptService{
			name: svc.Metadata.Name, team: svc.Metadata.Team, namespace: ns,
			values: filepath.Join(dir, "values", svc.Metadata.Team, svc.Metadata.Name+".yaml"),
			out:    filepath.Join(dir, "out", ns, svc.Metadata.Name+".yaml"),
			input:  filepath.Join(dir, "input", ns, svc.Metadata.Name+".json"),
		}
		// What pave's policies read as input.service.
		if ss.service, err = catalog.Plain(svc.ForEnvironment(environment)); err != nil {
			return nil, err
		}
		ss.service["name"], ss.service["team"], ss.service["template"] = svc.Metadata.Name, svc.Metadata.Team, svc.TemplateName()
		for _, d := range []string{ss.values, ss.out, ss.input} {
			if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(ss.values, y, 0o644); err != nil {
			return nil, err
		}
		s.teamFiles[ns] = filepath.Dir(ss.out)
		s.services = append(s.services, ss)
	}
	var nsYAML strings.Builder
	for ns := range s.teamFiles {
		// As pave renders them: Pod Security "restricted" enforced.
		fmt.Fprintf(&nsYAML, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n"+
			"    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/enforce-version: latest\n"+
			"    pod-security.kubernetes.io/audit: restricted\n    pod-security.kubernetes.io/warn: restricted\n", ns)
	}
	if err := os.WriteFile(filepath.Join(dir, "namespaces.yaml"), []byte(nsYAML.String()), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// renderAndCheck runs helm template and conftest test for every service,
// workers at a time; the first failure stops it.
func (s *script) renderAndCheck(ctx context.Context, workers int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, svc := range s.services {
		g.Go(func() error {
			out, err := output(ctx, s.dir, s.e.tools.helm, "template", svc.name, s.chart, "--kube-version", kubeVersion, "--namespace", svc.namespace, "-f", svc.values)
			if err != nil {
				return err
			}
			// The glue a script needs (a post-renderer): the namespace and
			// the team, service and environment labels pave stamps on
			// what it renders (the policies require them), then helm's
			// stream of documents into the one input document pave's
			// policies read.
			objs, err := decodeObjects(out)
			if err != nil {
				return fmt.Errorf("helm template %s: %w", svc.name, err)
			}
			var labelled bytes.Buffer
			for _, o := range objs {
				label(o, svc)
				y, err := sigsyaml.Marshal(o)
				if err != nil {
					return err
				}
				labelled.WriteString("---\n")
				labelled.Write(y)
			}
			if err := os.WriteFile(svc.out, labelled.Bytes(), 0o644); err != nil {
				return err
			}
			in, err := json.Marshal(map[string]any{"service": svc.service, "environment": environment, "namespace": svc.namespace, "objects": objs})
			if err != nil {
				return err
			}
			if err := os.WriteFile(svc.input, in, 0o644); err != nil {
				return err
			}
			_, err = output(ctx, s.dir, s.e.tools.conftest, "test", "--no-color", "--all-namespaces", "--policy", s.policies, "--data", s.data, svc.input)
			return err
		})
	}
	return g.Wait()
}

// label sets what pave's placement sets on every rendered object: the
// namespace and the labels of render.stamp.
func label(obj any, svc scriptService) {
	o, _ := obj.(map[string]any)
	meta, _ := o["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		o["metadata"] = meta
	}
	meta["namespace"] = svc.namespace
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	if _, ok := labels[render.LabelName]; !ok {
		labels[render.LabelName] = svc.name
	}
	if _, ok := labels[render.LabelManagedBy]; !ok {
		labels[render.LabelManagedBy] = "pipeline"
	}
	labels[render.LabelTeam] = svc.team
	labels[render.LabelService] = svc.name
	labels[render.LabelEnvironment] = environment
}

func decodeObjects(stream []byte) ([]any, error) {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []any
	for {
		var o map[string]any
		if err := dec.Decode(&o); err == io.EOF {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
}

// apply applies the Namespaces, then each team's rendered files, with
// kubectl's server-side apply.
func (s *script) apply(ctx context.Context, kubeconfig string) error {
	if _, err := s.e.run(ctx, "kubectl-apply.log", s.dir, s.e.tools.kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", filepath.Join(s.dir, "namespaces.yaml")); err != nil {
		return err
	}
	for ns, dir := range s.teamFiles {
		if _, err := s.e.run(ctx, "kubectl-apply.log", s.dir, s.e.tools.kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-n", ns, "-f", dir); err != nil {
			return err
		}
	}
	return nil
}

// kubeVersion is the control plane's version (helm template assumes
// v1.20 otherwise, which the chart's kubeVersion refuses).
const kubeVersion = "1.37.2"

// adaptForHelm makes the golden-path chart usable by helm itself, as a
// team scripting around it would have to: helm skips charts/ entries
// whose names start with "_", so the library _lib becomes lib; and helm
// hands a dependency's values to the parent under the dependency's name,
// which the chart's values schema (additionalProperties: false) must
// then allow.
func adaptForHelm(templates, chart string) error {
	if err := os.Rename(filepath.Join(templates, "_lib"), filepath.Join(templates, "lib")); err != nil {
		return err
	}
	for file, edits := range map[string][][2]string{
		filepath.Join(templates, "lib", "Chart.yaml"): {{"name: _lib", "name: lib"}},
		filepath.Join(chart, "Chart.yaml"):            {{"- name: _lib", "- name: lib"}, {"file://../_lib", "file://../lib"}},
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		for _, ed := range edits {
			if !bytes.Contains(data, []byte(ed[0])) {
				return fmt.Errorf("%s does not contain %q", file, ed[0])
			}
			data = bytes.Replace(data, []byte(ed[0]), []byte(ed[1]), 1)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return err
		}
	}
	schemaFile := filepath.Join(chart, "values.schema.json")
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		return fmt.Errorf("%s: %w", schemaFile, err)
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no properties", schemaFile)
	}
	props["lib"] = map[string]any{"type": "object"}
	if data, err = json.Marshal(schema); err != nil {
		return err
	}
	return os.WriteFile(schemaFile, data, 0o644)
}
