package render

import (
	"fmt"
	"strings"
	"text/template/parse"
)

// unstable are the template functions whose result is not a function of
// the chart and the values: randomness, the clock and the network. Helm's engine takes no function map of its own, so pave cannot
// replace them with deterministic ones; it refuses them where they run.
var unstable = map[string]string{
	"randAlphaNum":             "gives a different result on every render",
	"randAlpha":                "gives a different result on every render",
	"randNumeric":              "gives a different result on every render",
	"randAscii":                "gives a different result on every render",
	"randInt":                  "gives a different result on every render",
	"randBytes":                "gives a different result on every render",
	"uuidv4":                   "gives a different result on every render",
	"shuffle":                  "gives a different result on every render",
	"now":                      "reads the clock, so it gives a different result on every render",
	"ago":                      "reads the clock, so it gives a different result on every render",
	"genCA":                    "makes a new key on every render",
	"genCAWithKey":             "makes a new certificate on every render",
	"genPrivateKey":            "makes a new key on every render",
	"genSelfSignedCert":        "makes a new key on every render",
	"genSelfSignedCertWithKey": "makes a new certificate on every render",
	"genSignedCert":            "makes a new key on every render",
	"genSignedCertWithKey":     "makes a new certificate on every render",
	"htpasswd":                 "salts at random, so it gives a different result on every render",
	"bcrypt":                   "salts at random, so it gives a different result on every render",
	"encryptAES":               "uses a random IV, so it gives a different result on every render",
	"getHostByName":            "asks the network, which pave never does when rendering",
	// lookup is refused where it runs by the render's client provider
	// (noLookup), which also serves pave's own checkpoints.
}

// refusalMessage is the error of a render that reached an unstable
// function.
func refusalMessage(fn string) string {
	return fmt.Sprintf("%s %s; pave renders the same inputs to the same objects, so that a review shows only real changes and the daemon does not re-apply on every pass: take the value from a setting or a platform value, or keep it in a Secret the chart references, instead", fn, unstable[fn])
}

// refusal is a place in a template where an unstable function would run:
// the position of the "{{" of the action or control structure using it.
type refusal struct {
	pos int
	fn  string
}

// refusals finds the actions of a parsed template (its top level and its
// defines) that call an unstable function. pave puts a checkpoint before
// each that stops the render with refusalMessage, so a chart may keep such
// a call in a branch or a define it does not reach with the service's
// values (a password generated only when none is given), and is refused,
// at the line, when it does reach it.
func refusals(text string, trees map[string]*parse.Tree) []refusal {
	var out []refusal
	open := func(pos parse.Pos) int {
		return strings.LastIndex(text[:min(int(pos), len(text))], "{{")
	}
	var list func(l *parse.ListNode)
	var branch func(b *parse.BranchNode, at int)
	branch = func(b *parse.BranchNode, at int) {
		if fn := pipeCalls(b.Pipe); fn != "" && at >= 0 {
			out = append(out, refusal{at, fn})
		}
		list(b.List)
		e := b.ElseList
		// {{else if}} and {{else with}} hold the next branch in an else list
		// of its own: its condition runs only when the ones before it were
		// false, and pave cannot put a checkpoint between them; it is
		// refused where the chain starts.
		if e != nil && len(e.Nodes) == 1 && int(e.Pos) < len(text) && !strings.HasPrefix(text[e.Pos:], "{{") {
			switch n := e.Nodes[0].(type) {
			case *parse.IfNode:
				branch(&n.BranchNode, at)
				return
			case *parse.WithNode:
				branch(&n.BranchNode, at)
				return
			}
		}
		list(e)
	}
	list = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.ActionNode:
				if fn := pipeCalls(n.Pipe); fn != "" {
					out = append(out, refusal{open(n.Pos), fn})
				}
			case *parse.TemplateNode:
				if fn := pipeCalls(n.Pipe); fn != "" {
					out = append(out, refusal{open(n.Pos), fn})
				}
			case *parse.IfNode:
				branch(&n.BranchNode, open(n.Pos))
			case *parse.RangeNode:
				branch(&n.BranchNode, open(n.Pos))
			case *parse.WithNode:
				branch(&n.BranchNode, open(n.Pos))
			}
		}
	}
	for _, t := range trees {
		if t.Root != nil {
			list(t.Root)
		}
	}
	return out
}

// pipeCalls returns the first unstable function a pipeline calls.
func pipeCalls(p *parse.PipeNode) string {
	if p == nil {
		return ""
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if fn := nodeCalls(a); fn != "" {
				return fn
			}
		}
	}
	return ""
}

func nodeCalls(n parse.Node) string {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		if _, ok := unstable[n.Ident]; ok {
			return n.Ident
		}
	case *parse.PipeNode:
		return pipeCalls(n)
	case *parse.ChainNode:
		return nodeCalls(n.Node)
	}
	return ""
}
