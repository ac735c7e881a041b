#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright drives it; its
# own browser download does not work offline). Does nothing if it is there.
set -euo pipefail
CHROMIUM="${EARLY_WARNING_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "The browser tests need Chromium at $CHROMIUM (set EARLY_WARNING_CHROMIUM to another path)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "Installing Debian's chromium package for the browser tests ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends chromium >/dev/null \
  || { $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }
"$CHROMIUM" --version
