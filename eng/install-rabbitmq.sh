#!/usr/bin/env bash
# Installs Debian's rabbitmq-server (3.10.x) when it is missing, without starting its system service: Roster's
# tests and eng/cluster.sh start brokers as plain processes with their own ports and directories.
set -euo pipefail

if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    exit 0
fi

echo "Installing rabbitmq-server (Debian package) for the cluster tests..."
"$(dirname "$0")/apt-install.sh" rabbitmq-server
