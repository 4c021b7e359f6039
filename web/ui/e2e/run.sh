#!/usr/bin/env bash
# Browser tests for the web UI. Installs what is missing (Debian's chromium,
# the pinned playwright-core from package-lock.json), builds the appliance
# from this repository and runs the tests against it. Exits non-zero on any
# failure, including a missing prerequisite; it never skips.
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "web/ui/e2e: $*" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
	echo "web/ui/e2e: installing chromium (Debian package)"
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
	elif command -v sudo >/dev/null; then
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
	else
		die "/usr/bin/chromium is missing and cannot be installed without root: apt-get install chromium"
	fi
	[ -x /usr/bin/chromium ] || die "chromium did not install to /usr/bin/chromium"
fi

command -v node >/dev/null || die "node is missing (Node.js 20 or newer)"
command -v npm >/dev/null || die "npm is missing"
if ! command -v go >/dev/null; then
	[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH" || die "go is missing"
fi

# playwright-core only: it drives the system chromium and never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund --loglevel=error

# UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/.
exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
