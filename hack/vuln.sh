#!/usr/bin/env bash
# make vuln: govulncheck on pave against the Go vulnerability database, with
# no network but the Go module proxy. govulncheck is built from its module at
# the version hack/tools/go.mod pins; the database is the module
# golang.org/x/vulndb as the proxy serves it (checksum-verified like any
# module), turned by hack/tools/vulndb into the layout govulncheck reads.
# Both are kept under .cache/.
#
# Fails (govulncheck's exit code 3) when pave's code reaches a vulnerable
# function, in a dependency or in the standard library of the Go toolchain in
# use (the Makefile's GOTOOLCHAIN). Vulnerabilities in packages pave imports
# but never calls into are listed, not failed on.
#
#   VULNDB_VERSION=latest make vuln     the newest database the proxy has
#   bash hack/vuln.sh -C DIR ./...      arguments go to govulncheck
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The database pave is checked against; `VULNDB_VERSION=latest make vuln`
# shows what a newer one finds before this is moved.
vulndb_version=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
tools=$root/.cache/tools

log() { printf '[vuln] %s\n' "$*" >&2; }

export GOWORK=off

# govulncheck and the converter; cheap when the build cache has them.
(cd hack/tools && go build -o "$tools/govulncheck" golang.org/x/vuln/cmd/govulncheck &&
	go build -o "$tools/vulndb" ./vulndb)

# The database module, outside any go.mod so no go.sum is touched.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! json=$(cd "$scratch" && go mod download -json "golang.org/x/vulndb@${vulndb_version}"); then
	log "golang.org/x/vulndb@${vulndb_version} could not be downloaded:"
	printf '%s\n' "$json" >&2
	exit 1
fi
field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$json"; }
version=$(field Version)
src=$(field Dir)
if [[ -z $version || ! -d $src/data/osv ]]; then
	log "golang.org/x/vulndb@${vulndb_version}: no data/osv in the module"
	printf '%s\n' "$json" >&2
	exit 1
fi

db=$root/.cache/vulndb/$version
if [[ ! -d $db ]]; then
	"$tools/vulndb" -src "$src/data/osv" -version "$version" -o "$db"
fi

log "$(go env GOVERSION), golang.org/x/vulndb@${version}"
if (($# == 0)); then
	set -- ./...
fi
exec "$tools/govulncheck" -db "file://$db" "$@"
