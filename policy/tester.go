package policy

import (
	"cmp"
	"context"
	"io/fs"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego unit test (a test_ rule).
type TestResult struct {
	// Name is the package and rule: "data.pave.policies.no_privileged_test.test_denied".
	Name string
	File string
	Line int
	// Fail is set when the test is false or undefined, Err when it
	// could not run (a runtime error or the timeout).
	Fail     bool
	Skip     bool
	Err      error
	Duration time.Duration
	// Output is what the test printed with print().
	Output []byte
}

// Passed reports whether the test ran and held.
func (t *TestResult) Passed() bool { return !t.Fail && !t.Skip && t.Err == nil }

// Test runs the Rego unit tests (test_ rules) of the policies under dir,
// with the same builtins as evaluation and data.pave from opts.Config.
// Each test is bounded by opts.Timeout. A compile error is a
// *CompileError; the results are sorted by file and line.
func Test(ctx context.Context, fsys fs.FS, dir string, opts Options) ([]TestResult, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	modules, err := parseModules(fsys, dir, opts.Config)
	if err != nil {
		return nil, err
	}
	store, err := dataStore(opts.Config)
	if err != nil {
		return nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler().WithEnablePrintStatements(true)).
		SetStore(store).
		CapturePrintOutput(true).
		SetTimeout(opts.Timeout).
		SetModules(modules)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, compileErrorOf(err)
	}
	var out []TestResult
	for r := range ch {
		t := TestResult{Name: r.Package + "." + r.Name, Fail: r.Fail, Skip: r.Skip, Err: r.Error, Duration: r.Duration, Output: r.Output}
		if r.Location != nil {
			t.File, t.Line = r.Location.File, r.Location.Row
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
