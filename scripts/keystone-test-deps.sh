#!/usr/bin/env bash
# Installs Debian's OpenStack Keystone for the tests of identity/keystone,
# which start their own Keystone on a loopback port (internal/keystonetest).
# Safe to run again: it does nothing when keystone-manage is already there.
# No service is started by the install (policy-rc.d answers 101), and if the
# package left an Apache or keystone daemon running anyway, it is stopped:
# the tests never use it. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/keystone-manage ] && [ -x /usr/bin/keystone-wsgi-public ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# Keep invoke-rc.d from starting apache2/keystone while installing. An
# existing policy-rc.d is saved and put back afterwards.
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

echo "installing: keystone"
$SUDO apt-get update -qq
# debconf: no questions, no database or endpoint registration by the package.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends keystone

# If anything got started regardless (e.g. no invoke-rc.d in the path), stop
# it so that it cannot hold a port or a lock the tests might want.
for svc in apache2 keystone; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
  if [ -x "/etc/init.d/$svc" ]; then
    $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done
