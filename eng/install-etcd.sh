#!/usr/bin/env bash
# Installs Debian's etcd (etcd-server 3.4) when it is missing, without starting its system service: the client SDK's
# tests start an etcd member as a plain process with its own ports and data directory, register providers in it the way
# go-zero does, and check that etcd:// sources follow them.
set -euo pipefail

if [[ -x /usr/bin/etcd ]]; then
    exit 0
fi

echo "Installing etcd-server (Debian package) for the client SDK's etcd source tests..."
"$(dirname "$0")/apt-install.sh" etcd-server
