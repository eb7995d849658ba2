package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template/parse"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Bounds on rendering one service for one environment, when Options leave
// them unset.
const (
	DefaultRenderTimeout    = 10 * time.Second
	DefaultMaxRenderedBytes = 4 << 20
)

// Helm's engine can be neither cancelled nor given a writer, and Go
// templates loop without calling anything pave could watch. So pave adds a
// checkpoint of its own to every branch of the chart's templates: the body
// of each range, if, with and else, and of each define. A checkpoint is a
// call of Helm's lookup function with a reserved apiVersion, which reaches
// the render's client provider (renderBudget): it stops the render once
// its time is up, and adds the static text of the branch to the bytes
// rendered so far, so a loop that renders too much is stopped while it
// runs rather than after. A checkpoint assigns to a variable, so it prints
// nothing, and it sits on the line of the branch it counts, so Helm's
// messages keep their lines (columns are put back by instrumentedChart).
const (
	checkpointAPIVersion = "render.pave.dev/v1"
	checkpointKind       = "Checkpoint"
)

// checkpoint is one branch of a template.
type checkpoint struct {
	file   string // Helm's template name, e.g. web-service/templates/deployment.yaml
	line   int
	static int // bytes of text directly in the branch
	// refuse, when set, is the function the action after the checkpoint
	// would call that pave refuses (see refusals): reaching the
	// checkpoint stops the render with refusalMessage.
	refuse string
}

// insertion is a checkpoint added to a line of a template, for mapping
// Helm's columns back to the template as written.
type insertion struct {
	column int // 1-based column of the original text it was put before
	length int
}

// instrumentedChart records the checkpoints added to a chart's templates.
type instrumentedChart struct {
	checkpoints []checkpoint
	// insertions by template name and line.
	insertions map[string]map[int][]insertion
}

// instrumentChart adds checkpoints to the templates of a chart and of its
// vendored subcharts, in place. A template that does not parse is left as
// it is: Helm reports the error.
func instrumentChart(ch *chart.Chart) *instrumentedChart {
	ic := &instrumentedChart{insertions: map[string]map[int][]insertion{}}
	ic.chart(ch)
	return ic
}

func (ic *instrumentedChart) chart(ch *chart.Chart) {
	for _, sub := range ch.Dependencies() {
		ic.chart(sub)
	}
	for _, t := range ch.Templates {
		if t == nil {
			continue
		}
		name := path.Join(ch.ChartFullPath(), t.Name)
		if data, ok := ic.template(name, string(t.Data)); ok {
			t.Data = []byte(data)
		}
	}
}

// template returns the template text with checkpoints.
func (ic *instrumentedChart) template(name, text string) (string, bool) {
	tr := parse.New(name)
	tr.Mode = parse.SkipFuncCheck
	treeSet := map[string]*parse.Tree{}
	if _, err := tr.Parse(text, "", "", treeSet); err != nil {
		return "", false
	}
	type point struct {
		pos, static int
		refuse      string
	}
	var points []point
	for _, r := range refusals(text, treeSet) {
		// pave does not use what NOTES.txt renders, nor the helm test hooks
		// of templates/tests/ (Helm's place for them; render refuses
		// anything else rendered there).
		if r.pos >= 0 && !strings.HasSuffix(name, "NOTES.txt") && !isTestsFile(name) {
			points = append(points, point{pos: r.pos, refuse: r.fn})
		}
	}
	var walk func(l *parse.ListNode)
	branch := func(l *parse.ListNode) {
		if l == nil {
			return
		}
		static := 0
		for _, n := range l.Nodes {
			if t, ok := n.(*parse.TextNode); ok {
				static += len(t.Text)
			}
		}
		points = append(points, point{pos: int(l.Pos), static: static})
		walk(l)
	}
	walk = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			var b *parse.BranchNode
			switch n := n.(type) {
			case *parse.IfNode:
				b = &n.BranchNode
			case *parse.RangeNode:
				b = &n.BranchNode
			case *parse.WithNode:
				b = &n.BranchNode
			default:
				continue
			}
			branch(b.List)
			// {{else if}} and {{else with}} hold the next branch in an
			// else list of its own that starts at the keyword, not at text
			// or an action: its branches are counted on their own.
			if e := b.ElseList; e != nil && len(e.Nodes) == 1 && int(e.Pos) < len(text) && !strings.HasPrefix(text[e.Pos:], "{{") && (n.Type() == parse.NodeIf || n.Type() == parse.NodeWith) {
				walk(e)
			} else {
				branch(e)
			}
		}
	}
	for treeName, t := range treeSet {
		if t.Root == nil {
			continue
		}
		if treeName == name {
			// A file's top level runs once: walk it, it is no loop.
			walk(t.Root)
			continue
		}
		branch(t.Root)
	}
	if len(points) == 0 {
		return text, true
	}
	slices.SortStableFunc(points, func(a, b point) int { return a.pos - b.pos })
	var b strings.Builder
	b.Grow(len(text) + 64*len(points))
	line, lineStart, done := 1, 0, 0
	for _, p := range points {
		if p.pos < done || p.pos > len(text) {
			return "", false
		}
		for i := done; i < p.pos; i++ {
			if text[i] == '\n' {
				line++
				lineStart = i + 1
			}
		}
		b.WriteString(text[done:p.pos])
		done = p.pos
		id := len(ic.checkpoints)
		ic.checkpoints = append(ic.checkpoints, checkpoint{file: name, line: line, static: p.static, refuse: p.refuse})
		// The whitespace a {{- trims comes before the checkpoint now: the
		// checkpoint trims it instead.
		open := "{{"
		if rest := text[p.pos:]; len(rest) > 3 && strings.HasPrefix(rest, "{{-") && strings.ContainsRune(" \t\r\n", rune(rest[3])) {
			open = "{{- "
		}
		cp := fmt.Sprintf("%s$__pave := lookup %q %q \"\" \"%d\"}}", open, checkpointAPIVersion, checkpointKind, id)
		b.WriteString(cp)
		lines := ic.insertions[name]
		if lines == nil {
			lines = map[int][]insertion{}
			ic.insertions[name] = lines
		}
		lines[line] = append(lines[line], insertion{column: 1 + p.pos - lineStart, length: len(cp)})
	}
	b.WriteString(text[done:])
	return b.String(), true
}

// column maps a column Helm reports on a line of an instrumented template
// back to the template as written.
func (ic *instrumentedChart) column(name string, line, column int) int {
	if ic == nil {
		return column
	}
	shift := 0
	for _, in := range ic.insertions[name][line] { // in column order
		start := in.column + shift
		if column < start {
			break
		}
		if column < start+in.length {
			return in.column
		}
		shift += in.length
	}
	return column - shift
}

// renderBudget is the client provider of one render: it answers the
// checkpoints and refuses every other lookup.
type renderBudget struct {
	ctx         context.Context
	checkpoints []checkpoint
	maxBytes    int
	timeout     time.Duration

	static int          // bytes of static text rendered so far
	last   atomic.Int64 // index of the last checkpoint passed, +1
	// stopped is why the budget stopped the render; read only after the
	// engine returned.
	stopped *boundError
}

// boundError is a render stopped by a bound, at a template line.
type boundError struct {
	file    string // Helm's template name
	line    int
	message string
}

// errCheckpointPassed lets Helm's lookup go on: it reads "not found" as
// an empty result.
var errCheckpointPassed = apierrors.NewNotFound(schema.GroupResource{Group: "render.pave.dev", Resource: "checkpoints"}, "")

func (b *renderBudget) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	if apiVersion != checkpointAPIVersion || kind != checkpointKind {
		return noLookup{}.GetClientFor(apiVersion, kind)
	}
	return checkpointClient{b: b}, false, nil
}

// pass is one checkpoint reached.
func (b *renderBudget) pass(name string) error {
	i, err := strconv.Atoi(name)
	if err != nil || i < 0 || i >= len(b.checkpoints) {
		return fmt.Errorf("lookup of %s %s is not available: pave renders without a cluster", checkpointAPIVersion, checkpointKind)
	}
	cp := b.checkpoints[i]
	b.last.Store(int64(i) + 1)
	b.static += cp.static
	switch {
	case cp.refuse != "":
		b.stopped = &boundError{cp.file, cp.line, refusalMessage(cp.refuse)}
	case b.ctx.Err() != nil:
		b.stopped = &boundError{cp.file, cp.line, timeoutMessage(b.timeout)}
	case b.static > b.maxBytes:
		b.stopped = &boundError{cp.file, cp.line, fmt.Sprintf("rendering stopped here: the service renders more than %s, the most pave renders for one service (render option MaxRenderedBytes)", formatBytes(b.maxBytes))}
	default:
		return errCheckpointPassed
	}
	return fmt.Errorf("%s", b.stopped.message)
}

// position is where the render was when its time ran out.
func (b *renderBudget) position() (file string, line int) {
	i := b.last.Load()
	if i == 0 {
		return "", 0
	}
	cp := b.checkpoints[i-1]
	return cp.file, cp.line
}

func timeoutMessage(d time.Duration) string {
	return fmt.Sprintf("rendering stopped here after %s, the longest pave renders one service (render option RenderTimeout)", d)
}

type checkpointClient struct {
	// Only Get is called, by Helm's lookup with a name.
	dynamic.NamespaceableResourceInterface
	b *renderBudget
}

func (c checkpointClient) Get(_ context.Context, name string, _ metav1.GetOptions, _ ...string) (*unstructured.Unstructured, error) {
	return nil, c.b.pass(name)
}

func (c checkpointClient) List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return nil, c.b.pass("")
}

func (c checkpointClient) Namespace(string) dynamic.ResourceInterface { return c }

// formatBytes writes a size for messages: 4 MiB, 5.2 MiB, 812 KiB, 97 B.
func formatBytes(n int) string {
	switch {
	case n >= 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MiB"
	case n >= 1<<10:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
