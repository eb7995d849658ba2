#!/usr/bin/env bash
# make demo: pave's main job on the example catalog. Builds pave and the
# local control plane if needed, starts the staging and prod clusters, makes
# a git repository from catalog-repo-example, and runs `pave serve` against
# it with both clusters. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo=$root/.cache/demo
repo=$demo/catalog.git-work
port=${PAVE_DEMO_PORT:-8080}
probe_port=${PAVE_DEMO_PROBE_PORT:-8081}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  step "stopping the demo"
  [[ -n "${serve_pid:-}" ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  go run ./e2e/cmd/cluster down staging prod || true
}

step "pave validate (the catalog is checked before anything runs)"
bin/pave validate --catalog catalog-repo-example

step "local clusters: staging and prod"
trap cleanup EXIT
go run ./e2e/cmd/cluster up staging prod

step "a git repository made from catalog-repo-example"
rm -rf "$demo"
mkdir -p "$demo"
cp -r catalog-repo-example "$repo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=pave-demo -c user.email=demo@example.com commit -qm "Initial catalog"

step "pave serve"
bin/pave serve --repo "file://$repo" --branch main --cache-dir "$demo/cache" \
  --listen "127.0.0.1:$port" --probe-listen "127.0.0.1:$probe_port" --interval 10s --resync-interval 2m \
  --wait-timeout 30s \
  --cluster staging="$root/.cache/clusters/staging/kubeconfig" \
  --cluster prod="$root/.cache/clusters/prod/kubeconfig" \
  >"$demo/pave.log" 2>&1 &
serve_pid=$!

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$probe_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$demo/pave.log"; echo "pave serve exited" >&2; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$probe_port/readyz" >/dev/null
step "dashboard: http://127.0.0.1:$port/"

step "every service, per environment (pave status)"
bin/pave status --server "http://127.0.0.1:$port"

cat <<EOT

pave is reconciling the example catalog into two local clusters.

  dashboard   http://127.0.0.1:$port/
  status      http://127.0.0.1:$port/api/v1/services
  one         http://127.0.0.1:$port/api/v1/services/payments/checkout
  source      http://127.0.0.1:$port/api/v1/source
  metrics     http://127.0.0.1:$probe_port/metrics
  log         $demo/pave.log
  kubeconfigs $root/.cache/clusters/staging/kubeconfig
              $root/.cache/clusters/prod/kubeconfig

Try it: edit a service.yaml, review the change, commit, and watch it go
to staging, then to prod once staging is Ready (within 10 s):

  cd $repo
  sed -i 's/checkout:1.4.2/checkout:1.4.3/' services/payments/checkout/service.yaml
  $root/bin/pave check --base HEAD        # what the pull request would show
  git commit -qam "checkout 1.4.3"
  $root/bin/pave status payments/checkout --server http://127.0.0.1:$port

Ctrl-C stops pave and both clusters.
EOT

# pairs prints checkout's status per environment: phase, running and
# pending revision, gate.
pairs() {
  bin/pave status payments/checkout --server "http://127.0.0.1:$port"
}

# waitfor CONDITION: polls checkout's status until the python condition on
# e (environments by name) holds.
waitfor() {
  for _ in $(seq 1 90); do
    got=$(curl -fsS "http://127.0.0.1:$port/api/v1/services/payments/checkout" | python3 -c 'import json,sys; e=json.load(sys.stdin)["environments"]; print("ok" if ('"$1"') else "")')
    [[ "$got" == ok ]] && return 0
    sleep 1
  done
  pairs >&2
  tail -20 "$demo/pave.log" >&2
  return 1
}

if [[ -n "${PAVE_DEMO_SCRIPTED:-}" ]]; then
  # Non-interactive run (CI): a failing change halts in staging, prod keeps
  # running the previous revision; the fix is promoted through staging to
  # prod.
  waitfor 'all(v["phase"]=="Ready" for v in e.values())'
  good=$(git -C "$repo" rev-parse HEAD)
  step "a failing change: checkout 1.5.0 whose pods never become ready"
  sed -i 's/checkout:1.4.2/checkout:1.5.0/' "$repo/services/payments/checkout/service.yaml"
  cat >>"$repo/services/payments/checkout/service.yaml" <<'EOY'
  patches:
    - target: {kind: Deployment}
      patch: |-
        - {op: add, path: /spec/template/metadata/annotations/e2e.pave.dev~1unready, value: "true"}
EOY
  git -C "$repo" -c user.name=pave-demo -c user.email=demo@example.com commit -qam "checkout 1.5.0"
  waitfor 'e["staging"]["phase"]=="Failed" and e["prod"].get("gate","").startswith("halted:") and e["prod"]["appliedRevision"]=="'"$good"'"' ||
    { echo "the failing change was not halted in staging" >&2; exit 1; }
  step "halted in staging; prod keeps the previous revision"
  pairs

  step "the fix: checkout 1.5.1"
  git -C "$repo" checkout -q HEAD~1 -- services/payments/checkout/service.yaml
  sed -i 's/checkout:1.4.2/checkout:1.5.1/' "$repo/services/payments/checkout/service.yaml"
  step "pave check --base HEAD: the review of the change, as a pull request shows it"
  bin/pave check --catalog "$repo" --base HEAD -o markdown --output-file "$demo/review.md"
  sed -n '1,12p' "$demo/review.md"
  git -C "$repo" -c user.name=pave-demo -c user.email=demo@example.com commit -qam "checkout 1.5.1"
  want=$(git -C "$repo" rev-parse HEAD)
  waitfor 'all(v.get("appliedRevision")=="'"$want"'" and v["phase"]=="Ready" for v in e.values())' ||
    { echo "the fix did not roll out" >&2; exit 1; }
  step "the fix went through staging and was promoted to prod"
  pairs
  exit 0
fi
wait "$serve_pid"
