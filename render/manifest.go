package render

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// decodeManifest decodes one rendered YAML document into an object, nil
// for an empty (null) document. What it gives is what sigs.k8s.io/yaml's
// YAMLToJSON then Unstructured.UnmarshalJSON give (decodeManifestJSON),
// without the JSON in between: the values YAML decodes to are converted
// as that round trip would convert them (keys to strings, whole numbers
// to int64, other numbers to float64). Anything the round trip would
// change or refuse in a way the conversion does not copy (a key of
// another type, invalid UTF-8, NaN, deep nesting, a document that is not
// an object with a kind) takes the round trip, for its result and its
// error messages. Rendering decodes every document of every service in
// every environment: the round trip was a third of it.
func decodeManifest(doc []byte) (*unstructured.Unstructured, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err == nil {
		if v == nil {
			return nil, nil
		}
		if m, ok := v.(map[any]any); ok {
			if obj, ok := plainMap(m, 0); ok {
				if u := (&unstructured.Unstructured{Object: obj}); u.GetKind() != "" {
					return u, nil
				}
			}
		}
	}
	return decodeManifestJSON(doc)
}

// decodeManifestJSON decodes a YAML document through JSON; nil for null.
func decodeManifestJSON(doc []byte) (*unstructured.Unstructured, error) {
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(js); err != nil {
		return nil, err
	}
	return o, nil
}

// maxPlainDepth bounds the nesting plainMap converts; deeper documents
// take the JSON round trip (which has its own bound).
const maxPlainDepth = 100

// plainMap converts a decoded YAML mapping as the JSON round trip would;
// false when it cannot tell.
func plainMap(m map[any]any, depth int) (map[string]any, bool) {
	if depth > maxPlainDepth {
		return nil, false
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		key, ok := plainKey(k)
		if !ok {
			return nil, false
		}
		if _, dup := out[key]; dup {
			// 1 and "1": which one JSON keeps depends on map order.
			return nil, false
		}
		pv, ok := plainValue(v, depth+1)
		if !ok {
			return nil, false
		}
		out[key] = pv
	}
	return out, true
}

// plainKey is a mapping key as sigs.k8s.io/yaml writes it in JSON.
func plainKey(k any) (string, bool) {
	var s string
	switch k := k.(type) {
	case string:
		s = k
	case int:
		s = strconv.Itoa(k)
	case int64:
		s = strconv.FormatInt(k, 10)
	case bool:
		s = strconv.FormatBool(k)
	default:
		// Floats and anything else: rare enough to leave to the round trip.
		return "", false
	}
	return s, utf8.ValidString(s)
}

// plainValue converts a decoded YAML value as the JSON round trip would.
func plainValue(v any, depth int) (any, bool) {
	switch v := v.(type) {
	case nil, bool:
		return v, true
	case string:
		return v, utf8.ValidString(v)
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
		return nil, false
	case float64:
		return plainFloat(v)
	case map[any]any:
		m, ok := plainMap(v, depth)
		return m, ok
	case []any:
		if depth > maxPlainDepth {
			return nil, false
		}
		out := make([]any, len(v))
		for i, e := range v {
			pe, ok := plainValue(e, depth+1)
			if !ok {
				return nil, false
			}
			out[i] = pe
		}
		return out, true
	}
	return nil, false
}

// plainFloat is a float after JSON: encoding/json writes it without an
// exponent between 1e-6 and 1e21, and the decoder keeps a number written
// without a point or an exponent as an int64 when it fits.
func plainFloat(f float64) (any, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return f, true // exponent form: a float64
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
	}
	return f, true
}
