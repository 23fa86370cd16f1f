#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: installs what is missing (Debian
# packages, the npm packages, schemathesis and python-socketio in a virtual environment), starts
# PostgreSQL and Redis if they are down, then runs the Prometheus rule tests, the Rust tests (which
# include the Node, Python and browser tests) and the API fuzzing.
#
# Set-up failures stop the run (nothing after them could run). The test stages all run, whatever
# one of them does, and a summary at the end names those that failed; the exit status is non-zero
# when any did.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

apt_updated=""
need_deb() { # need_deb PACKAGE...: installs those not installed
  local missing=()
  for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

passed=() failed=()
stage() { # stage NAME COMMAND...: runs a test stage and records its outcome; never exits
  step "$1"
  local name=$1 started=$SECONDS
  shift
  if "$@"; then
    passed+=("$name ($((SECONDS - started)) s)")
  else
    failed+=("$name (exit $?, $((SECONDS - started)) s)")
  fi
}

step "Debian packages: nginx (cluster tests), Chromium and an emoji font (browser tests), promtool"
# nginx-light runs private instances only; prometheus brings promtool (its service is not used).
need_deb nginx-light chromium fonts-noto-color-emoji prometheus curl
nginx -v
chromium --version
promtool --version | head -n 1

scripts/services.sh

step "npm packages (pinned by package-lock.json)"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
(cd load-tests/peers/node-socketio && npm ci --no-audit --no-fund --loglevel=error)

step "Python tools: schemathesis, python-socketio (scripts/requirements.txt) in target/tools/venv"
venv=target/tools/venv
# Installs unless every pinned line is already what pip freeze says.
if grep -v '^#' scripts/requirements.txt |
  grep -vxF -f <("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null || true) | grep -q .; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements.txt
fi
"$venv/bin/schemathesis" --version

alert_rules() {
  promtool check rules config/prometheus/alerts.yml &&
    promtool test rules config/prometheus/alerts.test.yml
}
api_fuzzing() {
  cargo build -j 2 --bin confab &&
    SCHEMATHESIS="$venv/bin/schemathesis" scripts/schemathesis.sh target/debug/confab
}

set +e
stage "Prometheus alert rules: syntax and unit tests" alert_rules
stage "The Rust test suite (with the Node, browser and cluster tests)" cargo test --workspace -j 2 --no-fail-fast
stage "Fuzzing the HTTP API from its description (scripts/schemathesis.sh)" api_fuzzing
set -e

step "Summary"
for name in "${passed[@]}"; do printf 'passed: %s\n' "$name"; done
for name in "${failed[@]}"; do printf 'FAILED: %s\n' "$name"; done
[ ${#failed[@]} -eq 0 ]
