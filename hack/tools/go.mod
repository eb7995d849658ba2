// Module github.com/pave-dev/pave/hack/tools holds the development tools that
// `make vuln` runs (govulncheck, and hack/tools/vulndb which turns the
// vulnerability database module into a database govulncheck reads). It is a
// separate module so that their dependencies never enter pave's own go.mod.
module github.com/pave-dev/pave/hack/tools

go 1.26.0

tool golang.org/x/vuln/cmd/govulncheck

require (
	golang.org/x/mod v0.43.0
	golang.org/x/vuln v1.9.0
)

require (
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/telemetry v0.0.0-20261010193011-f71dc92da45e // indirect
	golang.org/x/tools v0.52.0 // indirect
)
