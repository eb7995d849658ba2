package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const cliReference = "../../docs/cli.md"

var updateCLIReference = flag.Bool("update-docs", false, "rewrite the flag lists of docs/cli.md from each command's --help")

// TestCLIReferenceMatchesHelp: docs/cli.md has a section "## pave CMD" for
// every command, and the first code block of each is that command's
// --help from "Usage:" on, so the reference cannot drift from the flags.
// `go test ./cmd/pave -run TestCLIReference -update-docs` rewrites the blocks.
func TestCLIReferenceMatchesHelp(t *testing.T) {
	data, err := os.ReadFile(cliReference)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	heading := regexp.MustCompile("(?m)^## (pave [a-z ]+)\n(?s:.*?)```\n((?s:.*?))```\n")
	var documented []string
	doc = heading.ReplaceAllStringFunc(doc, func(section string) string {
		m := heading.FindStringSubmatch(section)
		name, block := m[1], m[2]
		documented = append(documented, name)
		code, stdout, stderr := pave(t, append(strings.Fields(name)[1:], "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d\n%s", name, code, stderr)
			return section
		}
		want := usageOf(stdout)
		if block != want {
			if !*updateCLIReference {
				t.Errorf("%s: the flag list in %s differs from --help (go test ./cmd/pave -run TestCLIReference -update-docs)\ndoc:\n%s\nhelp:\n%s", name, cliReference, block, want)
			}
			return strings.Replace(section, "```\n"+block+"```\n", "```\n"+want+"```\n", 1)
		}
		return section
	})
	for _, name := range commandPaths(newRootCmd(currentBuild())) {
		if !slices.Contains(documented, name) {
			t.Errorf("%s has no section \"## %s\" in %s", name, name, cliReference)
		}
	}
	if *updateCLIReference {
		if err := os.WriteFile(cliReference, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// usageOf is a command's help from "Usage:" on, without cobra's closing
// pointer to the subcommands' help.
func usageOf(help string) string {
	if i := strings.Index(help, "Usage:"); i >= 0 {
		help = help[i:]
	}
	help = strings.TrimRight(help, "\n")
	if i := strings.LastIndex(help, "\n\nUse \"pave "); i >= 0 {
		help = help[:i]
	}
	return help + "\n"
}

// commandPaths lists the commands a user runs: every runnable, visible
// command ("pave policy test", not the group "pave policy"), and
// "pave completion" itself rather than one entry per shell.
func commandPaths(root *cobra.Command) []string {
	root.InitDefaultCompletionCmd()
	var out []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			switch {
			case sub.Hidden || sub.Name() == "help":
			case sub.Name() == "completion":
				out = append(out, sub.CommandPath())
			case sub.HasSubCommands():
				walk(sub)
			default:
				out = append(out, sub.CommandPath())
			}
		}
	}
	walk(root)
	return out
}
