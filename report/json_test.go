package report

import (
	"encoding/json"
	"testing"
)

func TestJSONFormat(t *testing.T) {
	testFormat(t, "json", func(t *testing.T, out []byte) {
		// The documented shape, as CI integrations read it.
		var doc struct {
			Results []struct {
				Service, Environment, Status string
				Violations                   []struct {
					Policy, Severity, Message, Hint, File string
					Line                                  int
					Excepted                              *bool
					Exception                             map[string]any
				}
				Errors []struct {
					File, Message string
					Line          int
				}
			}
			Summary map[string]int
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"services", "denials", "warnings", "excepted", "errors"} {
			if _, ok := doc.Summary[k]; !ok {
				t.Errorf("summary has no %q", k)
			}
		}
		for _, r := range doc.Results {
			for _, v := range r.Violations {
				if v.Excepted == nil || v.Policy == "" || v.Severity == "" || v.File == "" {
					t.Errorf("incomplete violation %+v", v)
				}
			}
		}
	})
}

func TestJSONKeepsServiceStringsExactly(t *testing.T) {
	// The encoder escapes what a terminal or a CI log would act on, and
	// the document still decodes to the strings as written (bytes that
	// are not UTF-8 become U+FFFD).
	for _, s := range hostileInputs {
		out := checkFormat(t, "json", exceptedReport(s))
		var doc struct {
			Results []struct {
				Violations []struct {
					Message   string
					Exception *struct{ Reason string }
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		v := doc.Results[1].Violations[0]
		if want := string([]rune(s)); v.Exception == nil || v.Exception.Reason != want || v.Message != "denied: "+want {
			t.Errorf("reason %q decodes to %+v", s, v)
		}
	}
}
