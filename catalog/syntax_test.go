package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// bigService is a service.yaml of about size bytes: a long env block, then
// tail.
func bigService(size int, tail string) (data []byte, lines int) {
	var b bytes.Buffer
	b.WriteString("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: checkout\n  team: payments\nspec:\n  template: web-service\n  image: registry.example.com/payments/checkout:1.0.0\n  env:\n")
	for i := 0; b.Len() < size-len(tail); i++ {
		fmt.Fprintf(&b, "    VARIABLE_%06d: a value of about forty characters, é\n", i)
	}
	lines = bytes.Count(b.Bytes(), []byte("\n"))
	b.WriteString(tail)
	return b.Bytes(), lines
}

// TestSyntaxErrorInLargeFile: a syntax error in a 1 MB service.yaml is
// located at its line and column, wherever it is (the locator used to give
// up past 2000 lines and report where the enclosing block started).
func TestSyntaxErrorInLargeFile(t *testing.T) {
	for _, tc := range []struct {
		name, tail, head string
		size             int
		line, col        int // relative to the tail's first line when head is ""
		msg              string
	}{
		{name: "bad indent at the end", size: 1 << 20, tail: "   oops: x\n", line: 1, col: 4, msg: "invalid YAML: did not find expected key"},
		{name: "bad indent then more lines", size: 1 << 20, tail: "   oops: x\n" + strings.Repeat("    MORE: y\n", 1000), line: 1, col: 4, msg: "invalid YAML: did not find expected key"},
		{name: "stray character", size: 100 << 10, tail: "    LAST: `x`\n", line: 1, col: 11, msg: "invalid YAML: found character that cannot start any token"},
		{name: "unclosed quote at the top", size: 1 << 20, head: "apiVersion: 'pave.dev/v1alpha1\n", line: 1, col: 13, msg: "invalid YAML: found unexpected end of stream"},
		{name: "unclosed flow near the top", size: 100 << 10, head: "apiVersion: pave.dev/v1alpha1\nkind: [Service\n", line: 2, col: 8, msg: "invalid YAML: did not find expected ',' or ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, lines := bigService(tc.size-200, tc.tail)
			line := lines + tc.line
			if tc.head != "" {
				data = append([]byte(tc.head), data[bytes.IndexByte(data, '\n')+1:]...)
				line = tc.line
			}
			_, errs := ParseService(checkoutFile, data, nil, nil)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			got := errs[0]
			if got.Line != line || got.Column != tc.col || got.Message != tc.msg {
				t.Errorf("got %d:%d %s\nwant %d:%d %s", got.Line, got.Column, got.Message, line, tc.col, tc.msg)
			}
		})
	}
}

// BenchmarkSyntaxErrorLocation locates a syntax error at the end of a
// 100 KB and a 1 MB service.yaml: the time grows with the size (about ten
// times), not with its square (it took 30 s at 1 MB).
func BenchmarkSyntaxErrorLocation(b *testing.B) {
	for _, size := range []int{100 << 10, 1 << 20} {
		data, _ := bigService(size-200, "   oops: x\n")
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, errs := ParseService(checkoutFile, data, nil, nil); len(errs) != 1 || errs[0].Column != 4 {
					b.Fatal(errs)
				}
			}
		})
	}
}

// exhaustiveLocate is the definition the locator implements, computed the
// slow way: the first line such that the file up to its end already fails
// with the same error.
func exhaustiveLocate(data []byte, text string) int {
	end := 0
	for k, l := range bytes.SplitAfter(data, []byte("\n")) {
		end += len(l)
		dec := yaml.NewDecoder(bytes.NewReader(data[:end]))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) && strings.HasSuffix(err.Error(), text) {
				return k + 1
			}
			break
		}
	}
	return 0
}

// TestSyntaxErrorLocatorAgrees breaks the example services at random and
// checks that the locator finds the line the exhaustive search finds.
func TestSyntaxErrorLocatorAgrees(t *testing.T) {
	files, _ := filepath.Glob("../catalog-repo-example/services/*/*/service.yaml")
	files = append(files, "testdata/catalog/pave.yaml")
	rng := rand.New(rand.NewSource(17))
	junk := []string{" ", "  ", ":", "- ", `"`, "'", "[", "{", "}", "]", "\t", "\n", "#", "&a", "*a", "|", ">", ",", "?", "@", "`", "%", "!x", "\n  ", "\n "}
	broken := 0
	for broken < 300 {
		data := mustRead(t, files[rng.Intn(len(files))])
		for range 1 + rng.Intn(2) {
			i := rng.Intn(len(data))
			j := min(len(data), i+rng.Intn(3))
			data = slicesConcat(data[:i:i], []byte(junk[rng.Intn(len(junk))]), data[j:])
		}
		_, perr := parseDocument("f", data)
		if perr == nil || !strings.HasPrefix(perr.Message, "invalid YAML: ") {
			continue
		}
		broken++
		want := exhaustiveLocate(data, strings.TrimPrefix(perr.Message, "invalid YAML: "))
		if perr.Line != want || perr.Column < 1 {
			t.Errorf("located at %d:%d, want line %d (%s) in\n%s", perr.Line, perr.Column, want, perr.Message, data)
		}
	}
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
