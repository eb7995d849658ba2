package catalog

import "testing"

// TestSuggest: a likely typo gets the closest name, case aside; a word
// too far from every name gets none.
func TestSuggest(t *testing.T) {
	names := []string{"image", "imagePullPolicy", "port", "replicas", "environments"}
	for s, want := range map[string]string{
		"imag":        "image",
		"IMAGE":       "image",
		"replcias":    "replicas",
		"enviroments": "environments",
		"pört":        "port",
		"schedule":    "",
		"x":           "",
		"tolerations": "",
	} {
		if got := suggest(s, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", s, got, want)
		}
	}
	if got := suggest("image", nil); got != "" {
		t.Errorf("suggest with no names = %q", got)
	}
}
