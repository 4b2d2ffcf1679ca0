#!/usr/bin/env bash
# Runs every test. This is the README's test command and what CI runs on a fresh machine.
# It installs what the tests need first (nothing beyond the .NET SDK and NuGet yet; RabbitMQ and
# Chromium join here when the cluster and web console land).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

dotnet build Roster.slnx -c Release
dotnet test Roster.slnx -c Release --no-build --logger "console;verbosity=normal" "$@"
