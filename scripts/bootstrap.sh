#!/usr/bin/env bash
# Shared set-up for start-demo.sh and test.sh: a virtualenv with Atlas installed.
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ATLAS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Atlas needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# The invoice PDF's font (atlas.billing.invoice_pdf): Amiri, Arabic and Latin in one family, SIL OFL, Debian's.
if [ ! -f /usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf ] && [ -z "${ATLAS_PDF_FONT_DIR:-}" ]; then
  echo "==> installing Debian's fonts-hosny-amiri for the invoice PDF"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-hosny-amiri >/dev/null
fi
STAMP="$VENV/.atlas-installed${EXTRAS:+-$EXTRAS}"
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  echo "==> installing Atlas${EXTRAS:+ [$EXTRAS]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  echo "$HASH" > "$STAMP"
fi
