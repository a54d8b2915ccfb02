#!/usr/bin/env bash
# Install what the browser tests need: Debian's Chromium (/usr/bin/chromium) and the
# playwright Python package in .venv. Idempotent: does nothing when both are present.
# Never runs `playwright install`: browsers cannot be downloaded here, the tests drive
# the system Chromium through executable_path instead.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.65.2"
CHROMIUM=/usr/bin/chromium
PY=".venv/bin/python"
[ -x "$PY" ] || PY="$(command -v python3)"

if [ -x "$CHROMIUM" ]; then
    echo "install_browser: $($CHROMIUM --version 2>/dev/null || echo chromium) already installed"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: installing Debian's chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    echo "install_browser: $($CHROMIUM --version 2>/dev/null || echo 'chromium installed')"
else
    echo "install_browser: $CHROMIUM is missing and this is not root with apt-get;" \
        "browser tests will be skipped" >&2
fi

# Fonts for Chinese and emoji, so that screenshots of the UI show characters, not boxes.
fonts=()
if command -v fc-list >/dev/null 2>&1; then
    [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ] || fonts+=(fonts-wqy-zenhei)
    fc-list 2>/dev/null | grep -qi "emoji" || fonts+=(fonts-noto-color-emoji)
fi
if [ -x "$CHROMIUM" ] && [ "${#fonts[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: installing fonts: ${fonts[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${fonts[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
            "${fonts[@]}" >/dev/null; } \
        || echo "install_browser: could not install ${fonts[*]} (screenshots may show boxes)" >&2
fi

installed="$("$PY" -c 'import importlib.metadata as m; print(m.version("playwright"))' \
    2>/dev/null || true)"
if [ "$installed" = "$PLAYWRIGHT_VERSION" ]; then
    echo "install_browser: playwright $installed already installed"
else
    echo "install_browser: installing playwright==$PLAYWRIGHT_VERSION (package only, no browsers)"
    "$PY" -m pip install --quiet "playwright==$PLAYWRIGHT_VERSION"
fi
