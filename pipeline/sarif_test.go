package pipeline_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/report"
)

// sarifSchemaFile is the OASIS SARIF 2.1.0 schema (errata 01), vendored:
// tests do not reach the network.
const sarifSchemaFile = "../report/testdata/sarif-schema-2.1.0.json"

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

func TestSARIFOfExampleCatalogValidates(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, tc := range append([]struct {
		name, file, content, policy string
		line                        int
	}{{name: "example"}}, acceptanceCases(t)...) {
		t.Run(tc.name, func(t *testing.T) {
			var files map[string]string
			if tc.file != "" {
				files = map[string]string{tc.file: tc.content}
			}
			rep := checkCatalog(t, exampleWith(t, files), pipeline.Options{})
			rep.RelocateFiles("/abs/catalog dir")
			var buf bytes.Buffer
			if err := (report.SARIF{}).Format(&buf, rep); err != nil {
				t.Fatal(err)
			}
			validateSARIF(t, sch, buf.Bytes())
		})
	}
}
