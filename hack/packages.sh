#!/usr/bin/env bash
# Splits pave's packages that have tests in two, for `make test`:
#
#   hack/packages.sh race      tests that need no control plane: they run
#                              under the race detector (make test-race)
#   hack/packages.sh cluster   tests that start the local control plane
#                              (they link e2e/testcluster or e2e/localcluster,
#                              or live under e2e/): they run without it, to
#                              keep make test's time (the detector slows a
#                              program 2-20 times, and these are the longest)
#
# Every package with tests is in exactly one list. The lists come from
# `go list -test` (a test binary's dependencies), so a new package lands in
# the right one without editing this.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
race | cluster) ;;
*)
	echo "usage: $0 race|cluster" >&2
	exit 2
	;;
esac

# One line per test binary: the package it tests, then what it links.
go list -test -f '{{if and (eq .Name "main") .Module}}{{.ImportPath}} {{join .Deps " "}}{{end}}' ./... |
	awk -v want="$1" '
		$1 !~ /\.test$/ { next }
		{
			pkg = substr($1, 1, length($1) - 5)
			cluster = pkg ~ /\/e2e\//
			for (i = 2; i <= NF; i++)
				if ($i ~ /^github\.com\/pave-dev\/pave\/e2e\/(testcluster|localcluster)$/)
					cluster = 1
			if ((want == "cluster") == cluster)
				print pkg
		}'
