#!/usr/bin/env bash
# Installs Debian's OpenStack Keystone (bookworm: 22.0.2, Zed) for the tests
# of identity/keystone, which start Keystones of their own on loopback ports
# (internal/keystonetest). Safe to run again: it does nothing when
# keystone-manage and keystone-wsgi-public are already there.
#
# It installs python3-keystone, which holds Keystone and both commands, and
# not the keystone package, which adds only Debian's daemon (a uwsgi service
# on port 5000, dbconfig): the tests never use it. Should an install start a
# service anyway, policy-rc.d (exit 101) keeps it from starting, and a
# keystone service found afterwards is stopped and disabled. Needs root (or
# sudo).
set -euo pipefail

if [ -x /usr/bin/keystone-manage ] && [ -x /usr/bin/keystone-wsgi-public ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

"$(dirname "$0")/apt-install-quiet.sh" python3-keystone

# If Debian's keystone daemon package is (or was already) installed, keep its
# service from running or starting at boot: the tests do not need it.
if [ -e /etc/init.d/keystone ] || [ -e /lib/systemd/system/keystone.service ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now keystone >/dev/null 2>&1 || true
  else
    $SUDO /etc/init.d/keystone stop >/dev/null 2>&1 || true
    $SUDO update-rc.d keystone disable >/dev/null 2>&1 || true
  fi
fi
