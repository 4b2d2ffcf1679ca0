#!/usr/bin/env bash
# Installs Debian's prometheus (2.42) when it is missing, without starting its system service: the compatibility
# tests start a Prometheus server as a plain process with its own port, configuration and data directory, and check
# that it discovers its targets from Roster (http_sd_configs).
set -euo pipefail

if [[ -x /usr/bin/prometheus ]]; then
    exit 0
fi

echo "Installing prometheus (Debian package) for the compatibility tests..."
"$(dirname "$0")/apt-install.sh" prometheus
