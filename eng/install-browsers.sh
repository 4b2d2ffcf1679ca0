#!/usr/bin/env bash
# Installs Debian's chromium and Firefox ESR when missing: the web console's tests drive both with Microsoft.Playwright
# (chromium at /usr/bin/chromium over the DevTools protocol, Firefox at /usr/lib/firefox-esr/firefox-esr over
# WebDriver BiDi). Playwright's own browser download is never used.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/lib/firefox-esr/firefox-esr ]] || missing+=(firefox-esr)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi

echo "Installing ${missing[*]} (Debian packages) for the web console's tests..."
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" fonts-dejavu-core
