package review

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	yaml "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/render"
)

// Actions of an ObjectChange.
const (
	ActionAdded   = "added"
	ActionRemoved = "removed"
	ActionChanged = "changed"
)

// The placeholders of redacted values.
const (
	redacted        = "<redacted>"
	redactedChanged = "<redacted: changed>"
)

// ObjectChange is one object that differs between two renders of a service.
type ObjectChange struct {
	Action     string `json:"action"` // ActionAdded, ActionRemoved or ActionChanged
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Fields are the changed field paths of a changed object, sorted and
	// unique. A path names map keys with dots and list elements with [i]:
	// spec.template.spec.containers[0].image. A key that is not made of
	// letters, digits, '-' and '_' only is written in brackets:
	// metadata.labels[app.kubernetes.io/version], data[tls.crt]. A path
	// ends at a key present on one side only, at a list whose length
	// changed, and at a value whose type changed.
	Fields []string `json:"fields,omitempty"`
	// Diff is a unified diff of the object's YAML (sorted keys), base →
	// head, with headers "--- base <Label>" and "+++ head <Label>". Every
	// line of an added object is "+", of a removed one "-".
	Diff string `json:"diff"`
}

// Label is "Kind namespace/name", or "Kind name" for a cluster-scoped
// object.
func (c ObjectChange) Label() string {
	if c.Namespace == "" {
		return c.Kind + " " + c.Name
	}
	return c.Kind + " " + c.Namespace + "/" + c.Name
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// SecretEnv are the variable names the service declares in secretEnv.
	// The literal value of an env entry with one of these names, in any
	// container, initContainer or ephemeralContainer of the pod template of
	// a Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
	// ReplicationController or PodTemplate, is redacted.
	SecretEnv []string
	// Context is the number of context lines of the unified diffs: 3 when
	// zero, none when negative.
	Context int
}

// objectKey identifies an object across renders: the version of its
// apiVersion is left out.
type objectKey struct {
	group, kind, namespace, name string
}

func keyOf(o *unstructured.Unstructured) objectKey {
	group, _, found := strings.Cut(o.GetAPIVersion(), "/")
	if !found {
		group = "" // the core group: "v1"
	}
	return objectKey{group: group, kind: o.GetKind(), namespace: o.GetNamespace(), name: o.GetName()}
}

// Compare lists the objects that differ between the base and head renders
// of a service, for the review of a change (pave check --base): the added
// and changed objects in head order, then the removed ones in base order.
// Identical objects are not listed, and nil is returned when there are
// none. Either side may be empty. The input objects are not modified.
//
// An object is identified by its API group, kind, namespace and name, so
// moving it from apps/v1beta1 to apps/v1 changes it (Fields: apiVersion)
// rather than removing one and adding another. The pave.dev/revision
// annotation is ignored, and so are the annotations it leaves empty: two
// renders that differ only in the revision they were made from are
// identical.
//
// Secret material is never shown. Every value under data and stringData of
// a core Secret, and the literal value of every env entry named in
// opts.SecretEnv, is replaced on both sides, before anything is compared or
// diffed, by "<redacted>" — on the head side by "<redacted: changed>" when
// it differs from the base's — so a review sees which values changed,
// never what they are. Fields and diffs name the keys.
func Compare(base, head []*unstructured.Unstructured, opts CompareOptions) []ObjectChange {
	context := opts.Context
	switch {
	case context == 0:
		context = 3
	case context < 0:
		context = 0
	}
	c := comparer{context: context}
	if len(opts.SecretEnv) > 0 {
		c.secretEnv = make(map[string]bool, len(opts.SecretEnv))
		for _, name := range opts.SecretEnv {
			c.secretEnv[name] = true
		}
	}

	// Base objects by key; a key rendered twice pairs in order.
	byKey := make(map[objectKey][]int, len(base))
	for i, o := range base {
		if o == nil {
			continue
		}
		k := keyOf(o)
		byKey[k] = append(byKey[k], i)
	}
	matched := make([]bool, len(base))

	var changes []ObjectChange
	for _, h := range head {
		if h == nil {
			continue
		}
		k := keyOf(h)
		var b *unstructured.Unstructured
		if idx := byKey[k]; len(idx) > 0 {
			b = base[idx[0]]
			matched[idx[0]] = true
			byKey[k] = idx[1:]
		}
		if ch, ok := c.compare(b, h); ok {
			changes = append(changes, ch)
		}
	}
	for i, b := range base {
		if b == nil || matched[i] {
			continue
		}
		ch, _ := c.compare(b, nil)
		changes = append(changes, ch)
	}
	return changes
}

// comparer is one call of Compare.
type comparer struct {
	context   int
	secretEnv map[string]bool
}

// compare compares one object's base and head, either of which may be nil.
// It reports false when they are the same.
func (c *comparer) compare(base, head *unstructured.Unstructured) (ObjectChange, bool) {
	ref := head
	if ref == nil {
		ref = base
	}
	ch := ObjectChange{
		APIVersion: ref.GetAPIVersion(),
		Kind:       ref.GetKind(),
		Namespace:  ref.GetNamespace(),
		Name:       ref.GetName(),
	}
	k := keyOf(ref)
	var b, h map[string]any
	if base != nil {
		b = withoutRevision(base.Object)
	}
	if head != nil {
		h = withoutRevision(head.Object)
	}
	if b != nil && h != nil && equalValue(b, h) {
		return ObjectChange{}, false
	}

	if k.group == "" && k.kind == "Secret" {
		b, h = redactSecret(b, h)
	} else if c.secretEnv != nil {
		if path, ok := podSpecPaths[k.kind]; ok {
			b, h = c.redactEnv(path, b, h)
		}
	}

	switch {
	case b == nil:
		ch.Action = ActionAdded
	case h == nil:
		ch.Action = ActionRemoved
	default:
		ch.Action = ActionChanged
		ch.Fields = fieldPaths(b, h)
		if len(ch.Fields) == 0 {
			return ObjectChange{}, false
		}
	}
	ch.Diff = c.diff(ch.Label(), b, h)
	return ch, true
}

// withoutRevision is an object without the revision annotation, and without
// its annotations when that was the only one. It shares all else with obj,
// which it does not modify.
func withoutRevision(obj map[string]any) map[string]any {
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if _, ok := ann[render.AnnotationRevision]; !ok {
		return obj
	}
	out := maps.Clone(obj)
	md = maps.Clone(md)
	out["metadata"] = md
	if len(ann) == 1 {
		delete(md, "annotations")
		return out
	}
	ann = maps.Clone(ann)
	delete(ann, render.AnnotationRevision)
	md["annotations"] = ann
	return out
}

// redactPair returns the placeholders of a secret value present on the base
// side (inBase) and on the head side (inHead).
func redactPair(bv any, inBase bool, hv any, inHead bool) (any, any) {
	var rb, rh any
	if inBase {
		rb = redacted
	}
	if inHead {
		rh = redacted
		if inBase && !equalValue(bv, hv) {
			rh = redactedChanged
		}
	}
	return rb, rh
}

// redactSecret redacts the values of a Secret's data and stringData on
// both sides (either may be nil), on copies.
func redactSecret(base, head map[string]any) (map[string]any, map[string]any) {
	base, head = maps.Clone(base), maps.Clone(head)
	redactSecretField(base, head, "data")
	redactSecretField(base, head, "stringData")
	return base, head
}

// redactSecretField redacts the values of a Secret's data or stringData
// field on both sides, replacing the field's maps by redacted copies.
func redactSecretField(base, head map[string]any, field string) {
	bf, inBase := base[field]
	hf, inHead := head[field]
	if !inBase && !inHead {
		return
	}
	bm, bIsMap := bf.(map[string]any)
	hm, hIsMap := hf.(map[string]any)
	if (inBase && !bIsMap && bf != nil) || (inHead && !hIsMap && hf != nil) {
		// Not a map of keys: redact the field as a whole.
		rb, rh := redactPair(bf, inBase, hf, inHead)
		if inBase {
			base[field] = rb
		}
		if inHead {
			head[field] = rh
		}
		return
	}
	rbm := make(map[string]any, len(bm))
	rhm := make(map[string]any, len(hm))
	for key, bv := range bm {
		hv, ok := hm[key]
		rb, rh := redactPair(bv, true, hv, ok)
		rbm[key] = rb
		if ok {
			rhm[key] = rh
		}
	}
	for key := range hm {
		if _, ok := bm[key]; !ok {
			rhm[key] = redacted
		}
	}
	if bIsMap {
		base[field] = rbm
	}
	if hIsMap {
		head[field] = rhm
	}
}

// podSpecPaths are where the kinds that run containers keep their pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// redactEnv redacts the literal values of the secretEnv entries of both
// sides' pod specs, found at path, on copies. An entry is matched across
// sides by container list, container name and variable name.
func (c *comparer) redactEnv(path []string, base, head map[string]any) (map[string]any, map[string]any) {
	baseValues := map[string]any{}
	base = c.replaceSecretEnv(base, path, func(key string, value any) any {
		baseValues[key] = value
		return redacted
	})
	head = c.replaceSecretEnv(head, path, func(key string, value any) any {
		bv, inBase := baseValues[key]
		_, rh := redactPair(bv, inBase, value, true)
		return rh
	})
	return base, head
}

// containerLists are the lists of containers of a pod spec.
var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

// replaceSecretEnv returns obj with the literal value of every env entry
// of the pod spec at path named in secretEnv replaced by fn(key, value),
// where key identifies the entry within the object. What it changes it
// copies: obj is not modified.
func (c *comparer) replaceSecretEnv(obj map[string]any, path []string, fn func(key string, value any) any) map[string]any {
	spec := obj
	for _, p := range path {
		spec, _ = spec[p].(map[string]any)
		if spec == nil {
			return obj
		}
	}
	var newSpec map[string]any
	for _, list := range containerLists {
		containers, _ := spec[list].([]any)
		var newContainers []any
		for i, ct := range containers {
			ctr, _ := ct.(map[string]any)
			env, _ := ctr["env"].([]any)
			var newEnv []any
			var seen map[string]int
			for j, e := range env {
				entry, _ := e.(map[string]any)
				varName, _ := entry["name"].(string)
				value, literal := entry["value"]
				if !literal || !c.secretEnv[varName] {
					continue
				}
				if newEnv == nil {
					newEnv = slices.Clone(env)
					seen = map[string]int{}
				}
				name, _ := ctr["name"].(string)
				if name == "" {
					name = "#" + strconv.Itoa(i)
				}
				key := list + "/" + name + "/" + varName + "#" + strconv.Itoa(seen[varName])
				seen[varName]++
				entry = maps.Clone(entry)
				entry["value"] = fn(key, value)
				newEnv[j] = entry
			}
			if newEnv == nil {
				continue
			}
			if newContainers == nil {
				newContainers = slices.Clone(containers)
			}
			ctr = maps.Clone(ctr)
			ctr["env"] = newEnv
			newContainers[i] = ctr
		}
		if newContainers != nil {
			if newSpec == nil {
				newSpec = maps.Clone(spec)
			}
			newSpec[list] = newContainers
		}
	}
	if newSpec == nil {
		return obj
	}
	return withMap(obj, path, newSpec)
}

// withMap is a copy of obj with the map at path replaced by m; the maps on
// the way are copied, the rest shared.
func withMap(obj map[string]any, path []string, m map[string]any) map[string]any {
	if len(path) == 0 {
		return m
	}
	out := maps.Clone(obj)
	inner, _ := obj[path[0]].(map[string]any)
	out[path[0]] = withMap(inner, path[1:], m)
	return out
}

// fieldPaths lists the paths where two objects differ, sorted and unique.
func fieldPaths(base, head map[string]any) []string {
	var d pathDiff
	d.walk(base, head)
	slices.Sort(d.paths)
	return slices.Compact(d.paths)
}

// pathDiff collects the paths where two values differ. The path being
// walked is built in one buffer and only copied where a difference is.
type pathDiff struct {
	path  []byte
	paths []string
}

func (d *pathDiff) found() {
	d.paths = append(d.paths, string(d.path))
}

func (d *pathDiff) walk(a, b any) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			d.found()
			return
		}
		n := len(d.path)
		for k, ae := range av {
			d.path = appendKey(d.path, k)
			if be, ok := bv[k]; ok {
				d.walk(ae, be)
			} else {
				d.found()
			}
			d.path = d.path[:n]
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				d.path = appendKey(d.path, k)
				d.found()
				d.path = d.path[:n]
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			d.found()
			return
		}
		n := len(d.path)
		for i := range av {
			d.path = append(d.path, '[')
			d.path = strconv.AppendInt(d.path, int64(i), 10)
			d.path = append(d.path, ']')
			d.walk(av[i], bv[i])
			d.path = d.path[:n]
		}
	default:
		if !equalValue(a, b) {
			d.found()
		}
	}
}

// joinKey appends a map key to a field path: .key, or [key] when the key
// is not made of letters, digits, '-' and '_' only.
func joinKey(path, key string) string {
	return string(appendKey([]byte(path), key))
}

func appendKey(path []byte, key string) []byte {
	if !plainKey(key) {
		path = append(path, '[')
		path = append(path, key...)
		return append(path, ']')
	}
	if len(path) > 0 {
		path = append(path, '.')
	}
	return append(path, key...)
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// equalValue reports whether two JSON-like values are equal; numbers are
// equal when their values are, whatever their Go types.
func equalValue(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, ae := range av {
			be, ok := bv[k]
			if !ok || !equalValue(ae, be) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equalValue(av[i], bv[i]) {
				return false
			}
		}
		return true
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case nil:
		return b == nil
	}
	if an, ok := number(a); ok {
		bn, ok := number(b)
		return ok && an == bn
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// diff is the unified diff of an object's YAML from base to head; a nil
// side is empty.
func (c *comparer) diff(label string, base, head map[string]any) string {
	return unifiedDiff(c.yamlLines(base), c.yamlLines(head), "base "+label, "head "+label, c.context)
}

// unifiedDiff is the unified diff of a and b (lines that end in "\n")
// with context lines around each change.
func unifiedDiff(a, b []string, fromFile, toFile string, context int) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: a, B: b, FromFile: fromFile, ToFile: toFile, Context: context})
	if err != nil {
		// difflib fails only when writing to its buffer fails.
		return fmt.Sprintf("# cannot diff: %v\n", err)
	}
	return d
}

// yamlLines is an object's YAML, as Result.YAML writes it, split after
// each line.
func (c *comparer) yamlLines(obj map[string]any) []string {
	if obj == nil {
		return nil
	}
	y, err := objectYAML(obj)
	if err != nil {
		// Only values JSON cannot encode fail, and renders hold none.
		return []string{fmt.Sprintf("# cannot encode as YAML: %v\n", err)}
	}
	lines := strings.SplitAfter(string(y), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}

// objectYAML is sigs.k8s.io/yaml's Marshal of an object (what
// Result.YAML writes), which goes through JSON and back: JSON text parsed
// as YAML, then written as YAML. An object of maps, lists, strings, whole
// numbers, booleans and nulls comes out of that trip as it went in, so
// it is written as YAML at once; one holding anything else (a float,
// whose JSON text YAML may read as an int, invalid UTF-8, which JSON
// replaces) takes the trip. Diffs write every changed object twice:
// the trip was most of a review's diffing.
func objectYAML(obj map[string]any) ([]byte, error) {
	if !yamlPlain(obj, 0) {
		return sigsyaml.Marshal(obj)
	}
	return yaml.Marshal(obj)
}

// yamlPlain tells whether a value is written the same as YAML directly
// and through JSON.
func yamlPlain(v any, depth int) bool {
	if depth > 100 {
		return false
	}
	switch v := v.(type) {
	case nil, bool, int64, int:
		return true
	case string:
		return utf8.ValidString(v)
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !yamlPlain(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !yamlPlain(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// ProvenanceOnly reports whether a changed object differs only in the
// template annotation: what a template's version bump does to every
// object it renders.
func (c ObjectChange) ProvenanceOnly() bool {
	return c.Action == ActionChanged && len(c.Fields) == 1 && c.Fields[0] == render.TemplateField
}
