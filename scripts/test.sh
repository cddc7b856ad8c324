#!/usr/bin/env bash
# Sets up everything the test suite needs, then runs it.
#   ./scripts/test.sh                 the whole suite
#   ./scripts/test.sh tests/platform  any pytest arguments
# Uses DATABASE_URL's PostgreSQL server when set (each run creates its own
# databases there), else starts an embedded PostgreSQL.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" test
VENV="${ATLAS_VENV:-$ROOT/.venv}"

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The certified OpenID provider (npm oidc-provider) the sign-in tests start: install its packages when they
# are missing or the lock file changed since the last install.
OIDC_NODE="$ROOT/tests/oidc_node"
LOCK_SUM="$(sha256sum "$OIDC_NODE/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$OIDC_NODE/node_modules/.atlas-lock-sha256" 2>/dev/null)" != "$LOCK_SUM" ]; then
  echo "==> npm ci in tests/oidc_node"
  (cd "$OIDC_NODE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$LOCK_SUM" > "$OIDC_NODE/node_modules/.atlas-lock-sha256"
fi

export PYTHONDONTWRITEBYTECODE=1
if [ "$#" = "0" ]; then
  echo "==> lint (ruff) and types (mypy --strict)"
  "$VENV/bin/ruff" check atlas tests $( [ -d benchmarks ] && echo benchmarks )
  "$VENV/bin/mypy" atlas
fi
# The whole suite runs in parallel test processes (pytest-xdist, one file per process at a time): most of its
# time is spent waiting on real servers, so two processes per core (at most 8) keep the cores busy
# (docs/testing.md). Each process has its own database, Temporal and Atlas. ATLAS_TEST_WORKERS=N chooses the
# number; 0 runs the tests in one process. With arguments (a file, -k) one process unless it is set.
PARALLEL=()
if [ "$#" = "0" ]; then
  cores="$(nproc)"
  DEFAULT_WORKERS=$(( cores * 2 < 8 ? cores * 2 : 8 ))
else
  DEFAULT_WORKERS=0
fi
WORKERS="${ATLAS_TEST_WORKERS:-$DEFAULT_WORKERS}"
if [ "$WORKERS" != "0" ]; then
  PARALLEL=(-n "$WORKERS" --dist loadfile)
fi
set +e
"$VENV/bin/python" -m pytest "${@:-tests}" -p no:cacheprovider "${PARALLEL[@]}"
status=$?
set -e
if [ "$status" = "5" ]; then
  echo "pytest collected no tests: that is a failure here." >&2
  exit 1
fi
exit "$status"
