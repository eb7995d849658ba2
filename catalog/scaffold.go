package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"text/template"
)

// ScaffoldOptions describe a new service.
type ScaffoldOptions struct {
	Team     string
	Name     string
	Template string // default: pave.yaml defaults.template, else web-service
	Image    string // default: <first registry>/<team>/<name>:0.1.0
	Port     int    // default: 8080, for templates that take a port
}

// Scaffold returns the content of a new service.yaml, with a short comment
// on each field, and the path it belongs at. The content is validated with
// the same rules as the catalog loader.
func (c *Catalog) Scaffold(o ScaffoldOptions) (file string, content []byte, err error) {
	if _, ok := c.Config.Team(o.Team); !ok {
		return "", nil, fmt.Errorf("unknown team %q (pave.yaml teams: %s)", o.Team, strings.Join(c.Config.TeamNames(), ", "))
	}
	if !isDNSLabel(o.Name) {
		return "", nil, fmt.Errorf("service name %q must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters", o.Name)
	}
	o.Template = c.ScaffoldTemplate(o)
	tmpl, ok := c.Templates[o.Template]
	if !ok {
		return "", nil, fmt.Errorf("unknown template %q (templates: %s)", o.Template, strings.Join(templateNames(c.Templates), ", "))
	}
	if o.Image == "" {
		registry := "registry.example.com"
		if len(c.Config.Registries) > 0 {
			registry = c.Config.Registries[0]
		}
		o.Image = fmt.Sprintf("%s/%s/%s:0.1.0", registry, o.Team, o.Name)
	}
	data := scaffoldData{
		ScaffoldOptions: o,
		ChartVersion:    tmpl.Version,
		Size:            c.Config.Defaults.Size,
		Sizes:           strings.Join(c.Config.SizeNames(), " | "),
		Environments:    c.Config.EnvironmentNames(),
		HasPort:         c.Takes(o.Template, "port"),
		HasSize:         c.Takes(o.Template, "size"),
		HasReplicas:     c.Takes(o.Template, "replicas"),
		HasIngress:      c.Takes(o.Template, "ingress"),
		HasSchedule:     c.Takes(o.Template, "schedule"),
		Domain:          "example.com",
		Next:            c.NextCheck(o.Template, o.Team+"/"+o.Name),
	}
	if d, ok := c.Config.Platform["baseDomain"].(string); ok && d != "" {
		data.Domain = d
	}
	if data.HasPort && o.Port == 0 {
		data.Port = 8080
	}
	var buf bytes.Buffer
	if err := scaffoldTemplate.Execute(&buf, data); err != nil {
		return "", nil, fmt.Errorf("scaffold: %w", err)
	}
	file = path.Join(ServicesDir, o.Team, o.Name, ServiceFile)
	if _, errs := ParseService(file, buf.Bytes(), c.Config, c.Templates); len(errs) > 0 {
		return "", nil, fmt.Errorf("the new service would not be valid:\n%w", errs)
	}
	return file, buf.Bytes(), nil
}

// WriteScaffold creates the file under the catalog folder dir, refusing to
// overwrite anything.
func WriteScaffold(dir, file string, content []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open catalog: %w", err)
	}
	defer root.Close()
	if err := root.MkdirAll(path.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", path.Dir(file), err)
	}
	f, err := root.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it", file)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", file, err)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	return f.Close()
}

type scaffoldData struct {
	ScaffoldOptions
	ChartVersion string
	Size         string
	Sizes        string
	Environments []string
	HasPort      bool
	HasSize      bool
	HasReplicas  bool
	HasIngress   bool
	HasSchedule  bool
	Domain       string
	// Next is the command that checks the new service (NextCheck).
	Next string
}

// ScaffoldTemplate is the template a scaffold uses: the one asked for,
// else pave.yaml defaults.template, else web-service.
func (c *Catalog) ScaffoldTemplate(o ScaffoldOptions) string {
	switch {
	case o.Template != "":
		return o.Template
	case c.Config.Defaults.Template != "":
		return c.Config.Defaults.Template
	}
	return "web-service"
}

var scaffoldTemplate = template.Must(template.New("service.yaml").Funcs(template.FuncMap{
	"quote": strconv.Quote,
	"last":  func(i int, list []string) bool { return i == len(list)-1 },
}).Parse(`# {{.Team}}/{{.Name}}: one service on the {{.Template}} golden path.
# Field reference: templates/{{.Template}}/README.md. Check it with: {{.Next}}
apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: {{.Name}}  # DNS-1123 label, the same as this folder's name
  team: {{.Team}}  # the team folder under services/ (pave.yaml teams)
spec:
  template: {{.Template}}  # golden path, chart {{.ChartVersion}}; pin with "{{.Template}}@~{{.ChartVersion}}"
  image: {{quote .Image}}  # pinned tag or digest, from an allowed registry; never :latest
{{- if .HasPort}}
  port: {{.Port}}  # the port the application listens on
{{- end}}
{{- if .HasSchedule}}
  schedule: "0 3 * * *"  # cron schedule (UTC)
{{- end}}
{{- if .HasSize}}
  size: {{.Size}}  # {{.Sizes}}: requests and limits set by the platform
{{- end}}
{{- if .HasReplicas}}
  replicas: 2  # at least 2 in prod; or use autoscaling: {min: 2, max: 6}
{{- end}}
  # env:  # plain settings; anything secret goes in secretEnv
  #   LOG_LEVEL: info
  # secretEnv:  # values come from Kubernetes Secrets, never from git
  #   DB_PASSWORD: {secret: {{.Name}}-db, key: password}
{{- if .HasIngress}}
  # ingress:  # expose it on a host name
  #   host: {{.Name}}.{{.Domain}}
{{- end}}
{{- if .HasPort}}
  # healthCheck:  # probe path, when not the template's default
  #   path: /healthz
{{- end}}
  # environments:  # per-environment overrides of any field above but template
{{- range .Environments}}
  #   {{.}}: {}
{{- end}}
`))
