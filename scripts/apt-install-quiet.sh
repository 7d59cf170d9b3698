#!/usr/bin/env bash
# Installs Debian packages without letting any of them start a service:
# tests start the servers they need themselves. A policy-rc.d that refuses
# every start is in place during the install; an existing one is saved and
# put back afterwards. Needs root (or sudo).
# Usage: scripts/apt-install-quiet.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
  saved=$(mktemp)
  $SUDO cp -p "$policy" "$saved"
fi
restore() {
  if [ -n "$saved" ]; then
    $SUDO cp -p "$saved" "$policy"
    rm -f "$saved"
  else
    $SUDO rm -f "$policy"
  fi
}
trap restore EXIT
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
$SUDO chmod 755 "$policy"

echo "installing: $*"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
