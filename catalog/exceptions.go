package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

const (
	// KindExceptions is the kind of an exceptions file.
	KindExceptions = "Exceptions"
	// ExceptionsDir holds exceptions/<team>/<service>.yaml, the platform
	// team's folder (CODEOWNERS).
	ExceptionsDir = "exceptions"
)

// Exceptions is exceptions/<team>/<service>.yaml (kind Exceptions): the
// steps off the paved road one service is allowed. The folder belongs to
// the platform team (the CODEOWNERS file `pave codeowners` writes), so the
// developer who needs an exception cannot grant it in their own files;
// each exception names its approver, one of pave.yaml's
// exceptions.approvers and never an owner of the service's team, and
// expires within exceptions.maxLifetime.
type Exceptions struct {
	APIVersion string             `yaml:"apiVersion" json:"apiVersion"`
	Kind       string             `yaml:"kind" json:"kind"`
	Metadata   ExceptionsMetadata `yaml:"metadata" json:"metadata"`
	Exceptions []Exception        `yaml:"exceptions" json:"exceptions"`

	// File is the path relative to the catalog root.
	File string `yaml:"-" json:"-"`
	// Valid is false when the file has errors: its service is then
	// invalid, and the exceptions are only shown (in a review), never
	// applied.
	Valid     bool `yaml:"-" json:"-"`
	positions map[string]Position
}

// ExceptionsMetadata names the service the exceptions are for; it must
// match the file's path.
type ExceptionsMetadata struct {
	Team    string `yaml:"team" json:"team"`
	Service string `yaml:"service" json:"service"`
}

// Exception is an audited step off the paved road: one policy that does
// not apply to a service (in some environments, or all), with why, who
// approved it and until when.
type Exception struct {
	Policy string `yaml:"policy" json:"policy"`
	// Environments the exception applies in; all when empty.
	Environments []string `yaml:"environments" json:"environments,omitempty"`
	Reason       string   `yaml:"reason" json:"reason"`
	ApprovedBy   string   `yaml:"approvedBy" json:"approvedBy"`
	Expires      Date     `yaml:"expires" json:"expires"`
}

// AppliesTo reports whether the exception holds in env.
func (x Exception) AppliesTo(env string) bool {
	return len(x.Environments) == 0 || slices.Contains(x.Environments, env)
}

// ID is "team/service".
func (x *Exceptions) ID() string { return x.Metadata.Team + "/" + x.Metadata.Service }

// Position returns where a field path ("exceptions[0].expires") is
// written, falling back to its closest written parent.
func (x *Exceptions) Position(fieldPath string) Position {
	return lookupPosition(x.positions, fieldPath)
}

// ExceptionsFile is the exceptions file of a service.
func ExceptionsFile(team, service string) string {
	return ExceptionsDir + "/" + team + "/" + service + ".yaml"
}

// exceptionsContext is what an exceptions file is checked against.
type exceptionsContext struct {
	config *Config
	// today is the UTC day the catalog is loaded on: expiries are bounded
	// by today + exceptions.maxLifetime.
	today      time.Time
	team, name string // from the path exceptions/<team>/<name>.yaml
}

// exceptionsFiles finds exceptions/<team>/<service>.yaml, refusing
// symlinks and misplaced YAML files. Other files (a README) are left
// alone.
func exceptionsFiles(fsys fs.FS) ([]string, ErrorList) {
	var files []string
	var errs ErrorList
	err := fs.WalkDir(fsys, ExceptionsDir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && p == ExceptionsDir && errors.Is(err, fs.ErrNotExist):
			return fs.SkipAll // a catalog without exceptions
		case err != nil:
			errs = append(errs, &Error{File: p, Message: err.Error()})
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			errs = append(errs, &Error{File: p, Message: "symlinks are not allowed in the catalog"})
			return nil
		}
		depth := strings.Count(p, "/")
		if d.IsDir() {
			switch {
			case depth == 1 && !isDNSLabel(d.Name()):
				errs = append(errs, &Error{File: p + "/", Message: fmt.Sprintf("folder name %q must be a team name (a DNS-1123 label)", d.Name())})
				return fs.SkipDir
			case depth > 1:
				errs = append(errs, &Error{File: p + "/", Message: "exceptions files belong at exceptions/<team>/<service>.yaml; no deeper folders"})
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if ext := path.Ext(name); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		switch stem := strings.TrimSuffix(name, ".yaml"); {
		case depth != 2:
			errs = append(errs, &Error{File: p, Message: "an exceptions file belongs at exceptions/<team>/<service>.yaml"})
		case path.Ext(name) == ".yml":
			errs = append(errs, &Error{File: p, Message: "exceptions files must be named <service>.yaml"})
		case !isDNSLabel(stem):
			errs = append(errs, &Error{File: p, Message: fmt.Sprintf("%q must be named after a service (a DNS-1123 label)", name)})
		default:
			files = append(files, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, &Error{File: ExceptionsDir, Message: err.Error()})
	}
	return files, errs
}

// parseExceptions decodes and validates an exceptions file. It returns the
// file whenever it decodes at all, so that a review can show what it asks
// for; Valid says whether it had no error.
func parseExceptions(file string, data []byte, ctx exceptionsContext) (*Exceptions, ErrorList) {
	x := &Exceptions{File: file}
	v, perr := decodeDocument(file, data, x)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	x.positions = v.d.pos
	v.exceptions(x, ctx)
	if len(v.d.errs) > 0 {
		return x, dedupe(v.d.errs)
	}
	x.Valid = true
	return x, nil
}

func (v *validator) exceptions(x *Exceptions, ctx exceptionsContext) {
	v.header("", x.APIVersion, x.Kind, KindExceptions)
	for _, f := range []struct{ field, got, want string }{
		{"metadata.team", x.Metadata.Team, ctx.team},
		{"metadata.service", x.Metadata.Service, ctx.name},
	} {
		switch {
		case f.got == "":
			v.missing(f.field, "%s is required (%s, as in the file's path)", f.field, f.want)
		case f.got != f.want:
			v.errorf(f.field, "%s: %q does not match the file %s", f.field, f.got, v.d.file)
		}
	}
	if len(x.Exceptions) == 0 {
		v.errorf("exceptions", "exceptions: at least one exception is required (delete the file when none is left)")
	}
	team, _ := ctx.config.Team(ctx.team)
	for i, e := range x.Exceptions {
		v.exception(fmt.Sprintf("exceptions[%d]", i), e, team, ctx)
	}
	// Two exceptions of one policy in one environment: which one holds
	// would depend on their order.
	for i, a := range x.Exceptions {
		for j, b := range x.Exceptions[:i] {
			if a.Policy == "" || a.Policy != b.Policy {
				continue
			}
			if env, overlap := sharedEnvironment(a, b, ctx.config.EnvironmentNames()); overlap {
				v.errorf(fmt.Sprintf("exceptions[%d].policy", i), "exceptions[%d]: policy %s is already excepted in %s by exceptions[%d]", i, a.Policy, env, j)
				break
			}
		}
	}
}

// sharedEnvironment returns an environment both exceptions hold in.
func sharedEnvironment(a, b Exception, envs []string) (string, bool) {
	for _, env := range envs {
		if a.AppliesTo(env) && b.AppliesTo(env) {
			return env, true
		}
	}
	return "", false
}

func (v *validator) exception(p string, e Exception, team Team, ctx exceptionsContext) {
	if e.Policy == "" {
		v.missing(p+".policy", "%s: policy is required (the id of the policy this exception is for)", p)
	} else if !policyIDRE.MatchString(e.Policy) {
		v.errorf(p+".policy", "%s.policy: %q is not a policy id", p, e.Policy)
	}
	seen := map[string]bool{}
	for i, env := range e.Environments {
		ep := fmt.Sprintf("%s.environments[%d]", p, i)
		if _, ok := ctx.config.Environment(env); !ok {
			msg := fmt.Sprintf("%s: unknown environment %q (pave.yaml environments: %s)", ep, env, strings.Join(ctx.config.EnvironmentNames(), ", "))
			if sg := suggest(env, ctx.config.EnvironmentNames()); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			v.errorf(ep, "%s", msg)
		} else if seen[env] {
			v.errorf(ep, "%s: environment %q is listed twice", ep, env)
		}
		seen[env] = true
	}
	if strings.TrimSpace(e.Reason) == "" {
		v.missing(p+".reason", "%s: reason is required (why this service needs the exception)", p)
	}
	v.approver(p+".approvedBy", e.ApprovedBy, team, ctx.config)
	if e.Expires.IsZero() {
		v.missing(p+".expires", "%s: expires is required (YYYY-MM-DD; exceptions are temporary)", p)
	} else if limit := ctx.today.AddDate(0, 0, int(ctx.config.Exceptions.MaxLifetime)); e.Expires.After(limit) {
		v.errorf(p+".expires", "%s.expires: %s is more than %s away (pave.yaml exceptions.maxLifetime); the latest expiry allowed today is %s", p, e.Expires, ctx.config.Exceptions.MaxLifetime, limit.Format(DateLayout))
	}
}

// approver checks approvedBy: one of pave.yaml's exceptions.approvers, and
// not an owner of the team that needs the exception — the second person.
func (v *validator) approver(p, who string, team Team, cfg *Config) {
	approvers := cfg.Exceptions.Approvers
	switch {
	case strings.TrimSpace(who) == "":
		v.missing(p, "%s is required (who approved the exception: one of pave.yaml exceptions.approvers)", p)
	case containsFold(team.Owners, who):
		v.errorf(p, "%s: %q owns team %s; an exception is approved by someone outside the team that needs it (pave.yaml exceptions.approvers: %s)", p, who, team.Name, orNone(approvers))
	case len(approvers) == 0:
		v.errorf(p, "%s: no one may approve exceptions: pave.yaml sets neither exceptions.approvers nor owners", p)
	case !containsFold(approvers, who):
		v.errorf(p, "%s: %q is not an exception approver (pave.yaml exceptions.approvers: %s)", p, who, orNone(approvers))
	}
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(s)) })
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// loadExceptions reads every exceptions file, reports the files of
// services that do not exist, and returns the files by service id.
// services are the service.yaml files found, valid or not.
func (c *Catalog) loadExceptions(fsys fs.FS, services []string, today time.Time) map[string]*Exceptions {
	files, errs := exceptionsFiles(fsys)
	c.Errors = append(c.Errors, errs...)
	byID := map[string]*Exceptions{}
	for _, file := range files {
		team, name, _ := Owner(file)
		ctx := exceptionsContext{config: c.Config, today: today, team: team, name: name}
		if !slices.Contains(services, ServiceFileOf(file)) {
			c.Errors = append(c.Errors, &Error{File: file, Message: fmt.Sprintf("no service %s/%s: services/%s/%s/service.yaml does not exist (delete the exceptions with the service)", ctx.team, ctx.name, ctx.team, ctx.name)})
		}
		data, err := readFile(fsys, file)
		if err != nil {
			c.Errors = append(c.Errors, &Error{File: file, Message: err.Error()})
			continue
		}
		x, errs := parseExceptions(file, data, ctx)
		c.Errors = append(c.Errors, errs...)
		if x != nil {
			c.Exceptions = append(c.Exceptions, x)
			byID[ctx.team+"/"+ctx.name] = x
		}
	}
	return byID
}

// expiredExceptions warns of every exception whose expiry day is over: it
// no longer applies (an exception holds through the whole of its expiry
// day, UTC), so the denial it covered is back. That blocks nothing by
// itself, and a policy denial says so where it matters; the warning tells
// the exceptions file's owners to renew or delete it.
func expiredExceptions(files []*Exceptions, today time.Time) ErrorList {
	var out ErrorList
	for _, xf := range files {
		for i, x := range xf.Exceptions {
			if x.Expires.IsZero() || !x.Expires.Before(today) {
				continue
			}
			p := fmt.Sprintf("exceptions[%d].expires", i)
			out = append(out, &Error{File: xf.File, Position: xf.Position(p), Message: fmt.Sprintf("%s: the exception to %s expired on %s and no longer applies; renew it (a new expires, approved again) or delete it", p, x.Policy, x.Expires.Format(DateLayout))})
		}
	}
	out.Sort()
	return out
}
