#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests
# (dashboard/browser_test.go), when it is missing. make test runs it.
set -euo pipefail
if command -v chromium >/dev/null; then
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "chromium is missing and this machine has no apt-get: install chromium (Debian's package) for the dashboard's browser tests" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
	sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
