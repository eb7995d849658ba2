package render

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// TestRenderBounds: a template that renders without end is stopped, with
// an error naming the template line, long before it could exhaust the
// machine.
func TestRenderBounds(t *testing.T) {
	tests := []struct {
		name     string
		template string
		opts     Options
		want     []string
	}{
		{
			name:     "a loop rendering more than the size bound is stopped while it runs",
			template: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  {{- range until 10000000 }}\n  k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  {{- end }}\n",
			want: []string{
				`services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): templates/basic/templates/big.yaml:6: `,
				`rendering stopped here: the service renders more than 4 MiB, the most pave renders for one service (render option MaxRenderedBytes)`,
			},
		},
		{
			name:     "the size bound is an option",
			template: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  {{- range until 1000 }}\n  k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  {{- end }}\n",
			opts:     Options{MaxRenderedBytes: 10 << 10},
			want:     []string{`templates/basic/templates/big.yaml:6: rendering stopped here: the service renders more than 10 KiB`},
		},
		{
			name:     "one call rendering more than the size bound is refused once rendered",
			template: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: {{ repeat 5000000 \"x\" }}\n",
			want:     []string{`render payments/checkout (prod): templates/basic/templates/big.yaml: the service renders 4.8 MiB (4.8 MiB of it here), more than the 4 MiB pave renders for one service (render option MaxRenderedBytes)`},
		},
		{
			name:     "an endless loop is stopped at the time bound",
			template: "{{- range 1000000000000 }}{{ end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n",
			opts:     Options{RenderTimeout: 300 * time.Millisecond},
			want:     []string{`templates/basic/templates/big.yaml:1: rendering stopped here after 300ms, the longest pave renders one service (render option RenderTimeout)`},
		},
		{
			name:     "exponential recursion is stopped at the time bound",
			template: exponentialTemplate(40),
			opts:     Options{RenderTimeout: 300 * time.Millisecond},
			want:     []string{`templates/basic/templates/big.yaml:`, `: rendering stopped here after 300ms`},
		},
		{
			name:     "pave's checkpoints cannot be looked up by a template",
			template: "{{- $x := lookup \"render.pave.dev/v1\" \"Checkpoint\" \"\" \"-1\" }}\n",
			want:     []string{`templates/basic/templates/big.yaml:1:10: at <lookup "render.pave.dev/v1" "Checkpoint" "" "-1">: error calling lookup: lookup of render.pave.dev/v1 Checkpoint is not available: pave renders without a cluster`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := testCatalog(t, map[string]string{checkoutFile: checkoutYAML, "templates/basic/templates/big.yaml": tt.template})
			svc, _ := cat.Service("payments/checkout")
			goroutines := runtime.NumGoroutine()
			began := time.Now()
			_, err := New(cat, tt.opts).Render(svc, "prod")
			took := time.Since(began)
			if err == nil {
				t.Fatal("render succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
			// Generous for a loaded machine under the race detector
			// (5 s was seen there); unbounded, these take many minutes or
			// all memory.
			if took > 30*time.Second {
				t.Errorf("render took %s before it was stopped", took)
			}
			// The engine goroutine a render gave up on stops too.
			for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines still running after the render returned (%d before)", runtime.NumGoroutine(), goroutines)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestCheckpointsKeepOutput: the checkpoints pave adds to templates change
// neither what they render (whitespace trimming included) nor the columns
// of Helm's errors.
func TestCheckpointsKeepOutput(t *testing.T) {
	templates := map[string]string{
		"plain":              "a: 1\n{{ range $i, $v := .Values.list }}\n- {{ $v }}\n{{ end }}\n",
		"trim inside":        "{{- range .Values.list -}}\n  {{ . }}\n{{- end }}\nz: 1\n",
		"trim before":        "x:\n{{- range .Values.list }}\n   {{- . }}\n{{ end -}}\n   tail\n",
		"empty bodies":       "{{ range .Values.list }}{{ end }}{{ if true }}{{ else }}{{ end }}{{ with .Values.none }}{{ else }}none{{ end }}|\n",
		"empty trimmed":      "{{ range .Values.list }}   \n  {{- end }}|{{ range .Values.list -}}  \n {{ end }}|\n",
		"else if":            "{{ range .Values.list }}{{ if eq . \"a\" }}A{{ else if eq . \"b\" -}}\n  B{{ else }}  {{- . }}{{ end }}{{ end }}\n",
		"with else with":     "{{ with .Values.none }}x{{ else with .Values.list }}{{ len . }}{{ else }}y{{ end }}\n",
		"define and comment": "{{- define \"t\" -}}\n  {{/* note */}}\n  {{- . | upper }}\n{{- end -}}\n{{ include \"t\" \"a\" }}{{ template \"t\" \"b\" }}\n",
		"block":              "{{ block \"blk\" .Values.list }}{{ range . }}<{{ . }}>{{ end }}{{ end }}\n",
		"break and continue": "{{ range .Values.list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ if eq . \"c\" }}{{ break }}{{ end }}{{ end }}\n",
		"nested":             "{{ range $a := .Values.list }}{{ range $b := $.Values.list }}\n  {{- $a }}{{ $b }} {{ end }}{{ end }}\n",
		"crlf":               "{{ range .Values.list -}}\r\n{{ . }}\r\n{{- end }}\r\n",
	}
	vals := map[string]any{"list": []any{"a", "b", "c", "d"}}
	for name, text := range templates {
		t.Run(name, func(t *testing.T) {
			want := renderTemplate(t, text, vals, false)
			if got := renderTemplate(t, text, vals, true); got != want {
				t.Errorf("with checkpoints:\n%q\nwithout:\n%q", got, want)
			}
		})
	}
}

func renderTemplate(t *testing.T, text string, vals map[string]any, checkpoints bool) string {
	t.Helper()
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "c", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/t.yaml", Data: []byte(text)}},
	}
	var provider engine.ClientProvider = noLookup{}
	if checkpoints {
		ic := instrumentChart(ch)
		if len(ic.checkpoints) == 0 && strings.Contains(text, "{{ range") {
			t.Fatal("no checkpoints added")
		}
		provider = &renderBudget{ctx: t.Context(), checkpoints: ic.checkpoints, maxBytes: 1 << 20, timeout: time.Minute}
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "r", Namespace: "n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.RenderWithClientProvider(ch, rv, provider)
	if err != nil {
		t.Fatal(err)
	}
	return out["c/templates/t.yaml"]
}

// TestCheckpointErrorColumns: Helm's errors point at the template as
// written, on lines where pave added checkpoints too.
func TestCheckpointErrorColumns(t *testing.T) {
	templates := []string{
		"{{- range .Values.list }}{{ if . }}{{ required \"x is required\" .x }}{{ end }}{{ end }}\n",
		"{{ range .Values.list }}{{ . }}{{ end }}{{ range .Values.list }}{{ if true }}{{ fail \"no\" }}{{ end }}{{ end }}\n",
		"a: b\n{{- define \"t\" }}{{ .nothing.deeper }}{{ end }}\n{{ include \"t\" . }}\n",
		"{{ with .Values.list }}{{ index . 10 }}{{ end }}\n",
	}
	vals := map[string]any{"list": []any{"a", "b"}}
	for _, text := range templates {
		want := templateError(t, text, vals, false)
		if got := templateError(t, text, vals, true); got != want {
			t.Errorf("%q:\nwith checkpoints the error is at %s, without at %s", text, got, want)
		}
	}
}

func templateError(t *testing.T, text string, vals map[string]any, checkpoints bool) string {
	t.Helper()
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "c", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/t.yaml", Data: []byte(text)}},
	}
	var provider engine.ClientProvider = noLookup{}
	var ic *instrumentedChart
	if checkpoints {
		ic = instrumentChart(ch)
		provider = &renderBudget{ctx: t.Context(), checkpoints: ic.checkpoints, maxBytes: 1 << 20, timeout: time.Minute}
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "r", Namespace: "n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.RenderWithClientProvider(ch, rv, provider)
	if err == nil {
		t.Fatalf("%q renders", text)
	}
	loc, _ := templateLocation(err, ic, templateFile)
	return loc
}

// exponentialTemplate calls a define 2^n times, each level including the
// next twice.
func exponentialTemplate(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{{- define \"level%d\" }}{{ include \"level%d\" . }}{{ include \"level%d\" . }}{{ end }}\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "{{- define \"level%d\" }}x{{ end }}\n{{ include \"level0\" . }}\n", n)
	return b.String()
}
