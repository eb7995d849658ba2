package review

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzCompareRedaction feeds Compare secrets of any shape, in Secrets'
// data and stringData and in the env of every kind of pod template, and
// checks that no diff, field path or label ever shows one, in plain text
// or base64.
func FuzzCompareRedaction(f *testing.F) {
	f.Add("hunter2", "s3cret-2", "password", uint8(0), false)
	f.Add("same-value", "same-value", "dsn.url", uint8(1), true)
	f.Add("line1\nline2", "x: y", "tls.key", uint8(2), false)
	f.Add("quote\"d", "back\\slash", "a", uint8(5), true)
	f.Add("äöü-ünïcode", "😀😀😀", "token", uint8(8), false)
	f.Add("--- base", "+++ head", "password", uint8(3), true)
	f.Fuzz(func(t *testing.T, baseSecret, headSecret, key string, kindSel uint8, removeHead bool) {
		kinds := []struct{ apiVersion, kind string }{
			{"v1", "Pod"}, {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "DaemonSet"},
			{"apps/v1", "ReplicaSet"}, {"v1", "ReplicationController"}, {"batch/v1", "Job"}, {"batch/v1", "CronJob"},
			{"v1", "PodTemplate"},
		}
		k := kinds[int(kindSel)%len(kinds)]
		if key == "" || strings.ContainsAny(key, "\x00") {
			key = "password"
		}
		build := func(secret string) []*unstructured.Unstructured {
			return []*unstructured.Unstructured{secretObject(key, secret), workloadWithEnv(k.apiVersion, k.kind, secret)}
		}
		for _, s := range []string{baseSecret, headSecret} {
			// A secret that the objects would show anyway (a key, a
			// kind, a name) tells nothing about redaction.
			if len(s) < 4 || strings.Contains(describeAll(build("PLACEHOLDER-A"), build("PLACEHOLDER-B")), s) {
				t.Skip()
			}
		}
		base := build(baseSecret)
		var head []*unstructured.Unstructured
		if !removeHead {
			head = build(headSecret)
		}
		changes := Compare(base, head, CompareOptions{SecretEnv: []string{"DB_PASSWORD"}})
		for _, c := range changes {
			text := changeText(c)
			for _, s := range []string{baseSecret, headSecret} {
				for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
					if strings.Contains(text, form) {
						t.Fatalf("change %s shows secret %q:\n%s", c.Label(), form, text)
					}
				}
			}
		}
	})
}

func secretObject(key, value string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "db", "namespace": "payments-prod"},
		"data":       map[string]any{key: base64.StdEncoding.EncodeToString([]byte(value))},
		"stringData": map[string]any{key + "-plain": value},
	}}
	return o
}

func workloadWithEnv(apiVersion, kind, value string) *unstructured.Unstructured {
	podSpec := map[string]any{"containers": []any{map[string]any{
		"name": "app", "image": "registry.example.com/app:1",
		"env": []any{map[string]any{"name": "DB_PASSWORD", "value": value}, map[string]any{"name": "LOG_LEVEL", "value": "info"}},
	}}}
	template := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "x"}}, "spec": podSpec}
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "app", "namespace": "payments-prod"}}
	switch kind {
	case "Pod":
		obj["spec"] = podSpec
	case "PodTemplate":
		obj["template"] = template
	case "CronJob":
		obj["spec"] = map[string]any{"schedule": "0 3 * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}
	default:
		obj["spec"] = map[string]any{"template": template}
	}
	return &unstructured.Unstructured{Object: obj}
}

// describeAll is everything the objects and their diffs show whatever
// the secrets: the objects with placeholders for secrets, and their diffs.
func describeAll(a, b []*unstructured.Unstructured) string {
	var sb strings.Builder
	for _, o := range append(slices.Clone(a), b...) {
		fmt.Fprintf(&sb, "%v\n", o.Object)
	}
	for _, pair := range [][2][]*unstructured.Unstructured{{a, b}, {a, nil}, {nil, b}} {
		for _, c := range Compare(pair[0], pair[1], CompareOptions{SecretEnv: []string{"DB_PASSWORD"}}) {
			sb.WriteString(changeText(c))
		}
	}
	return sb.String()
}

func changeText(c ObjectChange) string {
	return fmt.Sprintf("%s %s %s %v %s\n", c.Label(), c.Action, c.APIVersion, c.Fields, c.Diff)
}
