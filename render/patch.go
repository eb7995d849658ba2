package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
)

// applyPatches runs the service's patches over the rendered objects with
// kustomize, one patch at a time so that a failure names its patch. A patch
// whose target matches no rendered object is an error.
func applyPatches(fsys fs.FS, svc *catalog.Service, env, namespace string, patches []catalog.Patch, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []*Error) {
	// Patches name objects without a namespace, as service owners see them
	// in their chart; the namespace is put back afterwards.
	for _, o := range objs {
		if o.GetNamespace() == namespace {
			o.SetNamespace("")
		}
	}
	for i, p := range patches {
		// The merged list is the base patches, then the environment's.
		fieldPath := fmt.Sprintf("spec.patches[%d]", i)
		if n := len(svc.Spec.Patches); i >= n {
			fieldPath = fmt.Sprintf("spec.environments.%s.patches[%d]", env, i-n)
		}
		fail := func(format string, args ...any) []*Error {
			e := &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position(fieldPath), Message: fmt.Sprintf(format, args...)}
			return []*Error{e}
		}
		name := fieldPath
		content := []byte(p.Patch)
		if p.Path != "" {
			file := path.Join(svc.Dir(), p.Path)
			name = file
			data, err := catalog.ReadFile(fsys, file)
			if err != nil {
				return nil, fail("patch %s: %v", file, err)
			}
			content = data
		}
		out, err := kustomizePatch(objs, content, p.Target)
		if err != nil {
			return nil, fail("patch %s: %v", name, err)
		}
		if err := sameObjects(objs, out, namespace); err != nil {
			return nil, fail("patch %s: %v", name, err)
		}
		objs = out
	}
	return objs, nil
}

// identity is what a patch may not change about an object.
type identity struct{ apiVersion, kind, name, namespace string }

func identityOf(o *unstructured.Unstructured, namespace string) identity {
	ns := o.GetNamespace()
	if ns == namespace {
		ns = "" // patches see the service's namespace as none
	}
	return identity{o.GetAPIVersion(), o.GetKind(), o.GetName(), ns}
}

func (id identity) String() string {
	return fmt.Sprintf("%s %q", id.kind, id.name)
}

// sameObjects checks that a patch kept every object it was given, in
// order, with its apiVersion, kind, name and namespace: a patch tunes what
// the template renders, it cannot make a ConfigMap a ClusterRole, take
// another object's name, or add or delete objects.
func sameObjects(before, after []*unstructured.Unstructured, namespace string) error {
	const changeRule = "patches may modify objects but not change their apiVersion, kind, name or namespace"
	if len(before) == len(after) {
		for i := range before {
			a, b := identityOf(before[i], namespace), identityOf(after[i], namespace)
			if a == b {
				continue
			}
			var changes []string
			if a.kind != b.kind {
				changes = append(changes, fmt.Sprintf("changes the kind of %s to %s", a, b.kind))
			}
			if a.apiVersion != b.apiVersion {
				changes = append(changes, fmt.Sprintf("changes the apiVersion of %s from %s to %s", a, a.apiVersion, b.apiVersion))
			}
			if a.name != b.name {
				changes = append(changes, fmt.Sprintf("renames %s to %q", a, b.name))
			}
			if a.namespace != b.namespace {
				to := fmt.Sprintf("namespace %q", b.namespace)
				if b.namespace == "" {
					to = fmt.Sprintf("the service's namespace %q", namespace)
				}
				changes = append(changes, fmt.Sprintf("moves %s to %s", a, to))
			}
			return fmt.Errorf("%s; %s", strings.Join(changes, ", "), changeRule)
		}
		return nil
	}
	count := map[identity]int{}
	for _, o := range after {
		count[identityOf(o, namespace)]++
	}
	for _, o := range before {
		id := identityOf(o, namespace)
		if count[id] == 0 {
			return fmt.Errorf("deletes %s; patches may modify objects but not add or delete them", id)
		}
		count[id]--
	}
	for _, o := range after {
		if id := identityOf(o, namespace); count[id] > 0 {
			return fmt.Errorf("adds %s; patches may modify objects but not add or delete them", id)
		}
	}
	return fmt.Errorf("changes the objects it was given; %s", changeRule)
}

var jsonPatchStart = regexp.MustCompile(`^\s*(-|\[)`)

func kustomizePatch(objs []*unstructured.Unstructured, patch []byte, target *catalog.PatchTarget) (_ []*unstructured.Unstructured, err error) {
	// kustomize panics on some patches (one that renames an object onto
	// another's name); a patch is the developer's input, never a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot be applied: %v", r)
		}
	}()
	if len(bytes.TrimSpace(patch)) == 0 {
		return nil, fmt.Errorf("is empty")
	}
	isJSON6902 := jsonPatchStart.Match(patch)
	if isJSON6902 && target == nil {
		return nil, fmt.Errorf("is a JSON 6902 patch (a list of operations) and needs a target: {kind: ..., name: ...}")
	}
	var sel *kusttypes.Selector
	if target != nil {
		sel = &kusttypes.Selector{ResId: resIDFor(target)}
		if n := countMatches(objs, target); n == 0 {
			return nil, fmt.Errorf("target %s matches no rendered object", describeTarget(target))
		}
	} else if err := checkPatchTarget(objs, patch); err != nil {
		return nil, err
	}

	var res bytes.Buffer
	for _, o := range objs {
		data, err := sigsyaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		res.WriteString("---\n")
		res.Write(data)
	}
	k := kusttypes.Kustomization{
		TypeMeta:  kusttypes.TypeMeta{APIVersion: kusttypes.KustomizationVersion, Kind: kusttypes.KustomizationKind},
		Resources: []string{"resources.yaml"},
		Patches:   []kusttypes.Patch{{Path: "patch.yaml", Target: sel}},
	}
	kdata, err := sigsyaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	fSys := filesys.MakeFsInMemory()
	for name, data := range map[string][]byte{"/app/kustomization.yaml": kdata, "/app/resources.yaml": res.Bytes(), "/app/patch.yaml": patch} {
		if err := fSys.WriteFile(name, data); err != nil {
			return nil, err
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, "/app")
	if err != nil {
		return nil, cleanKustomizeError(err)
	}
	out := make([]*unstructured.Unstructured, 0, m.Size())
	for _, r := range m.Resources() {
		// Through JSON, so the objects hold only JSON types (kustomize
		// gives ints, which unstructured's DeepCopy refuses).
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func resIDFor(t *catalog.PatchTarget) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind}, Name: t.Name}
}

func describeTarget(t *catalog.PatchTarget) string {
	var parts []string
	for _, kv := range [][2]string{{"group", t.Group}, {"version", t.Version}, {"kind", t.Kind}, {"name", t.Name}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// countMatches counts the objects a target selects. Like kustomize, names
// and kinds are regular expressions anchored at both ends.
func countMatches(objs []*unstructured.Unstructured, t *catalog.PatchTarget) int {
	match := func(pattern, value string) bool {
		if pattern == "" {
			return true
		}
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return pattern == value
		}
		return re.MatchString(value)
	}
	n := 0
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if match(t.Group, gvk.Group) && match(t.Version, gvk.Version) && match(t.Kind, gvk.Kind) && match(t.Name, o.GetName()) {
			n++
		}
	}
	return n
}

// checkPatchTarget finds the object a strategic-merge patch names.
func checkPatchTarget(objs []*unstructured.Unstructured, patch []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(patch, &head); err != nil {
		return fmt.Errorf("is not valid YAML: %v", err)
	}
	if head.Kind == "" || head.Metadata.Name == "" {
		return fmt.Errorf("must name the object it patches (kind and metadata.name), or set a target")
	}
	for _, o := range objs {
		if o.GetKind() == head.Kind && o.GetName() == head.Metadata.Name && (head.APIVersion == "" || head.APIVersion == o.GetAPIVersion()) {
			return nil
		}
	}
	return fmt.Errorf("targets %s %q, which the template does not render", head.Kind, head.Metadata.Name)
}

func cleanKustomizeError(err error) error {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "/app/", "")
	return fmt.Errorf("%s", msg)
}
