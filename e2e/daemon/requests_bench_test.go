package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// BenchmarkRequests measures what each kind of request pave sends for a
// changed service costs the local API server and etcd, in CPU
// milliseconds per request (from /proc, 1000 of a kind, 16 at a time):
// the Deployment's server-side apply, which the floor sends too, and the
// bookkeeping only pave sends (the inventory's apply, or its update or merge patch, the
// deployment history's read and write, an Event). The figures explain the template
// change's ratio to its floor in BenchmarkDaemon.
// Run it alone: go test ./e2e/daemon -run '^$' -bench Requests -benchtime 1x
func BenchmarkRequests(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchRequestsOnce(b)
	}
}

func benchRequestsOnce(b *testing.B) {
	resetClusters(b)
	cfg := rest.CopyConfig(testcluster.ConfigFor(b, "staging"))
	cfg.QPS, cfg.Burst = -1, 0 // no client-side limit: the server's cost alone
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const ns, n = "bench-requests", 1000
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	force := true
	apply := func(resource, name string, body []byte) error {
		req := cs.CoreV1().RESTClient().Patch(types.ApplyPatchType)
		if resource == "deployments" {
			req = cs.AppsV1().RESTClient().Patch(types.ApplyPatchType)
		}
		return req.Namespace(ns).Resource(resource).Name(name).VersionedParams(&metav1.PatchOptions{FieldManager: "pave", Force: &force}, metav1.ParameterCodec).
			Body(body).Do(ctx).Error()
	}
	// An inventory as pave writes it for a web-service: seven objects,
	// their digests, the render's hash and revision.
	var refs, digests []string
	for _, kind := range []string{"Namespace", "ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy", "HorizontalPodAutoscaler"} {
		refs = append(refs, fmt.Sprintf(`{"group":"","version":"v1","kind":%q,"namespace":"payments-staging","name":"svc"}`, kind))
		digests = append(digests, fmt.Sprintf(`%q:"0123456789abcdef0123456789abcdef"`, kind))
	}
	inventory := func(i int, hash string) []byte {
		return fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"inv-%04d","namespace":%q,"labels":{"app.kubernetes.io/managed-by":"pave","pave.dev/inventory":"true"}},"data":{"objects":%q,"digests":%q,"hash":%q,"revision":%q,"template":"web-service@1.0.0","lastApplied":"2026-11-29T00:00:00Z"}}`,
			i, ns, "["+strings.Join(refs, ",")+"]", "{"+strings.Join(digests, ",")+"}", hash, hash)
	}
	deployment := func(i int, mark string) []byte {
		return fmt.Appendf(nil, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"svc-%04d","namespace":%q,"annotations":{"bench":%q},"labels":{"app.kubernetes.io/name":"svc-%04d","app.kubernetes.io/managed-by":"pave"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app.kubernetes.io/name":"svc-%04d"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"svc-%04d"}},"spec":{"containers":[{"name":"app","image":"registry.example.com/app:1.0.0","ports":[{"containerPort":8080}],"resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"256Mi"}},"readinessProbe":{"httpGet":{"path":"/healthz","port":8080}},"securityContext":{"runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false}}]}}}}`,
			i, ns, mark, i, i, i)
	}
	history := func(i int) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("inv-%04d.state", i), Namespace: ns},
			Data: map[string]string{"state": `{"history":[{"revision":"r1","hash":"h1","start":"2026-11-29T00:00:00Z","result":"Ready"}]}`}}
	}
	// Created first: each measured request then changes an existing object.
	setup := map[string]func(i int) error{
		"deployment": func(i int) error { return apply("deployments", fmt.Sprintf("svc-%04d", i), deployment(i, "0")) },
		"inventory":  func(i int) error { return apply("configmaps", fmt.Sprintf("inv-%04d", i), inventory(i, "h0")) },
		"history": func(i int) error {
			_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, history(i), metav1.CreateOptions{})
			return err
		},
	}
	for name, fn := range setup {
		if _, err := measureRequests(b, n, fn); err != nil {
			b.Fatalf("create the %ss: %v", name, err)
		}
	}
	cases := []struct {
		name string
		fn   func(i int) error
	}{
		{"deployment-apply", func(i int) error { return apply("deployments", fmt.Sprintf("svc-%04d", i), deployment(i, "1")) }},
		{"inventory-apply", func(i int) error { return apply("configmaps", fmt.Sprintf("inv-%04d", i), inventory(i, "h1")) }},
		{"inventory-put", func(i int) error {
			// The same inventory as an update without a resourceVersion
			// (last writer wins, as the forced apply).
			var cm corev1.ConfigMap
			if err := json.Unmarshal(inventory(i, "h2"), &cm); err != nil {
				return err
			}
			_, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, &cm, metav1.UpdateOptions{FieldManager: "pave"})
			return err
		}},
		{"inventory-merge", func(i int) error {
			// Its labels and data as a merge patch (what else is on the
			// ConfigMap stays).
			var cm corev1.ConfigMap
			if err := json.Unmarshal(inventory(i, "h3"), &cm); err != nil {
				return err
			}
			patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": cm.Labels}, "data": cm.Data})
			if err != nil {
				return err
			}
			return cs.CoreV1().RESTClient().Patch(types.MergePatchType).Namespace(ns).Resource("configmaps").Name(cm.Name).
				VersionedParams(&metav1.PatchOptions{FieldManager: "pave"}, metav1.ParameterCodec).Body(patch).Do(ctx).Error()
		}},
		{"history-get", func(i int) error {
			_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, fmt.Sprintf("inv-%04d.state", i), metav1.GetOptions{})
			return err
		}},
		{"history-put", func(i int) error {
			cm := history(i)
			cm.Data["state"] += " "
			_, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "pave"})
			return err
		}},
		{"event-post", func(i int) error {
			now := metav1.Now()
			_, err := cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "inv."},
				InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: fmt.Sprintf("inv-%04d", i)},
				Reason:         "Applied", Message: "revision 0123456789ab: 1 configured, 6 unchanged", Type: corev1.EventTypeNormal,
				Source: corev1.EventSource{Component: "pave"}, FirstTimestamp: now, LastTimestamp: now, Count: 1}, metav1.CreateOptions{})
			return err
		}},
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-20s %14s %10s %10s\n", "request (1000 each)", "API server ms", "etcd ms", "wall s")
	for _, c := range cases {
		m, err := measureRequests(b, n, c.fn)
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&tbl, "%-20s %14.2f %10.2f %10.2f\n", c.name, m.apiserver*1000/n, m.etcd*1000/n, m.wall.Seconds())
		b.ReportMetric(m.apiserver*1000/n, c.name+"-apiserver-ms")
	}
	fmt.Print(tbl.String())
}

// requestCost is what a batch of requests cost: CPU seconds of the API
// server and etcd (both clusters' processes, the other one idle), and the
// wall time.
type requestCost struct {
	apiserver, etcd float64
	wall            time.Duration
}

func measureRequests(tb testing.TB, n int, fn func(i int) error) (requestCost, error) {
	before := sampleLoad(tb, nil)
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error { return fn(i) })
	}
	err := g.Wait()
	wall := time.Since(start)
	after := sampleLoad(tb, nil)
	return requestCost{
		apiserver: after.cpu["kube-apiserver"] - before.cpu["kube-apiserver"],
		etcd:      after.cpu["etcd"] - before.cpu["etcd"],
		wall:      wall,
	}, err
}
