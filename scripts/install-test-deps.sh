#!/usr/bin/env bash
# Installs, on Debian, the system packages keyhaven's tests use. Safe to run
# again: it installs only what is missing. Needs root (or sudo).
set -euo pipefail

# Each package is listed with the command that shows it is installed.
declare -A need=(
  [chromium]=chromium           # headless Chromium: the web console's end-to-end tests (chromedp)
  [openssh-client]=ssh-keygen   # ssh-keygen: reference fingerprints, key generation, private key checks
  [openssl]=openssl             # cross-checks of X.509 fingerprints and PKCS#12 bundles
  [putty-tools]=puttygen        # puttygen: reads every PPK private key keyhaven writes
  [python3-openstackclient]=openstack  # the real openstack CLI, driven by the end-to-end tests
  [sudo]=sudo                   # the sshd tests' login users turn password login off through sudo -n
)

missing=()
for pkg in "${!need[@]}"; do
  command -v "${need[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
# python3-nova: real Nova's own key code, the oracle sshkey's tests compare with.
/usr/bin/python3 -c 'import nova.crypto' >/dev/null 2>&1 || missing+=(python3-nova)
# A real OpenStack Keystone, for the remote-Keystone tests, and SoftHSM2,
# the PKCS#11 HSM the escrow tests use.
"$(dirname "$0")/keystone-test-deps.sh"
"$(dirname "$0")/softhsm-test-deps.sh"
# OpenSSH's server, which the association tests start themselves
# (internal/sshdtest); installed so that apt does not start Debian's own.
if [ ! -x /usr/sbin/sshd ]; then
  "$(dirname "$0")/apt-install-quiet.sh" openssh-server
fi
# PostgreSQL, which the tests start themselves in a temporary directory.
"$(dirname "$0")/postgres-test-deps.sh"
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
