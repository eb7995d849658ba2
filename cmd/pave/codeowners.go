package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/source"
)

type codeownersOptions struct {
	catalogDir string
	outputFile string
	check      bool
}

func newCodeownersCmd() *cobra.Command {
	o := codeownersOptions{}
	cmd := &cobra.Command{
		Use:   "codeowners",
		Short: "Write the CODEOWNERS file that gives the platform team the catalog's rules and exceptions",
		Long: `Codeowners writes the CODEOWNERS file of the catalog's repository from
pave.yaml: the platform team (owners) owns pave.yaml, templates/,
policies/, exceptions/, the CODEOWNERS file itself and anything else in the
catalog; each team owns services/<team>/. With the forge's "require review
from code owners" on the main branch, a pull request cannot change the
rules it is judged by, or grant a service an exception, without the
platform team's approval.

The file goes to .github/CODEOWNERS at the root of the git repository
holding the catalog (the catalog may be a subfolder), or to --output-file;
its patterns are relative to the repository root, which is the folder
holding the file's .github/, .gitlab/ or docs/ folder, or else its own.

With --check nothing is written: exit status 1 when the file is missing
or differs from what pave.yaml says (for CI), 0 when it is up to date.
Exit status 2 for usage errors or an invalid pave.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().StringVar(&o.outputFile, "output-file", "", "the CODEOWNERS file (default: .github/CODEOWNERS at the git repository's root)")
	cmd.Flags().BoolVar(&o.check, "check", false, "exit 1 when the file is missing or stale instead of writing it")
	return cmd
}

func (o *codeownersOptions) run(stdout, stderr io.Writer) error {
	fsys, closer, err := catalog.OpenDir(o.catalogDir)
	if err != nil {
		return usageError("%v", err)
	}
	cfg, err := catalog.LoadConfig(fsys)
	closer.Close()
	var cfgErr *catalog.ConfigError
	if errors.As(err, &cfgErr) {
		for _, e := range cfgErr.Errors {
			c := *e
			c.File = displayPath(o.catalogDir, e.File)
			fmt.Fprintln(stderr, c.Error())
		}
		return silentExit(exitUsage)
	}
	if err != nil {
		return usageError("%v", err)
	}

	file, root, err := o.location()
	if err != nil {
		return usageError("%v", err)
	}
	prefix, err := relInside(root, o.catalogDir)
	if err != nil {
		return usageError("%v", err)
	}
	self, err := relInside(root, file)
	if err != nil {
		return usageError("%v", err)
	}
	want, err := catalog.CodeOwners(cfg, prefix, self)
	if err != nil {
		return usageError("%v", err)
	}
	shown := file
	if o.outputFile != "" {
		shown = o.outputFile
	}

	if o.check {
		got, err := os.ReadFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stderr, "%s is missing: run pave codeowners to write it from pave.yaml\n", shown)
			return silentExit(exitFailure)
		case err != nil:
			return usageError("%v", err)
		case !bytes.Equal(got, want):
			fmt.Fprintf(stderr, "%s is stale: it differs from what pave.yaml says; run pave codeowners\n", shown)
			return silentExit(exitFailure)
		}
		fmt.Fprintf(stderr, "%s is up to date\n", shown)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return usageError("%v", err)
	}
	if err := os.WriteFile(file, want, 0o644); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", shown)
	return nil
}

// location returns the CODEOWNERS file and the repository root its
// patterns are relative to.
func (o *codeownersOptions) location() (file, root string, err error) {
	if o.outputFile != "" {
		file, err = filepath.Abs(o.outputFile)
		if err != nil {
			return "", "", err
		}
		root = filepath.Dir(file)
		switch filepath.Base(root) {
		case ".github", ".gitlab", "docs":
			root = filepath.Dir(root)
		}
		return file, root, nil
	}
	repo, err := source.OpenRepository(o.catalogDir)
	if err != nil {
		return "", "", fmt.Errorf("%w: pass --output-file", err)
	}
	return filepath.Join(repo.Root, ".github", "CODEOWNERS"), repo.Root, nil
}

// relInside is p relative to root, slash-separated ("" for root itself);
// an error when p is outside root.
func relInside(root, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	// Symlinks resolved in the part of the path that exists (the file and
	// its folder may not exist yet).
	resolve := func(p string) string {
		rest := ""
		for q := p; ; q = filepath.Dir(q) {
			if r, err := filepath.EvalSymlinks(q); err == nil {
				return filepath.Join(r, rest)
			}
			if filepath.Dir(q) == q {
				return p
			}
			rest = filepath.Join(filepath.Base(q), rest)
		}
	}
	rel, err := filepath.Rel(resolve(root), resolve(abs))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the repository %s its CODEOWNERS file belongs to", p, root)
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}
