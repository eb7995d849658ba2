#!/usr/bin/env bash
# The demo of pave's golden path on the example catalog: validate every
# service, then scaffold a new one the way a developer would and validate
# the catalog again.
set -euo pipefail
cd "$(dirname "$0")/.."
pave=bin/pave
catalog=catalog-repo-example

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "pave version"
$pave version

step "pave validate --catalog $catalog"
$pave validate --catalog "$catalog"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$catalog" "$work/catalog"

step "pave new payments/refunds (in a copy of the catalog)"
$pave new payments/refunds --catalog "$work/catalog" \
  --image registry.example.com/payments/refunds:1.0.0 --port 8080
cat "$work/catalog/services/payments/refunds/service.yaml"

step "pave validate, with the new service"
$pave validate --catalog "$work/catalog"

step "a mistake is reported at its file and line"
sed -i 's/^  port: 8080/  port: "8080"/; s/^  size: small/  sise: small/' "$work/catalog/services/payments/refunds/service.yaml"
if $pave validate --catalog "$work/catalog"; then
  echo "expected validation to fail" >&2
  exit 1
fi
echo "demo finished"
