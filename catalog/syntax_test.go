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
		{name: "bad indent at the end", size: 1 << 20, tail: "   oops: x\n", line: 1, col: 4, msg: "invalid YAML: " + indentWhy + " (did not find expected key)"},
		{name: "bad indent then more lines", size: 1 << 20, tail: "   oops: x\n" + strings.Repeat("    MORE: y\n", 1000), line: 1, col: 4, msg: "invalid YAML: " + indentWhy + " (did not find expected key)"},
		{name: "stray character", size: 100 << 10, tail: "    LAST: `x`\n", line: 1, col: 11, msg: "invalid YAML: a value cannot start with '`'; put the value in quotes (found character that cannot start any token)"},
		{name: "unclosed quote at the top", size: 1 << 20, head: "apiVersion: 'pave.dev/v1alpha1\n", line: 1, col: 13, msg: "invalid YAML: the quote opened here is never closed (found unexpected end of stream)"},
		{name: "unclosed flow near the top", size: 100 << 10, head: "apiVersion: pave.dev/v1alpha1\nkind: [Service\n", line: 2, col: 8, msg: "invalid YAML: a [ list is not closed with ], or its items are not separated by commas (did not find expected ',' or ']')"},
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
		want := exhaustiveLocate(data, parserText(data))
		if perr.Line != want || perr.Column < 1 {
			t.Errorf("located at %d:%d, want line %d (%s) in\n%s", perr.Line, perr.Column, want, perr.Message, data)
		}
	}
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// parserText is yaml.v3's message for the first syntax error in data,
// without its "yaml: line N: " prefix.
func parserText(data []byte) string {
	err := firstSyntaxError(bytes.NewReader(data))
	if err == nil {
		return ""
	}
	_, text := parserMessage(err)
	return text
}

const indentWhy = "this line is indented differently from the lines above it; the keys of a mapping, and the items of a list, line up with the same number of spaces"

// TestSyntaxErrorsExplainThemselves: the commonest YAML syntax errors say
// in plain words what is wrong, at the line and column to fix; they used
// to give only the parser's words ("found character that cannot start any
// token" for a tab).
func TestSyntaxErrorsExplainThemselves(t *testing.T) {
	const head = "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: checkout\n  team: payments\nspec:\n"
	for _, tc := range []struct {
		name, tail string
		want       string // "LINE:COL message"
	}{
		{"tab indenting a key", "  template: web-service\n\timage: x\n",
			"8:1 invalid YAML: YAML does not allow tabs; indent with spaces (found a tab character that violates indentation)"},
		{"tab at the start of the block", "\ttemplate: web-service\n  image: x\n",
			"7:1 invalid YAML: YAML does not allow tabs; indent with spaces (found character that cannot start any token)"},
		{"tab after spaces", "  env:\n  \tA: b\n",
			"8:3 invalid YAML: YAML does not allow tabs; indent with spaces (found character that cannot start any token)"},
		{"a second colon", "  image: x\n  command: echo a: b\n",
			`8:18 invalid YAML: this line has a second ": "; quote a value that contains ": ", as in key: "a: b" (mapping values are not allowed in this context)`},
		{"key indented too far", "  image: x\n   port: 8080\n",
			"8:8 invalid YAML: this key is indented more than the keys above it, or the line before it has no ':'; the keys of a mapping line up with the same number of spaces (mapping values are not allowed in this context)"},
		{"key indented too little", "  image: x\n port: 8080\n",
			"8:2 invalid YAML: " + indentWhy + " (did not find expected key)"},
		{"list item out of line", "  image: x\n  args:\n    - a\n   - b\n",
			"10:4 invalid YAML: a list item where a key was expected; put a list under its key, its items indented the same (did not find expected key)"},
		{"text after a quote", "  image: \"a\" b\n",
			"7:14 invalid YAML: text after a closing quote; put the whole value in quotes (did not find expected key)"},
		{"no colon", "  image: x\n  port 8080\n",
			"8:3 invalid YAML: a key needs ':' and a space before its value, as in key: value (could not find expected ':')"},
		{"no space after the colon", "  image: x\n  port:8080\n",
			"8:3 invalid YAML: a key needs ':' and a space before its value, as in key: value (could not find expected ':')"},
		{"unclosed quote", "  image: \"x\n  port: 8080\n",
			"7:10 invalid YAML: the quote opened here is never closed (found unexpected end of stream)"},
		{"unclosed mapping", "  image: {a: b\n  port: 8080\n",
			"7:14 invalid YAML: a { mapping is not closed with }, or its entries are not separated by commas (did not find expected ',' or '}')"},
		{"list item on the key's line", "  image: x\n  args: - a\n",
			`8:9 invalid YAML: a list item cannot start on the line of its key; put "- item" on the next line, indented, or write [item] (block sequence entries are not allowed in this context)`},
		{"value starting with @", "  image: @x\n",
			"7:10 invalid YAML: a value cannot start with '@'; put the value in quotes (found character that cannot start any token)"},
		{"value starting with *", "  image: *\n",
			"7:10 invalid YAML: '*' starts a YAML anchor or alias; put a value that starts with it in quotes (did not find expected alphabetic or numeric character)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := parseDocument(checkoutFile, []byte(head+tc.tail))
			if perr == nil {
				t.Fatal("no error")
			}
			if got := fmt.Sprintf("%d:%d %s", perr.Line, perr.Column, perr.Message); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
