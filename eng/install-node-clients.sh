#!/usr/bin/env bash
# Installs the Node.js discovery clients the compatibility tests drive against Roster (the npm packages pinned in
# tests/Roster.Compat.Tests/clients/package-lock.json), and Debian's nodejs and npm when the machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        sudo="sudo"
    fi

    echo "Installing nodejs and npm (Debian packages) for the compatibility tests..."
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi

npm ci --prefix tests/Roster.Compat.Tests/clients --no-audit --no-fund --loglevel=error
