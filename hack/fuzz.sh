#!/usr/bin/env bash
# make fuzz: runs every fuzz target in the module, one after another, each
# for FUZZ_TIME (a duration, or a count such as 1000x). Targets are found by
# `go test -list`, so a new Fuzz function is picked up without editing this.
# Their seed corpora (f.Add and testdata/fuzz/) already run in `make test`.
#
#   FUZZ_TIME=5m make fuzz
#   FUZZ='^FuzzParse' make fuzz          only the targets matching a regexp
#
# Exits 1 if any target fails; go test has then written the failing input to
# the package's testdata/fuzz/<target>/ — commit it as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_time=${FUZZ_TIME:-30s}
pattern=${FUZZ:-^Fuzz}

log() { printf '[fuzz] %s\n' "$*" >&2; }

# Only packages with a Fuzz function in a test file are listed, so this does
# not build every test binary of the module.
test_files='{{$d := .Dir}}{{range .TestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}'
files=$(go list -f "$test_files" ./...)
mapfile -t dirs < <(xargs -r grep -l '^func Fuzz' -- <<<"$files" | xargs -r -n1 dirname | sort -u)
if ((${#dirs[@]} == 0)); then
	log "no fuzz targets"
	exit 1
fi

# `go test -list` prints a package's test names, then its "ok" line.
list=$(go test -list '^Fuzz' "${dirs[@]}")
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do
			if [[ $n =~ $pattern ]]; then
				targets+=("$pkg $n")
			fi
		done
		names=()
		;;
	esac
done <<<"$list"

if ((${#targets[@]} == 0)); then
	log "no fuzz target matches ${pattern}"
	exit 1
fi
log "${#targets[@]} targets, ${fuzz_time} each"

failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	log "${name} (${pkg})"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzz_time" "$pkg"; then
		failed+=("$name ($pkg)")
	fi
done

if ((${#failed[@]})); then
	log "failed:"
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
log "passed: ${#targets[@]} targets, ${fuzz_time} each"
