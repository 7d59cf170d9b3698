#!/usr/bin/env bash
# Installs Debian's PostgreSQL (bookworm: 15) for the tests of
# store/postgres, which start throwaway servers of their own with initdb and
# pg_ctl in temporary directories (internal/pgtest). Safe to run again: it
# does nothing when initdb and pg_ctl are already under
# /usr/lib/postgresql/*/bin.
#
# Debian's postgresql package creates a cluster (15/main) and a service for
# it; the tests use neither. policy-rc.d (exit 101) keeps the service from
# starting during the install, and a cluster service found running
# afterwards is stopped and disabled. Needs root (or sudo).
set -euo pipefail

for d in /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    exit 0
  fi
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

"$(dirname "$0")/apt-install-quiet.sh" postgresql

# Keep Debian's own cluster from running now or at boot: the tests start
# servers of their own.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
else
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for c in /etc/postgresql/*/*; do
      [ -d "$c" ] || continue
      $SUDO pg_ctlcluster "$(basename "$(dirname "$c")")" "$(basename "$c")" stop >/dev/null 2>&1 || true
    done
  fi
  $SUDO update-rc.d postgresql disable >/dev/null 2>&1 || true
fi
