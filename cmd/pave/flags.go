package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// outputFlags are the flags of a command that prints a report: -o picks
// its format, as in kubectl, helm and conftest, and --output-file the file
// it is written to (when the command can write one).
type outputFlags struct {
	format  string
	file    string
	formats []string
}

// bind adds -o/--output (with --format as an alias) and, when withFile,
// --output-file to fs.
func (f *outputFlags) bind(fs *pflag.FlagSet, formats []string, withFile bool) {
	f.formats = formats
	fs.StringVarP(&f.format, "output", "o", formats[0], "output format: "+strings.Join(formats, ", ")+" (--format is an alias)")
	_ = fs.SetAnnotation("output", formatsAnnotation, formats) // for completion
	if withFile {
		fs.StringVar(&f.file, "output-file", "", "write the report to this file instead of standard output")
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "format" {
			name = "output"
		}
		return pflag.NormalizedName(name)
	})
}

// check refuses a format the command does not have. A value that looks
// like a file name gets a hint: -o used to name the report file.
func (f *outputFlags) check() error {
	if slices.Contains(f.formats, f.format) {
		return nil
	}
	msg := fmt.Sprintf("-o: unknown format %q (%s)", f.format, strings.Join(f.formats, ", "))
	if strings.ContainsAny(f.format, "./\\") {
		msg += "; -o is the output format: write the report to a file with --output-file " + f.format
	}
	return flagError("%s", msg)
}

// plainSwitchUsage makes the help of cmd and its subcommands print a
// boolean flag as "--prune", not "--prune[=true|false]" as pflag does for
// every flag whose value says IsBoolFlag. The flags still parse the same:
// pflag gave each one NoOptDefVal "true", so "--prune" sets it and
// "--prune=false" clears it.
func plainSwitchUsage(root *cobra.Command) {
	usage := root.UsageFunc()
	root.SetUsageFunc(func(c *cobra.Command) error {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if _, done := f.Value.(switchValue); !done && f.Value.Type() == "bool" && f.NoOptDefVal == "true" {
					f.Value = switchValue{f.Value}
				}
			})
		}
		return usage(c)
	})
}

// switchValue is a boolean flag's value without its IsBoolFlag method,
// which is what pflag keys "[=true|false]" on.
type switchValue struct{ pflag.Value }
