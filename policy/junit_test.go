package policy

import (
	"encoding/xml"
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
