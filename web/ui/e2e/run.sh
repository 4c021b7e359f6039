#!/usr/bin/env bash
# Browser tests of the web UI: Debian's Chromium driven by playwright-core
# (pinned in package-lock.json) against the real backstop binary, which the
# tests build and start themselves. Installs what is missing; never skips.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
	echo "ui tests: installing Debian's chromium" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
command -v node >/dev/null || { echo "ui tests: node is needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 appliance.test.mjs
