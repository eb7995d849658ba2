package render

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
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
	yaml      yamlEncoder
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
	if _, ok := ann[AnnotationRevision]; !ok {
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
	delete(ann, AnnotationRevision)
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

// unifiedDiff is a unified diff of a and b as difflib.GetUnifiedDiffString
// writes it, but difflib's matcher is only given the lines between those a
// and b start and end with in common: two renders of an object are mostly
// the same, and the matcher's cost grows with the lines it is given.
func unifiedDiff(a, b []string, fromFile, toFile string, context int) string {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	q := 0
	for q < len(a)-p && q < len(b)-p && a[len(a)-1-q] == b[len(b)-1-q] {
		q++
	}
	var codes []difflib.OpCode
	if p > 0 {
		codes = append(codes, difflib.OpCode{Tag: 'e', I1: 0, I2: p, J1: 0, J2: p})
	}
	for _, c := range difflib.NewMatcher(a[p:len(a)-q], b[p:len(b)-q]).GetOpCodes() {
		codes = append(codes, difflib.OpCode{Tag: c.Tag, I1: c.I1 + p, I2: c.I2 + p, J1: c.J1 + p, J2: c.J2 + p})
	}
	if q > 0 {
		codes = append(codes, difflib.OpCode{Tag: 'e', I1: len(a) - q, I2: len(a), J1: len(b) - q, J2: len(b)})
	}
	groups := groupOpCodes(codes, context)
	if len(groups) == 0 {
		return ""
	}

	var sb strings.Builder
	sb.WriteString("--- " + fromFile + "\n+++ " + toFile + "\n")
	for _, g := range groups {
		first, last := g[0], g[len(g)-1]
		sb.WriteString("@@ -" + unifiedRange(first.I1, last.I2) + " +" + unifiedRange(first.J1, last.J2) + " @@\n")
		for _, c := range g {
			if c.Tag == 'e' {
				for _, line := range a[c.I1:c.I2] {
					sb.WriteString(" " + line)
				}
				continue
			}
			if c.Tag == 'r' || c.Tag == 'd' {
				for _, line := range a[c.I1:c.I2] {
					sb.WriteString("-" + line)
				}
			}
			if c.Tag == 'r' || c.Tag == 'i' {
				for _, line := range b[c.J1:c.J2] {
					sb.WriteString("+" + line)
				}
			}
		}
	}
	return sb.String()
}

// groupOpCodes is difflib's SequenceMatcher.GetGroupedOpCodes(n) for the
// given opcodes: hunks with up to n lines of context.
func groupOpCodes(codes []difflib.OpCode, n int) [][]difflib.OpCode {
	if len(codes) == 0 {
		return nil
	}
	if c := codes[0]; c.Tag == 'e' {
		codes[0] = difflib.OpCode{Tag: 'e', I1: max(c.I1, c.I2-n), I2: c.I2, J1: max(c.J1, c.J2-n), J2: c.J2}
	}
	if c := codes[len(codes)-1]; c.Tag == 'e' {
		codes[len(codes)-1] = difflib.OpCode{Tag: 'e', I1: c.I1, I2: min(c.I2, c.I1+n), J1: c.J1, J2: min(c.J2, c.J1+n)}
	}
	var groups [][]difflib.OpCode
	var group []difflib.OpCode
	for _, c := range codes {
		i1, i2, j1, j2 := c.I1, c.I2, c.J1, c.J2
		if c.Tag == 'e' && i2-i1 > 2*n {
			group = append(group, difflib.OpCode{Tag: 'e', I1: i1, I2: min(i2, i1+n), J1: j1, J2: min(j2, j1+n)})
			groups = append(groups, group)
			group = nil
			i1, j1 = max(i1, i2-n), max(j1, j2-n)
		}
		group = append(group, difflib.OpCode{Tag: c.Tag, I1: i1, I2: i2, J1: j1, J2: j2})
	}
	if len(group) > 0 && !(len(group) == 1 && group[0].Tag == 'e') {
		groups = append(groups, group)
	}
	return groups
}

// unifiedRange is a hunk's line range: "start,length", "start" for one
// line, and the line before for none.
func unifiedRange(start, stop int) string {
	length := stop - start
	switch length {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	}
	return strconv.Itoa(start+1) + "," + strconv.Itoa(length)
}

// yamlLines is an object's YAML, as Result.YAML writes it, split after
// each line.
func (c *comparer) yamlLines(obj map[string]any) []string {
	if obj == nil {
		return nil
	}
	y, err := c.yaml.encode(obj)
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

// yamlEncoder writes the bytes sigs.k8s.io/yaml.Marshal writes, some
// twenty times faster (a Deployment: 25µs, not 500µs): that function
// encodes to JSON, decodes the JSON with go.yaml.in/yaml/v2 and encodes the
// result again, and with it a comparison cost 1.8ms, not 0.15ms.
//
// The encoder writes the block structure of go.yaml.in/yaml/v2 itself
// (2-space indentation, lists not indented under their key, {} and [] for
// empty ones, its natural order of keys) for the values JSON decodes to.
// A string is written plain when it plainly can be; any other string is
// rendered alone by sigs.k8s.io/yaml and reused where the rendering cannot
// depend on the column it starts at (one line, and no space past column 80
// where the emitter folds lines). An object with anything else (floats, a
// string written on several lines, a long key) is handed to
// sigs.k8s.io/yaml.Marshal whole. TestYAMLEncoderMatchesSigsYAML holds the
// two to the same bytes.
type yamlEncoder struct {
	buf []byte
	// scalars are the renderings of the strings that are not plain.
	scalars map[string]string
}

// errNotSimple stops the fast encoding of an object.
var errNotSimple = errors.New("not simple")

func (e *yamlEncoder) encode(obj map[string]any) ([]byte, error) {
	if y, err := e.fast(obj); err == nil {
		return y, nil
	}
	return sigsyaml.Marshal(obj)
}

// fast encodes obj itself, or fails with errNotSimple.
func (e *yamlEncoder) fast(obj map[string]any) ([]byte, error) {
	e.buf = e.buf[:0]
	if len(obj) == 0 {
		e.buf = append(e.buf, "{}\n"...)
	} else if err := e.mapping(obj, 0, false); err != nil {
		return nil, err
	}
	return slices.Clone(e.buf), nil
}

// mapping writes a non-empty map at indent; inline means its first key
// follows a "- " already written.
func (e *yamlEncoder) mapping(m map[string]any, indent int, inline bool) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Sorted twice so that keys yaml/v2 cannot order (see keyLess) come
	// out in the same order every time.
	slices.Sort(keys)
	slices.SortStableFunc(keys, compareKeys)
	for i, k := range keys {
		if i > 0 || !inline {
			e.indent(indent)
		}
		key, err := e.key(k)
		if err != nil {
			return err
		}
		e.buf = append(e.buf, key...)
		e.buf = append(e.buf, ':')
		switch v := m[k].(type) {
		case map[string]any:
			if len(v) == 0 {
				e.buf = append(e.buf, " {}\n"...)
				continue
			}
			e.buf = append(e.buf, '\n')
			if err := e.mapping(v, indent+2, false); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				e.buf = append(e.buf, " []\n"...)
				continue
			}
			e.buf = append(e.buf, '\n')
			if err := e.sequence(v, indent, false); err != nil {
				return err
			}
		default:
			e.buf = append(e.buf, ' ')
			if err := e.scalar(v, indent+len(key)+2); err != nil {
				return err
			}
		}
	}
	return nil
}

// sequence writes a non-empty list at indent; inline means its first item
// follows a "- " already written.
func (e *yamlEncoder) sequence(l []any, indent int, inline bool) error {
	for i, item := range l {
		if i > 0 || !inline {
			e.indent(indent)
		}
		e.buf = append(e.buf, "- "...)
		switch v := item.(type) {
		case map[string]any:
			if len(v) == 0 {
				e.buf = append(e.buf, "{}\n"...)
				continue
			}
			if err := e.mapping(v, indent+2, true); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				e.buf = append(e.buf, "[]\n"...)
				continue
			}
			if err := e.sequence(v, indent+2, true); err != nil {
				return err
			}
		default:
			if err := e.scalar(v, indent+2); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *yamlEncoder) indent(n int) {
	for range n {
		e.buf = append(e.buf, ' ')
	}
}

// scalar writes a scalar value starting at column, and the line's end.
func (e *yamlEncoder) scalar(v any, column int) error {
	switch v := v.(type) {
	case string:
		var r string
		switch {
		case plainString(v):
			r = v
		case quotedString(v):
			e.buf = append(e.buf, '"')
			e.buf = append(e.buf, v...)
			e.buf = append(e.buf, '"', '\n')
			return nil
		default:
			var err error
			if r, err = e.rendering(v); err != nil {
				return err
			}
		}
		// The emitter folds at a space past column 80.
		if column+len(r) > 80 && strings.Contains(v, " ") {
			return errNotSimple
		}
		e.buf = append(e.buf, r...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case nil:
		e.buf = append(e.buf, "null"...)
	default:
		return errNotSimple
	}
	e.buf = append(e.buf, '\n')
	return nil
}

// key is the rendering of a map key. The emitter does not fold keys, and
// writes one of more than 128 bytes as a complex key.
func (e *yamlEncoder) key(k string) (string, error) {
	switch {
	case len(k) > 128:
		return "", errNotSimple
	case plainString(k):
		return k, nil
	case quotedString(k):
		return `"` + k + `"`, nil
	}
	return e.rendering(k)
}

// rendering is how sigs.k8s.io/yaml writes s alone, when on one line.
func (e *yamlEncoder) rendering(s string) (string, error) {
	if r, ok := e.scalars[s]; ok {
		return r, nil
	}
	if !utf8.ValidString(s) {
		return "", errNotSimple
	}
	y, err := sigsyaml.Marshal(s)
	if err != nil {
		return "", err
	}
	// On one line: the emitter breaks a quoted line at any line break,
	// and indents what follows.
	r, ok := strings.CutSuffix(string(y), "\n")
	if !ok || strings.ContainsAny(r, "\n\r\u0085\u2028\u2029") {
		return "", errNotSimple
	}
	if e.scalars == nil {
		e.scalars = map[string]string{}
	}
	e.scalars[s] = r
	return r, nil
}

// plainString reports whether go.yaml.in/yaml/v2 writes s as it is (in a
// column where it is not folded, see scalar): s holds only letters, digits,
// single spaces and "-._/:=+@,%", ends with neither ':' nor a space, has
// no ':' before a space, and starts with a letter or '/' and does not read
// as a bool or null, or starts with 1-9 and cannot read as a number or a
// timestamp.
func plainString(s string) bool {
	if s == "" {
		return false
	}
	digits := false
	switch c := s[0]; {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '/':
	case '1' <= c && c <= '9':
		digits = true
	default:
		return false
	}
	// Whether s has a byte no number, float or base-60 float has.
	notNumber := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			notNumber = notNumber || c != 'e' && c != 'E'
		case '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '+':
		case c == '/', c == '=', c == '@', c == ',', c == '%':
			notNumber = true
		case c == ':':
			if i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		case c == ' ':
			if i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
			notNumber = true
		default:
			return false
		}
	}
	if digits {
		// Numbers starting with 1-9 are in base 10; timestamps start
		// with YYYY-.
		return notNumber && !(len(s) > 4 && s[4] == '-' && strings.Trim(s[:4], "0123456789") == "")
	}
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL":
		return false
	}
	return true
}

// quotedString reports whether go.yaml.in/yaml/v2 writes s as "s": s is a
// bool, a null or a number of decimal digits, which plain would not read
// as a string.
func quotedString(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL":
		return true
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareKeys orders map keys as go.yaml.in/yaml/v2 does: runs of digits by
// their value, anything else before letters.
func compareKeys(a, b string) int {
	if a == b {
		return 0
	}
	if keyLess(a, b) {
		return -1
	}
	return 1
}

// keyLess is go.yaml.in/yaml/v2's keyList.Less for two strings. It is not
// transitive (a1b < a2 < a10 < a1b): for such keys sigs.k8s.io/yaml writes
// an order that depends on map iteration, the encoder a fixed one.
func keyLess(a, b string) bool {
	if isASCII(a) && isASCII(b) {
		return keyLessSeq([]byte(a), []byte(b))
	}
	return keyLessSeq([]rune(a), []rune(b))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func keyLessSeq[T byte | rune](ar, br []T) bool {
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al := unicode.IsLetter(rune(ar[i]))
		bl := unicode.IsLetter(rune(br[i]))
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(rune(ar[j])); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(rune(ar[ai])); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(rune(br[bi])); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
