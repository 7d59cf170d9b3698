#!/usr/bin/env bash
# Installs Debian's SoftHSM2 (bookworm: 2.6.1) for the tests of kms/pkcs11
# and escrow, which create throwaway tokens of their own in temporary
# directories (kms/pkcs11/softhsmtest). Safe to run again: it does nothing
# when softhsm2-util and the PKCS#11 module are already there. Needs root
# (or sudo).
#
# Only softhsm2 is installed: the tests drive the token through
# softhsm2-util and the module itself, so opensc's pkcs11-tool is not needed.
set -euo pipefail

module_present() {
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so \
    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && return 0
  done
  return 1
}

if command -v softhsm2-util >/dev/null 2>&1 && module_present; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: softhsm2"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends softhsm2
