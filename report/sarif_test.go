package report

import (
	"bytes"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchemaFile is the OASIS SARIF 2.1.0 schema (errata 01), vendored:
// tests do not reach the network.
const sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"

func compileSARIFSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// validateSARIF fails the test when out is not a valid SARIF 2.1.0 log.
func validateSARIF(t testing.TB, sch *jsonschema.Schema, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("not valid SARIF 2.1.0: %v", err)
	}
}

func TestSARIFFormat(t *testing.T) {
	sch := compileSARIFSchema(t)
	testFormat(t, "sarif", func(t *testing.T, out []byte) { validateSARIF(t, sch, out) })
}

func TestSARIFSchemaRejectsInvalidLogs(t *testing.T) {
	// The schema is live: a log without runs, or with a result at line 0,
	// does not validate.
	sch := compileSARIFSchema(t)
	for _, doc := range []string{
		`{"version": "2.1.0"}`,
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "pave"}}, "results": [{"message": {"text": "x"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": {"startLine": 0}}}]}]}]}`,
	} {
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err := sch.Validate(inst); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

func TestSARIFOfHostileStringsValidates(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, s := range hostileInputs {
		for _, r := range []*Report{hostileReport(s), hostileReview(s)} {
			validateSARIF(t, sch, []byte(checkFormat(t, "sarif", r)))
		}
	}
	// A message cannot hold a SARIF embedded link.
	if got := sarifText("see [click](https://evil) at spec.patches[0]"); got != `see [click\](https://evil) at spec.patches[0]` {
		t.Errorf("sarifText = %q", got)
	}
}
