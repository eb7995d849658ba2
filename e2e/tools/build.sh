#!/usr/bin/env bash
# Builds the local control plane used by `make cluster-up` and the e2e tests:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok, and
# kube-score (which render's tests run), from Go modules only (no Docker, no
# downloaded release binaries).
#
# Output goes to <repo>/.cache/bin/<component>-<version>/, so a version bump in
# e2e/tools/go.mod or e2e/tools/kwok/go.mod builds into a new directory. What
# already exists is skipped, so running this twice is cheap. Binaries are built
# one after another (the go tool already uses every core for one build) and
# written atomically, so an interrupted build never leaves a half binary behind.
#
# `build.sh peers` also builds the tools `make bench-peers` compares pave with
# (helm, conftest, kubectl, and Flux's source-controller and
# kustomize-controller), into the same cache; `make tools` does not build them.
#
# Needs only Go and the module proxy. See e2e/README.md.
set -euo pipefail

with_peers=""
if [[ "${1:-}" == "peers" ]]; then
	with_peers=1
fi

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${tools_dir}/../.." && pwd)"
bin_root="${PAVE_TOOLS_CACHE:-${repo_root}/.cache/bin}"

export GOWORK=off
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

log() { printf '[e2e/tools] %s\n' "$*" >&2; }

mkdir -p "${bin_root}"
# Two builds at once (say `make test` and `make cluster-up`) would each try to
# compile Kubernetes; the second waits for the first and then finds everything.
if command -v flock >/dev/null 2>&1; then
	exec 9>"${bin_root}/.build.lock"
	if ! flock -n 9; then
		log "another build is running; waiting for it"
		flock 9
	fi
fi

module_version() { # dir module
	(cd "$1" && go list -m -f '{{.Version}}' "$2")
}

k8s_version="$(module_version "${tools_dir}" k8s.io/kubernetes)"
etcd_version="$(module_version "${tools_dir}" go.etcd.io/etcd/server/v3)"
kwok_version="$(module_version "${tools_dir}/kwok" sigs.k8s.io/kwok)"
kubescore_version="$(module_version "${tools_dir}/kubescore" github.com/zegl/kube-score)"

partial="" # binary being written; removed if the build fails or is interrupted
trap 'if [[ -n "${partial}" ]]; then rm -f "${partial}"; fi' EXIT

# build DIR PACKAGE OUTPUT [LDFLAGS]
build() {
	local dir="$1" pkg="$2" out="$3" ldflags="${4:-}"
	local name
	name="$(basename "${out}")"
	if [[ -x "${out}" ]]; then
		log "ok       ${name} (${out#"${repo_root}/"})"
		return
	fi
	mkdir -p "$(dirname "${out}")"
	log "building ${name} from ${pkg} ..."
	local start=${SECONDS}
	partial="${out}.tmp.$$"
	(cd "${dir}" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${partial}" "${pkg}")
	mv -f "${partial}" "${out}"
	partial=""
	log "built    ${name} in $((SECONDS - start))s (${out#"${repo_root}/"})"
}

total_start=${SECONDS}

k8s_dir="${bin_root}/k8s-${k8s_version}"
k8s_minor="${k8s_version#v*.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=${k8s_version}"
k8s_ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
k8s_ldflags+=" -X k8s.io/component-base/version.gitMinor=${k8s_minor}"
k8s_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

build "${tools_dir}" ./etcd "${bin_root}/etcd-${etcd_version}/etcd"
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
	build "${tools_dir}" "k8s.io/kubernetes/cmd/${cmd}" "${k8s_dir}/${cmd}" "${k8s_ldflags}"
done

kwok_dir="${bin_root}/kwok-${kwok_version}"
build "${tools_dir}/kwok" sigs.k8s.io/kwok/cmd/kwok "${kwok_dir}/kwok" \
	"-X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}"

# kwok does nothing without Stage definitions. Its default ones ship inside
# the kwok module; copy them next to the binary. e2e/localcluster reads them
# and adds the failure simulation (see e2e/README.md).
stages_dir="${kwok_dir}/stages"
if [[ ! -f "${stages_dir}/.complete" ]]; then
	(cd "${tools_dir}/kwok" && go mod download sigs.k8s.io/kwok)
	kwok_src="$(cd "${tools_dir}/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
	mkdir -p "${stages_dir}"
	for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		install -m 0644 "${kwok_src}/kustomize/stage/${f}" "${stages_dir}/$(basename "${f}")"
	done
	touch "${stages_dir}/.complete"
	log "copied   kwok default stages (${stages_dir#"${repo_root}/"})"
fi

# kube-score judges the example catalog's rendered golden paths
# (render's TestExampleCatalogKubeScore).
build "${tools_dir}/kubescore" github.com/zegl/kube-score/cmd/kube-score \
	"${bin_root}/kube-score-${kubescore_version}/kube-score" \
	"-X main.version=${kubescore_version#v}"

if [[ -n "${with_peers}" ]]; then
	# The scripted pipeline of `make bench-peers`: helm template + conftest
	# test per service, kubectl apply --server-side. kubectl comes from the
	# same Kubernetes module as the control plane.
	build "${tools_dir}" k8s.io/kubernetes/cmd/kubectl "${k8s_dir}/kubectl" "${k8s_ldflags}"
	helm_version="$(module_version "${tools_dir}/helm" helm.sh/helm/v3)"
	build "${tools_dir}/helm" helm.sh/helm/v3/cmd/helm "${bin_root}/helm-${helm_version}/helm" \
		"-X helm.sh/helm/v3/internal/version.version=${helm_version}"
	conftest_version="$(module_version "${tools_dir}/conftest" github.com/open-policy-agent/conftest)"
	build "${tools_dir}/conftest" github.com/open-policy-agent/conftest \
		"${bin_root}/conftest-${conftest_version}/conftest" \
		"-X github.com/open-policy-agent/conftest/internal/version.Version=${conftest_version#v}"

	# Flux's controllers at their release tags. Their go.mod replaces the
	# nested ./api module with a directory the published module zip does not
	# hold, so `go install` refuses them; build inside a writable copy of the
	# module with that one replace dropped (go.mod already requires the
	# published api module of the same version). The CRDs ship in the module.
	# v1.9.6: the module proxy does not serve some dependencies of v1.10
	# (fluxcd/pkg/artifact v0.27, cosign v3.1); source-controller v1.9.6's
	# fluxcd/pkg/artifact v0.18.3 is not served either, so it takes v0.18.0,
	# the nearest release that is.
	for ctl in source-controller kustomize-controller; do
		ctl_version="${FLUX_VERSION:-v1.9.6}"
		out="${bin_root}/flux-${ctl_version}/${ctl}"
		if [[ ! -x "${out}" ]]; then
			src="$(cd "${tools_dir}" && go mod download -json "github.com/fluxcd/${ctl}@${ctl_version}" |
				sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
			work="${bin_root}/flux-${ctl_version}/src/${ctl}"
			rm -rf "${work}"
			mkdir -p "$(dirname "${work}")"
			cp -r "${src}" "${work}"
			chmod -R u+w "${work}"
			(cd "${work}" && go mod edit -dropreplace "github.com/fluxcd/${ctl}/api")
			if [[ "${ctl}" == source-controller ]]; then
				(cd "${work}" && go mod edit -replace github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@v0.18.0)
			fi
			mkdir -p "${bin_root}/flux-${ctl_version}/crd"
			install -m 0644 "${work}"/config/crd/bases/*.yaml "${bin_root}/flux-${ctl_version}/crd/"
		fi
		GOFLAGS=-mod=mod build "${bin_root}/flux-${ctl_version}/src/${ctl}" . "${out}"
	done
fi

log "done in $((SECONDS - total_start))s: ${bin_root#"${repo_root}/"}/{k8s-${k8s_version},etcd-${etcd_version},kwok-${kwok_version},kube-score-${kubescore_version}}"
