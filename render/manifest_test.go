package render

import (
	"fmt"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v2"
)

// manifestSeeds are documents whose decoding the JSON round trip shapes:
// numbers of every form, keys that are not strings, null documents,
// anchors and merges, invalid UTF-8, documents that are not objects or
// have no kind.
var manifestSeeds = []string{
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: \"1\"}\n",
	"kind: K\nmetadata: {name: a}\nspec: {i: 1, neg: -3, big: 9223372036854775807, bigger: 9223372036854775808, huge: 18446744073709551616}\n",
	"kind: K\nmetadata: {name: a}\nspec: {f: 1.0, g: 1.5, h: -0.0, e: 1e21, e2: 1.5e21, small: 0.0000001, s2: 0.000001, z: 0, inf: .inf, nan: .NaN}\n",
	"kind: K\nmetadata: {name: a}\nspec: {f: 1e3, g: 12345678901234567890.0, h: 0x1F, o: 0o17, b: 0b101, u: 1_000}\n",
	"kind: K\nmetadata: {name: a}\nspec: {1: a, true: b, 1.5: c, ~: d, 2: [1, 2.0, x, null, yes, on, off]}\n",
	"kind: K\nmetadata: {name: a}\nbase: &b {x: 1, y: [a, b]}\nspec:\n  <<: *b\n  z: *b\n",
	"kind: K\nmetadata: {name: a}\nspec: {t: 2024-01-02, ts: 2024-01-02T03:04:05Z, bin: !!binary aGVsbG8=, str: !!str 12}\n",
	"kind: K\nmetadata: {name: \"\\xff\"}\n",
	"kind: K\nmetadata: {name: a}\nspec: {\"\\xfe\": 1}\n",
	"",
	"---\n",
	"null\n",
	"~\n",
	"# a comment only\n",
	"- a\n- b\n",
	"just a string\n",
	"42\n",
	"metadata: {name: a}\n",
	"kind: \"\"\nmetadata: {name: a}\n",
	"kind: 3\nmetadata: {name: a}\n",
	"kind: [K]\n",
	"kind: K\nmetadata: {name: a}\nspec: {a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
	"kind: K\nmetadata: {name: a\n",
	"kind: K\n\tmetadata: {name: a}\n",
	"kind: K\nmetadata: {name: a}\nspec: |\n  multi\n  line\n",
	"kind: List\napiVersion: v1\nitems: [{kind: ConfigMap, metadata: {name: a}}]\n",
}

// TestDecodeManifestMatchesJSON: decoding a document directly gives what
// the JSON round trip gives, value types included, and the same error.
func TestDecodeManifestMatchesJSON(t *testing.T) {
	for _, doc := range manifestSeeds {
		checkDecodeManifest(t, []byte(doc))
	}
	deep := "kind: K\nmetadata: {name: a}\nspec: "
	for range 150 {
		deep += "["
	}
	for range 150 {
		deep += "]"
	}
	checkDecodeManifest(t, []byte(deep+"\n"))
	// Keys 1 and "1" are one key in JSON, and which value the round trip
	// keeps depends on map order: that is left to it.
	var dup any
	if err := yaml.Unmarshal([]byte("kind: K\nspec: {1: a, \"1\": b}\n"), &dup); err != nil {
		t.Fatal(err)
	}
	if _, ok := plainMap(dup.(map[any]any), 0); ok {
		t.Error("keys 1 and \"1\" converted directly")
	}
	// The usual documents take the direct way (and so are compared
	// above); NaN and an int past int64 take the round trip.
	for i, direct := range []bool{true, false, false, true} {
		var v any
		if err := yaml.Unmarshal([]byte(manifestSeeds[i]), &v); err != nil {
			t.Fatal(err)
		}
		if _, ok := plainMap(v.(map[any]any), 0); ok != direct {
			t.Errorf("%q: direct = %v, want %v", manifestSeeds[i], ok, direct)
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	for _, doc := range manifestSeeds {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkDecodeManifest(t, doc) })
}

// checkDecodeManifest compares the direct decoding of a document with the
// round trip where the direct one is taken; elsewhere decodeManifest is
// the round trip itself (whose result, for keys such as 1 and "1",
// depends on map order).
func checkDecodeManifest(t *testing.T, doc []byte) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err == nil {
		if m, ok := v.(map[any]any); ok {
			if _, direct := plainMap(m, 0); !direct {
				return
			}
		}
	}
	got, gotErr := decodeManifest(doc)
	want, wantErr := decodeManifestJSON(doc)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, want %v", doc, gotErr, wantErr)
	}
	if (got == nil) != (want == nil) {
		t.Fatalf("%q: got %v, want %v", doc, got, want)
	}
	if got != nil && !reflect.DeepEqual(got.Object, want.Object) {
		t.Fatalf("%q:\n got %#v\nwant %#v", doc, got.Object, want.Object)
	}
}
