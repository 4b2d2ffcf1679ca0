#!/usr/bin/env bash
# Installs Debian's prometheus (2.42) when it is missing, without starting its system service: the compatibility
# tests start a Prometheus server as a plain process with its own port, configuration and data directory, and check
# that it discovers its targets from Roster (http_sd_configs).
set -euo pipefail

if [[ -x /usr/bin/prometheus ]]; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi

echo "Installing prometheus (Debian package) for the compatibility tests..."
# policy-rc.d keeps the package from starting a server of its own on the default port.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy > /dev/null
    $sudo chmod +x $policy
    created_policy=true
fi
trap '[[ $created_policy == true ]] && $sudo rm -f $policy' EXIT

$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus
