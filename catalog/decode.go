package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest catalog YAML file pave reads. A service.yaml is
// about fifteen lines; anything near this size is a mistake or an attack.
const MaxFileSize = 1 << 20

// nodeDecoder is implemented by field types that decode themselves from a
// YAML node (dates, environment values).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// decoder turns a YAML node tree into Go values strictly: unknown fields,
// wrong types, duplicate keys and aliases are errors located at their line
// and column. It never stops at the first error, and it records where every
// field path was written so later checks can point at it.
type decoder struct {
	file string
	errs ErrorList
	// pos maps a field path ("spec.env.LOG_LEVEL") to where its value is.
	pos map[string]Position
	// bad holds the paths whose value failed to decode, so that later
	// checks do not report the same field twice.
	bad map[string]bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: map[string]Position{}, bad: map[string]bool{}}
}

func (d *decoder) errorf(p Position, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Position: p, Message: fmt.Sprintf(format, args...)})
}

func nodePos(n *yaml.Node) Position {
	if n == nil {
		return Position{}
	}
	return Position{Line: n.Line, Column: n.Column}
}

// fail reports an error on the value at path and marks the path as bad.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.bad[path] = true
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.errorf(nodePos(n), "%s", msg)
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument checks a file's bytes and parses its single YAML document.
func parseDocument(file string, data []byte) (*yaml.Node, *Error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Message: fmt.Sprintf("file is %d bytes, over the %d-byte limit", len(data), MaxFileSize)}
	}
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		p := offsetPosition(data, off)
		return nil, &Error{File: file, Position: p, Message: fmt.Sprintf("file is not valid UTF-8 (byte 0x%02x)", data[off])}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		p := offsetPosition(data, bytes.IndexByte(data, 0))
		return nil, &Error{File: file, Position: p, Message: "file contains a NUL byte"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Message: "file is empty"}
		}
		return nil, yamlSyntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlSyntaxError(file, data, err)
	default:
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, &Error{File: file, Position: Position{Line: line, Column: 1}, Message: "more than one YAML document; this file must hold exactly one"}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return nil, &Error{File: file, Message: "file is empty"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Position: nodePos(root), Message: fmt.Sprintf("expected a mapping at the top of the file, got %s", describe(root))}
	}
	return root, nil
}

// parserMessage splits a yaml.v3 error into the line it names (0 when it
// names none) and its text without the "yaml: line N: " prefix.
func parserMessage(err error) (line int, text string) {
	text = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		text = m[2]
	}
	return line, text
}

func yamlSyntaxError(file string, data []byte, err error) *Error {
	var pos Position
	var text string
	pos.Line, text = parserMessage(err)
	if p := locateSyntaxError(data, text); p.Line > 0 {
		pos = p
	}
	msg := "invalid YAML: " + text
	if why, col := explainSyntaxError(data, pos, text); why != "" {
		msg = "invalid YAML: " + why + " (" + text + ")"
		if col > 0 {
			pos.Column = col
		}
	}
	return &Error{File: file, Position: pos, Message: msg}
}

// explainSyntaxError says in plain words what the commonest YAML syntax
// errors mean, from the parser's text and the character at pos; it returns
// "" for the others. col, when not 0, is a better column for the error
// (the tab the line is indented with).
func explainSyntaxError(data []byte, pos Position, text string) (why string, col int) {
	var line []rune
	if pos.Line > 0 {
		lines := bytes.Split(data, []byte("\n"))
		if pos.Line <= len(lines) {
			line = []rune(string(lines[pos.Line-1]))
		}
	}
	at := rune(0) // the character the error is at
	if pos.Column > 0 && pos.Column <= len(line) {
		at = line[pos.Column-1]
	}
	before := ""
	if pos.Column > 0 && pos.Column-1 <= len(line) {
		before = string(line[:pos.Column-1])
	}
	indent := len(line) - len(strings.TrimLeft(string(line), " \t"))
	switch {
	case strings.Contains(text, "tab character") || text == "found character that cannot start any token" && at == '\t':
		if i := strings.IndexByte(string(line[:indent]), '\t'); i >= 0 {
			col = i + 1
		}
		return "YAML does not allow tabs; indent with spaces", col
	case text == "found character that cannot start any token" && at > ' ':
		return fmt.Sprintf("a value cannot start with %q; put the value in quotes", at), 0
	case text == "mapping values are not allowed in this context":
		if strings.Contains(before, ": ") {
			return `this line has a second ": "; quote a value that contains ": ", as in key: "a: b"`, 0
		}
		return "this key is indented more than the keys above it, or the line before it has no ':'; the keys of a mapping line up with the same number of spaces", 0
	case text == "did not find expected key" && strings.TrimSpace(before) != "" && strings.ContainsAny(before, `"'`):
		return "text after a closing quote; put the whole value in quotes", 0
	case text == "did not find expected key" && at == '-':
		return "a list item where a key was expected; put a list under its key, its items indented the same", 0
	case text == "did not find expected key" || text == "did not find expected '-' indicator":
		return "this line is indented differently from the lines above it; the keys of a mapping, and the items of a list, line up with the same number of spaces", 0
	case text == "could not find expected ':'":
		return "a key needs ':' and a space before its value, as in key: value", 0
	case text == "found unexpected end of stream" && (at == '"' || at == '\''):
		return "the quote opened here is never closed", 0
	case text == "did not find expected ',' or ']'":
		return "a [ list is not closed with ], or its items are not separated by commas", 0
	case text == "did not find expected ',' or '}'":
		return "a { mapping is not closed with }, or its entries are not separated by commas", 0
	case text == "block sequence entries are not allowed in this context":
		return "a list item cannot start on the line of its key; put \"- item\" on the next line, indented, or write [item]", 0
	case text == "did not find expected alphabetic or numeric character" && (at == '&' || at == '*'):
		return fmt.Sprintf("%q starts a YAML anchor or alias; put a value that starts with it in quotes", at), 0
	}
	return "", 0
}

// locateBudget bounds the work of locating a syntax error, in parses of
// the whole file, so that it stays linear in the file's size whatever its
// shape; when it runs out, the error is put where the search got to, at
// or after it.
const locateBudget = 8

// locateSyntaxError finds where a YAML syntax error is. The parser reports
// the line where the enclosing block started, or where it gave up, rather
// than where the text broke; the place it broke is the shortest prefix of
// the file that already fails the same way. It is found in a few parses of
// the file: one, fed a byte at a time, tells how far the parser read
// before failing (every longer prefix fails the same way), and the text
// most often broke right before there; the failing line is searched for
// from there (firstFailing), then its column the same way.
func locateSyntaxError(data []byte, text string) Position {
	budget := locateBudget * len(data) // bytes to parse
	fails := func(n int) bool {
		budget -= n
		return failsWith(data[:n], text)
	}
	read := readBeforeFailing(data)
	if read == 0 {
		return Position{}
	}
	// ends[k] is the offset just past line k+1 (its newline included).
	var ends []int
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			off = len(data)
		} else {
			off += i + 1
		}
		ends = append(ends, off)
	}
	last, _ := slices.BinarySearch(ends, read)
	k := firstFailing(0, last, &budget, func(k int) bool { return fails(ends[k]) })
	start := 0
	if k > 0 {
		start = ends[k-1]
	}
	// runeEnds[j] is the offset just past the line's character j+1.
	var runeEnds []int
	for off := start; off < ends[k]; {
		_, size := utf8.DecodeRune(data[off:])
		off += size
		runeEnds = append(runeEnds, off)
	}
	col := len(runeEnds) - 1
	if budget > 0 {
		budget -= ends[k]
		readK := readBeforeFailing(data[:ends[k]])
		hint, _ := slices.BinarySearch(runeEnds, readK)
		hint = min(hint, len(runeEnds)-1)
		col = firstFailing(0, hint, &budget, func(j int) bool { return fails(runeEnds[j]) })
	}
	return Position{Line: k + 1, Column: col + 1}
}

// firstFailing returns the smallest i in [lo, hi] for which fails holds,
// given that it holds for hi and for every index after the first one. The
// answer is most often right before hi: a few probes backwards from hi in
// doubling steps look there; if the failures go on, the answer may be far
// (something left open): probes forwards from lo in doubling steps look
// for it there. A bisection finishes. The probes stop when fails has spent
// the budget; the smallest index known to fail is then returned.
func firstFailing(lo, hi int, budget *int, fails func(int) bool) int {
	good, bad := hi, lo-1
	probe := fails
	for step := 1; step <= 4 && good > lo && *budget > 0; step *= 2 {
		i := max(good-step, lo)
		if !probe(i) {
			bad = i
			break
		}
		good = i
	}
	if bad < lo {
		for step := 1; bad+1 < good && *budget > 0; step *= 2 {
			i := min(bad+step, good)
			if probe(i) {
				good = i
				break
			}
			bad = i
		}
	}
	for good-bad > 1 && *budget > 0 {
		mid := bad + (good-bad)/2
		if probe(mid) {
			good = mid
		} else {
			bad = mid
		}
	}
	return good
}

// failsWith reports whether parsing data fails with the error text.
func failsWith(data []byte, text string) bool {
	err := firstSyntaxError(bytes.NewReader(data))
	return err != nil && strings.HasSuffix(err.Error(), text)
}

// firstSyntaxError reads every YAML document of r and returns the
// parser's first error, or nil when all of them parse.
func firstSyntaxError(r io.Reader) error {
	dec := yaml.NewDecoder(r)
	for {
		var n yaml.Node
		switch err := dec.Decode(&n); {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// readBeforeFailing returns how many bytes of data the YAML parser reads
// before it fails, or 0 if it does not fail. The parser asks for input as
// it needs it, so it is fed one byte at a time: it reads nothing past the
// point where it fails but the few characters it looks ahead.
func readBeforeFailing(data []byte) int {
	r := &byteReader{data: data}
	if firstSyntaxError(r) == nil {
		return 0
	}
	return r.off
}

// byteReader hands out its data one byte per Read.
type byteReader struct {
	data []byte
	off  int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[r.off]
	r.off++
	return 1, nil
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

func offsetPosition(data []byte, off int) Position {
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return Position{Line: line, Column: col}
}

// describe names the type of a YAML node for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("a string (%q)", truncate(n.Value, 40))
	case "!!int":
		return "an integer (" + truncate(n.Value, 20) + ")"
	case "!!float":
		return "a number (" + truncate(n.Value, 20) + ")"
	case "!!bool":
		return "a boolean (" + n.Value + ")"
	case "!!null":
		return "nothing (null)"
	case "!!timestamp":
		return "a date (" + n.Value + ")"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// decode fills v from n. v must be settable.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	d.pos[path] = nodePos(n)
	if n.Kind == yaml.AliasNode {
		d.fail(n, path, "YAML aliases are not supported; write the value out")
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		elem := reflect.New(v.Type().Elem())
		d.decode(n, path, elem.Elem())
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.fail(n, path, "expected an integer, got %s", describe(n))
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil || int64(int32(i)) != i {
			d.fail(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.fail(n, path, "expected true or false, got %s", describe(n))
			return
		}
		var b bool
		_ = n.Decode(&b)
		v.SetBool(b)
	case reflect.Interface:
		if val, ok := d.decodeAny(n, path); ok {
			if val != nil {
				v.Set(reflect.ValueOf(val))
			}
		}
	default:
		panic(fmt.Sprintf("catalog: cannot decode into %s", v.Type()))
	}
}

// mappingPairs walks a mapping's key/value pairs, reporting non-string keys,
// merge keys and duplicate keys, and calls fn for each good pair.
func (d *decoder) mappingPairs(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return false
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(nodePos(k), "%s: merge keys and complex keys are not supported", orTop(path))
			continue
		}
		if k.ShortTag() != "!!str" && k.ShortTag() != "!!int" && k.ShortTag() != "!!bool" {
			d.errorf(nodePos(k), "%s: key %s must be a string", orTop(path), describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(nodePos(k), "%s: duplicate key %q (first defined at line %d)", joinPath(path, k.Value), k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, val)
	}
	return true
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return
	}
	m := reflect.MakeMap(v.Type())
	ok := d.mappingPairs(n, path, func(key string, k, val *yaml.Node) {
		elem := reflect.New(v.Type().Elem()).Elem()
		p := joinPath(path, key)
		d.pos[p+"#key"] = nodePos(k)
		d.decode(val, p, elem)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	})
	if ok {
		v.Set(m)
	}
}

type fieldInfo struct {
	name  string
	index []int
}

// structFields lists the YAML names of a struct's fields, following
// `yaml:",inline"` embedding.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for _, sub := range structFields(f.Type) {
				out = append(out, fieldInfo{name: sub.name, index: append([]int{i}, sub.index...)})
			}
			continue
		}
		if name == "" {
			continue
		}
		out = append(out, fieldInfo{name: name, index: []int{i}})
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return
	}
	fields := structFields(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	d.mappingPairs(n, path, func(key string, k, val *yaml.Node) {
		i := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.name == key })
		p := joinPath(path, key)
		if i < 0 {
			d.bad[p] = true
			msg := fmt.Sprintf("unknown field %q", key)
			if path != "" {
				msg += " in " + path
			}
			if h, ok := v.Interface().(interface{ unknownFieldHint(file, key string) string }); ok && h.unknownFieldHint(d.file, key) != "" {
				msg += ": " + h.unknownFieldHint(d.file, key)
			} else if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
				// The field was most likely meant, so do not also report
				// it as missing.
				d.bad[joinPath(path, s)] = true
			}
			d.errorf(nodePos(k), "%s", msg)
			return
		}
		d.pos[p+"#key"] = nodePos(k)
		d.decode(val, p, v.FieldByIndex(fields[i].index))
	})
}

// maxValueDepth bounds how deep free-form values (pave.yaml's platform)
// may nest; a template needs a few levels, and every level lengthens the
// field paths recorded for each value below it.
const maxValueDepth = 32

// decodeAny turns a node into plain Go values (map[string]any, []any,
// string, int64, float64, bool, nil) with the same strictness as typed
// fields: no aliases, no duplicate keys, and at most maxValueDepth levels.
func (d *decoder) decodeAny(n *yaml.Node, path string) (any, bool) {
	return d.decodeAnyAt(n, path, 1)
}

func (d *decoder) decodeAnyAt(n *yaml.Node, path string, depth int) (any, bool) {
	d.pos[path] = nodePos(n)
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && depth > maxValueDepth {
		d.fail(n, path, "values nest more than %d levels deep", maxValueDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.AliasNode:
		d.fail(n, path, "YAML aliases are not supported; write the value out")
		return nil, false
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		d.mappingPairs(n, path, func(key string, _, val *yaml.Node) {
			x, good := d.decodeAnyAt(val, joinPath(path, key), depth+1)
			ok = ok && good
			m[key] = x
		})
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		ok := true
		for i, item := range n.Content {
			x, good := d.decodeAnyAt(item, fmt.Sprintf("%s[%d]", path, i), depth+1)
			ok = ok && good
			s[i] = x
		}
		return s, ok
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, true
	case "!!null":
		return nil, true
	}
	var x any
	if err := n.Decode(&x); err != nil {
		d.fail(n, path, "cannot read value: %v", err)
		return nil, false
	}
	return x, true
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo.
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return "" // not a typo of a field name
	}
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := levenshtein.ComputeDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" || bestDist > max(2, len(s)/3) {
		return ""
	}
	return best
}

// decodeDocument parses file's single YAML document into the struct v
// points to and returns the validator for it, holding the positions of
// every field and the decoding errors so far.
func decodeDocument(file string, data []byte, v any) (*validator, *Error) {
	root, perr := parseDocument(file, data)
	if perr != nil {
		return nil, perr
	}
	d := newDecoder(file)
	d.pos[""] = nodePos(root)
	d.decodeStruct(root, "", reflectValue(v))
	return &validator{d: d}, nil
}
