package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
)

// Dynamic shell completion. cobra's own `pave completion bash|zsh|fish|
// powershell` prints the script; the script asks `pave __complete ARGS…`
// for the words, which come from here: TEAM/NAME of the services of the
// catalog named by --catalog (or the current folder), its environments
// for --env, its templates for --template, a command's formats for -o,
// and the fixed values of --color, --drift-mode and --fail-on. Nothing
// here writes or reaches a cluster; a catalog that does not load offers
// nothing.

// formatsAnnotation carries a command's -o formats to its completion.
const formatsAnnotation = "pave/formats"

// registerCompletions adds the completion functions to every command of
// the tree under root.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		completeArgs(c)
		completeFlags(c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeArgs completes TEAM/NAME arguments: the services of the
// catalog for the commands that take any number of them, the teams
// ("payments/") for pave new, which names a service that does not exist
// yet. Other commands take no file names.
func completeArgs(c *cobra.Command) {
	if c.ValidArgsFunction != nil || !c.Runnable() {
		return
	}
	switch {
	case strings.Contains(c.Use, "[TEAM/NAME ...]"):
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cat := completionCatalog(cmd)
			if cat == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			defer cat.Close()
			var ids []string
			for _, s := range cat.Services {
				ids = append(ids, s.ID())
			}
			for _, f := range cat.Invalid {
				ids = append(ids, catalog.ServiceIDOf(f))
			}
			slices.Sort(ids)
			ids = slices.DeleteFunc(slices.Compact(ids), func(id string) bool { return slices.Contains(args, id) })
			return withPrefix(ids, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	case strings.HasSuffix(c.Use, " TEAM/NAME"):
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			cfg := completionConfig(cmd)
			if cfg == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var teams []string
			for _, t := range cfg.TeamNames() {
				teams = append(teams, t+"/")
			}
			return withPrefix(teams, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
	default:
		c.ValidArgsFunction = cobra.NoFileCompletions
	}
}

// completeFlags completes the flags whose values pave knows.
func completeFlags(c *cobra.Command) {
	fixed := map[string][]string{
		"color":      {colorAuto, colorAlways, colorNever},
		"drift-mode": {"correct", "warn"},
		"fail-on":    {"any", "new"},
	}
	for name, values := range fixed {
		if c.LocalNonPersistentFlags().Lookup(name) != nil || (name == "color" && !c.HasParent()) {
			_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if f := c.LocalNonPersistentFlags().Lookup("output"); f != nil {
		formats := f.Annotations[formatsAnnotation]
		_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	}
	if c.LocalNonPersistentFlags().Lookup("env") != nil {
		_ = c.RegisterFlagCompletionFunc("env", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cfg := completionConfig(cmd)
			if cfg == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return withPrefix(cfg.EnvironmentNames(), toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
	if c.LocalNonPersistentFlags().Lookup("template") != nil {
		_ = c.RegisterFlagCompletionFunc("template", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cat := completionCatalog(cmd)
			if cat == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			defer cat.Close()
			var names []string
			for name := range cat.Templates {
				names = append(names, name)
			}
			slices.Sort(names)
			return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
	if c.LocalNonPersistentFlags().Lookup("catalog") != nil {
		_ = c.RegisterFlagCompletionFunc("catalog", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		})
	}
}

// catalogDir is the --catalog of the command being completed.
func catalogDir(cmd *cobra.Command) string {
	dir, err := cmd.Flags().GetString("catalog")
	if err != nil || dir == "" {
		return "."
	}
	return dir
}

// completionConfig reads pave.yaml of the catalog being completed, or nil.
func completionConfig(cmd *cobra.Command) *catalog.Config {
	cfg, err := catalog.LoadConfig(os.DirFS(catalogDir(cmd)))
	if err != nil {
		return nil
	}
	return cfg
}

// completionCatalog loads the catalog being completed, or nil.
func completionCatalog(cmd *cobra.Command) *catalog.Catalog {
	cat, err := catalog.LoadDir(catalogDir(cmd))
	if err != nil {
		return nil
	}
	return cat
}

func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}
