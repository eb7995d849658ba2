package report

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestJUnitFormat(t *testing.T) {
	testFormat(t, "junit", func(t *testing.T, out []byte) {
		var doc junitSuites
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("not XML: %v", err)
		}
	})
}

func TestJUnitKeepsServiceStringsValid(t *testing.T) {
	// Whatever a reason holds, the report is XML, a terminal or a CI log
	// only shows it, and it decodes to the reason as written — but for
	// the characters XML cannot hold, which become U+FFFD.
	for _, s := range hostileInputs {
		out := checkFormat(t, "junit", exceptedReport(s))
		var doc junitSuites
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("reason %q: not XML: %v", s, err)
		}
		want := strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				return '\uFFFD'
			}
			return r
		}, string([]rune(s)))
		var skipped *junitSkipped
		for _, suite := range doc.Suites {
			for _, c := range suite.Cases {
				if suite.Name == "data/report-builder (prod)" && c.Name == "readonly-root-filesystem" {
					skipped = c.Skipped
				}
			}
		}
		if skipped == nil || skipped.Message != "excepted: "+want {
			t.Errorf("reason %q: skipped %+v, want message %q", s, skipped, "excepted: "+want)
		}
	}
}
