package render

import (
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// testHooks are the hook events of `helm test`: objects a chart renders
// only for its own tests, never part of the release.
var testHooks = map[string]bool{
	string(release.HookTest): true,
	"test-success":           true, // the name Helm 2 used, still honoured by Helm 3
	"test-failure":           true,
}

// withoutHooks drops the chart's test hooks (helm test's objects) from
// what a template file rendered and refuses every other hook. pave applies
// a service's objects declaratively and continuously: there is no install,
// upgrade, rollback or delete for a pre-install Job to run before, so
// applying it as an ordinary object would run it at the wrong time, and
// dropping it would silently skip what the chart needs.
func withoutHooks(objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	kept := objs[:0:0]
	for _, o := range objs {
		hook, ok := o.GetAnnotations()[release.HookAnnotation]
		if !ok {
			kept = append(kept, o)
			continue
		}
		var other []string
		for _, ev := range strings.Split(hook, ",") {
			if ev = strings.TrimSpace(ev); ev != "" && !testHooks[ev] {
				other = append(other, ev)
			}
		}
		if len(other) == 0 {
			continue
		}
		return nil, fmt.Errorf("%s %q is a Helm hook (%s: %s): pave applies a service's objects declaratively and continuously, with no install or upgrade step to run a hook in, so it does not render hooks other than helm test's; remove the annotation to apply the object like the others, or run the task another way (an init container, a Job of its own)", o.GetKind(), o.GetName(), release.HookAnnotation, hook)
	}
	return kept, nil
}

// isTestsFile reports whether a chart file is in a templates/tests/
// folder, where Helm charts keep the hooks of helm test.
func isTestsFile(name string) bool {
	return strings.Contains(name, "/templates/tests/")
}
