package catalog

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// CodeOwners writes the CODEOWNERS file of a catalog from pave.yaml: the
// platform team (owners) owns pave.yaml, templates/, policies/,
// exceptions/, the CODEOWNERS file itself and whatever else the catalog
// holds; each team owns services/<team>/. With the forge's "require review
// from code owners", a developer's pull request cannot change the rules it
// is judged by, nor grant its service an exception, without the platform
// team's approval.
//
// prefix is the catalog folder relative to the repository root ("" when
// the catalog is the repository), self the CODEOWNERS file's path relative
// to the repository root (".github/CODEOWNERS"); both slash-separated.
func CodeOwners(cfg *Config, prefix, self string) ([]byte, error) {
	if len(cfg.Owners) == 0 {
		return nil, fmt.Errorf("%s sets no owners: add owners: [\"@org/platform-team\"] (the platform team, who owns the catalog's rules and exceptions)", ConfigFile)
	}
	var bad []string
	check := func(field string, owners []string) {
		for i, o := range owners {
			if !codeOwnerRE.MatchString(o) {
				bad = append(bad, fmt.Sprintf("%s[%d]: %q", field, i, o))
			}
		}
	}
	check("owners", cfg.Owners)
	for i, t := range cfg.Teams {
		check(fmt.Sprintf("teams[%d].owners", i), t.Owners)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: not CODEOWNERS owners (write @user, @org/team or an e-mail address): %s", ConfigFile, strings.Join(bad, ", "))
	}

	prefix = strings.Trim(path.Clean("/"+prefix), "/")
	in := func(p string) string {
		if prefix == "" {
			return "/" + p
		}
		return "/" + prefix + "/" + p
	}
	platform := strings.Join(cfg.Owners, " ")
	var b strings.Builder
	line := func(pattern, owners string) { fmt.Fprintf(&b, "%s %s\n", codeOwnersPattern(pattern), owners) }

	b.WriteString(`# Written by "pave codeowners" from pave.yaml: change owners and teams
# there and run it again; CI runs "pave codeowners --check".
# The last matching line wins.

# The platform team owns the catalog, unless a line below says otherwise.
`)
	if prefix == "" {
		b.WriteString("* " + platform + "\n")
	} else {
		line(in(""), platform)
	}
	b.WriteString("\n# Each team owns its services.\n")
	for _, t := range cfg.Teams {
		line(in(ServicesDir+"/"+t.Name+"/"), strings.Join(t.Owners, " "))
	}
	b.WriteString(`
# The rules every service is judged by, the exceptions to them and this
# file: the platform team's, whatever a line above says.
`)
	for _, p := range []string{ConfigFile, TemplatesDir + "/", PoliciesDir + "/", ExceptionsDir + "/"} {
		line(in(p), platform)
	}
	line("/"+strings.TrimPrefix(self, "/"), platform)
	return []byte(b.String()), nil
}

// codeOwnerRE accepts what GitHub and GitLab take as an owner: @user,
// @org/team (@group/subgroup) or an e-mail address.
var codeOwnerRE = regexp.MustCompile(`^(@[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*|[^@\s]+@[^@\s]+\.[^@\s]+)$`)

// codeOwnersPattern escapes what a CODEOWNERS pattern (gitignore syntax)
// would read as syntax in a path.
func codeOwnersPattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(` #!*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
