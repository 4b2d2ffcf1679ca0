#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: the web console's tests drive it with Microsoft.Playwright
# (ExecutablePath /usr/bin/chromium). Playwright's own browser download is never used.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi

echo "Installing chromium (Debian package) for the web console's tests..."
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
