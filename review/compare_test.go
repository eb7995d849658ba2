package review

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/render"
)

// parseManifests reads a multi-document YAML stream of objects.
func parseManifests(data string) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(js); err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
}

func objects(t testing.TB, y string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := parseManifests(y)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

const deploymentV1 = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: payments
  annotations:
    pave.dev/revision: aaaaaaa
    pave.dev/template: web-service@1.0.0
  labels:
    app.kubernetes.io/name: checkout
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: checkout
        image: registry.example.com/payments/checkout:1.4.2
        ports:
        - containerPort: 8080
`

const serviceV1 = `
apiVersion: v1
kind: Service
metadata:
  name: checkout
  namespace: payments
spec:
  ports:
  - port: 80
    targetPort: 8080
`

type wantChange struct {
	action string
	label  string
	fields []string
	// lines the diff must contain, whole.
	lines []string
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name       string
		base, head string
		opts       CompareOptions
		want       []wantChange
	}{{
		name: "identical",
		base: deploymentV1 + "---" + serviceV1,
		head: deploymentV1 + "---" + serviceV1,
	}, {
		name: "both empty",
	}, {
		name: "revision annotation only",
		base: deploymentV1,
		head: strings.Replace(deploymentV1, "aaaaaaa", "bbbbbbb", 1),
	}, {
		name: "revision annotation only, the only annotation",
		base: serviceV1 + `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: env
  namespace: payments
  annotations:
    pave.dev/revision: aaaaaaa
data:
  A: "1"
`,
		head: serviceV1 + `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: env
  namespace: payments
data:
  A: "1"
`,
	}, {
		name: "image change",
		base: serviceV1 + "---" + deploymentV1,
		head: serviceV1 + "---" + strings.NewReplacer("1.4.2", "1.5.0", "aaaaaaa", "bbbbbbb").Replace(deploymentV1),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Deployment payments/checkout",
			fields: []string{"spec.template.spec.containers[0].image"},
			lines: []string{
				"--- base Deployment payments/checkout",
				"+++ head Deployment payments/checkout",
				"-      - image: registry.example.com/payments/checkout:1.4.2",
				"+      - image: registry.example.com/payments/checkout:1.5.0",
			},
		}},
	}, {
		name: "added object",
		base: deploymentV1,
		head: deploymentV1 + "---" + serviceV1,
		want: []wantChange{{
			action: ActionAdded,
			label:  "Service payments/checkout",
			lines:  []string{"@@ -0,0 +1,9 @@", "+kind: Service", "+  - port: 80"},
		}},
	}, {
		name: "removed object",
		base: deploymentV1 + "---" + serviceV1,
		head: deploymentV1,
		want: []wantChange{{
			action: ActionRemoved,
			label:  "Service payments/checkout",
			lines:  []string{"@@ -1,9 +0,0 @@", "-kind: Service", "-  - port: 80"},
		}},
	}, {
		name: "cluster-scoped object",
		base: "apiVersion: v1\nkind: Namespace\nmetadata: {name: payments}\n",
		head: "apiVersion: v1\nkind: Namespace\nmetadata: {name: payments, labels: {team: payments}}\n",
		want: []wantChange{{
			action: ActionChanged,
			label:  "Namespace payments",
			fields: []string{"metadata.labels"},
			lines:  []string{"+  labels:", "+    team: payments"},
		}},
	}, {
		name: "apiVersion bump of the same object",
		base: strings.Replace(deploymentV1, "apps/v1", "apps/v1beta1", 1),
		head: deploymentV1,
		want: []wantChange{{
			action: ActionChanged,
			label:  "Deployment payments/checkout",
			fields: []string{"apiVersion"},
			lines:  []string{"-apiVersion: apps/v1beta1", "+apiVersion: apps/v1"},
		}},
	}, {
		name: "another group is another object",
		base: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: payments}\n",
		head: "apiVersion: other.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: payments}\n",
		want: []wantChange{
			{action: ActionAdded, label: "Widget payments/w"},
			{action: ActionRemoved, label: "Widget payments/w"},
		},
	}, {
		name: "list length change",
		base: deploymentV1,
		head: strings.Replace(deploymentV1, "        - containerPort: 8080\n", "        - containerPort: 8080\n        - containerPort: 9090\n", 1),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Deployment payments/checkout",
			fields: []string{"spec.template.spec.containers[0].ports"},
			lines:  []string{"+        - containerPort: 9090"},
		}},
	}, {
		name: "several fields, key added and removed, type change",
		base: serviceV1,
		head: strings.Replace(serviceV1, "    targetPort: 8080\n", "    targetPort: http\n    name: http\n", 1) + "  type: ClusterIP\n",
		want: []wantChange{{
			action: ActionChanged,
			label:  "Service payments/checkout",
			fields: []string{"spec.ports[0].name", "spec.ports[0].targetPort", "spec.type"},
		}},
	}, {
		name: "label keys with dots and slashes",
		base: deploymentV1,
		head: strings.Replace(deploymentV1, "    app.kubernetes.io/name: checkout\n",
			"    app.kubernetes.io/name: checkout2\n    helm.sh/chart: web-service-1.0.0\n    tier: web\n", 1),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Deployment payments/checkout",
			fields: []string{
				"metadata.labels.tier",
				"metadata.labels[app.kubernetes.io/name]",
				"metadata.labels[helm.sh/chart]",
			},
		}},
	}, {
		name: "secret data change",
		base: secretYAML("hunter2", "same-value"),
		head: secretYAML("s3cret-2", "other-value"),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Secret payments/checkout-db",
			fields: []string{"data.password", "stringData[dsn.url]"},
			lines: []string{
				"-  password: <redacted>",
				"+  password: '<redacted: changed>'",
				"-  dsn.url: <redacted>",
				"+  dsn.url: '<redacted: changed>'",
			},
		}},
	}, {
		name: "secret with unchanged values and another change",
		base: secretYAML("hunter2", "same-value"),
		head: strings.Replace(secretYAML("hunter2", "same-value"), "type: Opaque", "type: kubernetes.io/basic-auth", 1),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Secret payments/checkout-db",
			fields: []string{"type"},
			lines: []string{
				"   dsn.url: <redacted>",
				"-type: Opaque",
				"+type: kubernetes.io/basic-auth",
			},
		}},
	}, {
		name: "secret key added",
		base: secretYAML("hunter2", "same-value"),
		head: strings.Replace(secretYAML("hunter2", "same-value"), "\ndata:\n", "\ndata:\n  token: "+b64("tok-plain")+"\n", 1),
		want: []wantChange{{
			action: ActionChanged,
			label:  "Secret payments/checkout-db",
			fields: []string{"data.token"},
			lines:  []string{"+  token: <redacted>"},
		}},
	}, {
		name: "secret added",
		head: secretYAML("hunter2", "same-value"),
		want: []wantChange{{
			action: ActionAdded,
			label:  "Secret payments/checkout-db",
			lines:  []string{"+  password: <redacted>", "+  dsn.url: <redacted>"},
		}},
	}, {
		name: "secretEnv literal value",
		base: envDeployment("CronJob", "batch/v1", "hunter2", "debug"),
		head: envDeployment("CronJob", "batch/v1", "s3cret-2", "info"),
		opts: CompareOptions{SecretEnv: []string{"DB_PASSWORD", "API_TOKEN"}},
		want: []wantChange{{
			action: ActionChanged,
			label:  "CronJob payments/report",
			fields: []string{
				"spec.jobTemplate.spec.template.spec.containers[0].env[0].value",
				"spec.jobTemplate.spec.template.spec.containers[0].env[1].value",
			},
			lines: []string{
				" " + strings.Repeat(" ", 12) + "- name: DB_PASSWORD",
				"-" + strings.Repeat(" ", 14) + "value: <redacted>",
				"+" + strings.Repeat(" ", 14) + "value: '<redacted: changed>'",
				"-" + strings.Repeat(" ", 14) + "value: debug",
				"+" + strings.Repeat(" ", 14) + "value: info",
			},
		}},
	}, {
		name: "secretEnv in a Pod, not a secret name elsewhere",
		base: envPod("hunter2", "debug"),
		head: envPod("hunter2", "info"),
		opts: CompareOptions{SecretEnv: []string{"DB_PASSWORD"}},
		want: []wantChange{{
			action: ActionChanged,
			label:  "Pod payments/debug",
			fields: []string{"spec.containers[0].env[1].value"},
			lines:  []string{"       value: <redacted>", "-      value: debug", "+      value: info"},
		}},
	}, {
		name: "order: head order, then removed in base order",
		base: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: gone-sa, namespace: payments}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: payments}
spec: {type: ClusterIP}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone-cm, namespace: payments}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: payments}
spec: {replicas: 1}
`,
		head: `
apiVersion: v1
kind: ConfigMap
metadata: {name: new-cm, namespace: payments}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: payments}
spec: {type: NodePort}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: payments}
spec: {replicas: 2}
`,
		want: []wantChange{
			{action: ActionAdded, label: "ConfigMap payments/new-cm"},
			{action: ActionChanged, label: "Service payments/web", fields: []string{"spec.type"}},
			{action: ActionChanged, label: "Deployment payments/web", fields: []string{"spec.replicas"}},
			{action: ActionRemoved, label: "ServiceAccount payments/gone-sa"},
			{action: ActionRemoved, label: "ConfigMap payments/gone-cm"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(objects(t, tt.base), objects(t, tt.head), tt.opts)
			if len(tt.want) == 0 {
				if got != nil {
					t.Fatalf("got %d changes, want nil:\n%s", len(got), dump(got))
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d changes, want %d:\n%s", len(got), len(tt.want), dump(got))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Action != w.action || g.Label() != w.label {
					t.Errorf("change %d is %s %s, want %s %s", i, g.Action, g.Label(), w.action, w.label)
				}
				if !slices.Equal(g.Fields, w.fields) {
					t.Errorf("%s fields:\n got %q\nwant %q", g.Label(), g.Fields, w.fields)
				}
				lines := strings.Split(g.Diff, "\n")
				for _, l := range w.lines {
					if !slices.Contains(lines, l) {
						t.Errorf("%s diff has no line %q:\n%s", g.Label(), l, g.Diff)
					}
				}
				checkUnifiedDiff(t, g.Diff)
			}
		})
	}
}

// TestCompareDiff shows whole diffs: a changed object with 3 lines of
// context, a changed one with 1, and an added one.
func TestCompareDiff(t *testing.T) {
	head := strings.NewReplacer("1.4.2", "1.5.0", "replicas: 2", "replicas: 3").Replace(deploymentV1)
	got := Compare(objects(t, deploymentV1), objects(t, head+"---"+serviceV1), CompareOptions{})
	if len(got) != 2 {
		t.Fatalf("got %d changes, want 2:\n%s", len(got), dump(got))
	}
	want := `--- base Deployment payments/checkout
+++ head Deployment payments/checkout
@@ -8,11 +8,11 @@
   name: checkout
   namespace: payments
 spec:
-  replicas: 2
+  replicas: 3
   template:
     spec:
       containers:
-      - image: registry.example.com/payments/checkout:1.4.2
+      - image: registry.example.com/payments/checkout:1.5.0
         name: checkout
         ports:
         - containerPort: 8080
`
	if got[0].Diff != want {
		t.Errorf("changed diff:\n%s\nwant:\n%s", got[0].Diff, want)
	}
	want = `--- base Service payments/checkout
+++ head Service payments/checkout
@@ -0,0 +1,9 @@
+apiVersion: v1
+kind: Service
+metadata:
+  name: checkout
+  namespace: payments
+spec:
+  ports:
+  - port: 80
+    targetPort: 8080
`
	if got[1].Diff != want {
		t.Errorf("added diff:\n%s\nwant:\n%s", got[1].Diff, want)
	}

	got = Compare(objects(t, deploymentV1), objects(t, head), CompareOptions{Context: 1})
	want = `--- base Deployment payments/checkout
+++ head Deployment payments/checkout
@@ -10,3 +10,3 @@
 spec:
-  replicas: 2
+  replicas: 3
   template:
@@ -14,3 +14,3 @@
       containers:
-      - image: registry.example.com/payments/checkout:1.4.2
+      - image: registry.example.com/payments/checkout:1.5.0
         name: checkout
`
	if len(got) != 1 || got[0].Diff != want {
		t.Errorf("diff with 1 line of context:\n%s\nwant:\n%s", dump(got), want)
	}
}

// TestCompareNeverShowsSecrets searches everything Compare returns for the
// secret values, plain and base64.
func TestCompareNeverShowsSecrets(t *testing.T) {
	secrets := []string{"hunter2", "s3cret-2", "same-value", "other-value", "sameuser", "tok-plain"}
	pairs := []struct{ base, head string }{
		{secretYAML("hunter2", "same-value"), secretYAML("s3cret-2", "same-value")},
		{secretYAML("hunter2", "same-value"), strings.Replace(secretYAML("hunter2", "s3cret-2"), "type: Opaque", "type: x", 1)},
		{secretYAML("hunter2", "same-value"), ""},
		{"", secretYAML("hunter2", "same-value")},
		{envDeployment("Deployment", "apps/v1", "hunter2", "debug"), envDeployment("Deployment", "apps/v1", "s3cret-2", "info")},
		{envDeployment("StatefulSet", "apps/v1", "hunter2", "debug"), envDeployment("StatefulSet", "apps/v1", "hunter2", "info")},
		{envDeployment("Job", "batch/v1", "hunter2", "debug"), ""},
		{"", envDeployment("DaemonSet", "apps/v1", "s3cret-2", "debug")},
		{envPod("hunter2", "a"), envPod("s3cret-2", "b")},
		// A Secret whose data is not a map of keys.
		{secretYAML("hunter2", "same-value"), "apiVersion: v1\nkind: Secret\nmetadata: {name: checkout-db, namespace: payments}\ndata: " + b64("s3cret-2") + "\n"},
	}
	opts := CompareOptions{SecretEnv: []string{"DB_PASSWORD", "API_TOKEN"}}
	for i, p := range pairs {
		got := Compare(objects(t, p.base), objects(t, p.head), opts)
		if len(got) == 0 {
			t.Errorf("pair %d: no change", i)
		}
		js, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			for _, form := range []string{s, b64(s)} {
				if strings.Contains(string(js), form) {
					t.Errorf("pair %d shows %q:\n%s", i, form, dump(got))
				}
			}
		}
	}
}

func TestCompareDoesNotMutate(t *testing.T) {
	base := objects(t, secretYAML("hunter2", "same-value")+"---"+envDeployment("Deployment", "apps/v1", "hunter2", "debug")+"---"+deploymentV1)
	head := objects(t, secretYAML("s3cret-2", "same-value")+"---"+envDeployment("Deployment", "apps/v1", "s3cret-2", "info")+"---"+strings.Replace(deploymentV1, "aaaaaaa", "bbbbbbb", 1))
	before := [][]*unstructured.Unstructured{deepCopyAll(base), deepCopyAll(head)}
	if got := Compare(base, head, CompareOptions{SecretEnv: []string{"DB_PASSWORD"}}); len(got) != 2 {
		t.Fatalf("got %d changes, want 2:\n%s", len(got), dump(got))
	}
	if !reflect.DeepEqual(before, [][]*unstructured.Unstructured{base, head}) {
		t.Error("Compare modified its inputs")
	}
}

func TestObjectChangeLabel(t *testing.T) {
	for _, tt := range []struct {
		c    ObjectChange
		want string
	}{
		{ObjectChange{Kind: "Deployment", Namespace: "payments", Name: "checkout"}, "Deployment payments/checkout"},
		{ObjectChange{Kind: "ClusterRole", Name: "reader"}, "ClusterRole reader"},
	} {
		if got := tt.c.Label(); got != tt.want {
			t.Errorf("Label() = %q, want %q", got, tt.want)
		}
	}
}

func TestJoinKey(t *testing.T) {
	for _, tt := range []struct{ path, key, want string }{
		{"", "spec", "spec"},
		{"spec", "replicas", "spec.replicas"},
		{"metadata.labels", "app.kubernetes.io/name", "metadata.labels[app.kubernetes.io/name]"},
		{"data", "tls.crt", "data[tls.crt]"},
		{"data", "my_key-2", "data.my_key-2"},
		{"data", "", "data[]"},
		{"", "odd key", "[odd key]"},
	} {
		if got := joinKey(tt.path, tt.key); got != tt.want {
			t.Errorf("joinKey(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
		}
	}
}

// BenchmarkCompare compares the prod render of the example checkout service
// (9 objects: a Deployment, its Service, HPA, PDB, Ingress, …) with itself
// at another revision and another image: what pave check --base does for
// one service.
func BenchmarkCompare(b *testing.B) {
	data, err := os.ReadFile("../render/testdata/golden/prod/payments/checkout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	base := objects(b, string(data))
	head := deepCopyAll(base)
	images := 0
	for i, o := range head {
		ann := o.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[render.AnnotationRevision] = "bbbbbbb"
		o.SetAnnotations(ann)
		ann = base[i].GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[render.AnnotationRevision] = "aaaaaaa"
		base[i].SetAnnotations(ann)
		if o.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = "registry.example.com/payments/checkout:1.5.0"
			if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				b.Fatal(err)
			}
			images++
		}
	}
	if images != 1 {
		b.Fatalf("%d deployments", images)
	}
	opts := CompareOptions{SecretEnv: []string{"DB_PASSWORD", "PSP_API_TOKEN"}}
	if got := Compare(base, head, opts); len(got) != 1 || !slices.Equal(got[0].Fields, []string{"spec.template.spec.containers[0].image"}) {
		b.Fatalf("unexpected changes:\n%s", dump(got))
	}
	b.ReportAllocs()
	for b.Loop() {
		Compare(base, head, opts)
	}
}

func secretYAML(password, dsn string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata:
  name: checkout-db
  namespace: payments
type: Opaque
data:
  password: %s
  user: %s
stringData:
  dsn.url: postgres://app:%s@db/checkout
`, b64(password), b64("sameuser"), dsn)
}

// envDeployment is a workload of the given kind whose container has the
// secret DB_PASSWORD and a plain LOG_LEVEL, and whose init container has the
// secret API_TOKEN "same-value".
func envDeployment(kind, apiVersion, password, logLevel string) string {
	podSpec := fmt.Sprintf(`initContainers:
- name: migrate
  env:
  - name: API_TOKEN
    value: same-value
containers:
- name: app
  image: app:1
  env:
  - name: DB_PASSWORD
    value: %s
  - name: LOG_LEVEL
    value: %s
  - name: FROM_SECRET
    valueFrom: {secretKeyRef: {name: s, key: k}}
`, password, logLevel)
	name, template, indent := "app", "spec:\n  template:\n    spec:\n", "      "
	if kind == "CronJob" {
		name = "report"
		template = "spec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
		indent = "          "
	}
	podSpec = indent + strings.ReplaceAll(strings.TrimSuffix(podSpec, "\n"), "\n", "\n"+indent) + "\n"
	return fmt.Sprintf("\napiVersion: %s\nkind: %s\nmetadata: {name: %s, namespace: payments}\n%s%s", apiVersion, kind, name, template, podSpec)
}

func envPod(password, logLevel string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: payments}
spec:
  containers:
  - name: debug
    env:
    - name: DB_PASSWORD
      value: %s
    - name: LOG_LEVEL
      value: %s
`, password, logLevel)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func deepCopyAll(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}

func dump(changes []ObjectChange) string {
	var sb strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&sb, "%s %s %s %q\n%s\n", c.Action, c.APIVersion, c.Label(), c.Fields, c.Diff)
	}
	return sb.String()
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// checkUnifiedDiff checks that diff is a unified diff whose hunks hold as
// many lines as their headers say.
func checkUnifiedDiff(t *testing.T, diff string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		t.Errorf("not a unified diff:\n%s", diff)
		return
	}
	count := func(s string) int {
		if s == "" {
			return 1
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	for i := 2; i < len(lines); {
		m := hunkHeader.FindStringSubmatch(lines[i])
		if m == nil {
			t.Errorf("line %d is no hunk header: %q\n%s", i+1, lines[i], diff)
			return
		}
		old, new := count(m[2]), count(m[4])
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "@@"); i++ {
			switch lines[i][0] {
			case ' ':
				old--
				new--
			case '-':
				old--
			case '+':
				new--
			default:
				t.Errorf("bad diff line %q:\n%s", lines[i], diff)
			}
		}
		if old != 0 || new != 0 {
			t.Errorf("hunk %q does not hold its lines (off by %d, %d):\n%s", m[0], old, new, diff)
		}
	}
}

// TestUnifiedDiffApplies applies the diffs of random pairs of line lists
// to their first and checks it gives the second.
func TestUnifiedDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lines := func() []string {
		l := make([]string, rng.IntN(30))
		for i := range l {
			l[i] = string(rune('a'+rng.IntN(5))) + "\n"
		}
		return l
	}
	for i := range 3000 {
		a := lines()
		b := slices.Clone(a)
		if rng.IntN(2) == 0 {
			b = lines()
		} else {
			for range 1 + rng.IntN(3) { // a few edits
				j := rng.IntN(len(b) + 1)
				switch rng.IntN(3) {
				case 0:
					b = slices.Insert(b, j, "new\n")
				case 1:
					if j < len(b) {
						b = slices.Delete(b, j, j+1)
					}
				default:
					if j < len(b) {
						b[j] = "changed\n"
					}
				}
			}
		}
		context := rng.IntN(4)
		d := unifiedDiff(a, b, "a", "b", context)
		if slices.Equal(a, b) {
			if d != "" {
				t.Fatalf("pair %d: equal lines give a diff:\n%s", i, d)
			}
			continue
		}
		checkUnifiedDiff(t, d)
		if got := applyUnifiedDiff(t, a, d); !slices.Equal(got, b) {
			t.Fatalf("pair %d, context %d: applying\n%s\nto %q gives %q, want %q", i, context, d, a, got, b)
		}
	}
}

// applyUnifiedDiff applies a unified diff to lines.
func applyUnifiedDiff(t *testing.T, a []string, diff string) []string {
	t.Helper()
	var out []string
	next := 0 // the next line of a to copy
	dl := strings.SplitAfter(diff, "\n")
	for _, l := range dl[2:] {
		if l == "" {
			continue
		}
		if m := hunkHeader.FindStringSubmatch(strings.TrimSuffix(l, "\n")); m != nil {
			start, _ := strconv.Atoi(m[1])
			if m[2] != "0" {
				start-- // the first line, counted from 1; or the line before an empty range
			}
			out = append(out, a[next:start]...)
			next = start
			continue
		}
		switch l[0] {
		case ' ':
			if a[next] != l[1:] {
				t.Fatalf("context %q is %q in the base", l[1:], a[next])
			}
			out = append(out, l[1:])
			next++
		case '-':
			if a[next] != l[1:] {
				t.Fatalf("removed %q is %q in the base", l[1:], a[next])
			}
			next++
		case '+':
			out = append(out, l[1:])
		}
	}
	return append(out, a[next:]...)
}
