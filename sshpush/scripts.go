package sshpush

// The programs keyhaven runs on a server, with /bin/sh. They hold no data
// and no credential: what they write arrives on stdin. A failure they
// explain is a "keyhaven: " line on stderr and exit status 3. They contain
// no single quote, so shellCommand quotes them whole.

// scriptWhoami prints the login user's uid and name.
const scriptWhoami = `id -u; id -un`

// scriptReadKeys prints a marker line saying whether the login user's
// ~/.ssh/authorized_keys is there, then the file. The marker lets the
// caller skip anything a shell startup file printed first.
const scriptReadKeys = `
f="$HOME/.ssh/authorized_keys"
if [ -e "$f" ]; then
  printf "keyhaven-authorized-keys present\n"
  cat -- "$f" || { printf "keyhaven: cannot read %s\n" "$f" >&2; exit 3; }
else
  printf "keyhaven-authorized-keys absent\n"
fi
`

// scriptWriteKeys replaces ~/.ssh/authorized_keys with stdin ($2 =
// "write") or removes it ($2 = "remove"), only if the file is still what
// keyhaven read ($1: its cksum "CRC LENGTH", or "absent"); exit status 4
// when it is not, so that keyhaven reads it again rather than lose
// another writer's change. The new file is a temporary file in ~/.ssh
// (created 0700 if missing), synced, mode 0600, the old file's owner when
// run as root, renamed over the old file, the directory synced. A file
// the user may not write is refused rather than replaced through a
// writable directory, which would change its owner.
const scriptWriteKeys = `
fail() { printf "keyhaven: %s\n" "$*" >&2; exit 3; }
want=$1 mode=$2
umask 077
me=$(id -un)
[ -n "$HOME" ] && [ -d "$HOME" ] || fail "the home directory of $me ($HOME) does not exist"
d="$HOME/.ssh"
f="$d/authorized_keys"
unchanged() {
  cur=absent
  if [ -e "$f" ]; then
    cur=$(cksum < "$f") || fail "cannot read $f"
    set -- $cur
    cur="$1 $2"
  fi
  [ "$cur" = "$want" ]
}
if [ "$mode" = remove ]; then
  # (no lock: only a rollback removes, right after its own write)
  unchanged || exit 4
  err=$(rm -f -- "$f" 2>&1) || fail "cannot remove $f: $err"
  exit 0
fi
if [ ! -d "$d" ]; then
  err=$(mkdir -m 700 -- "$d" 2>&1) || fail "cannot create $d: $err"
fi
if [ -L "$f" ]; then
  set -- $(ls -ld -- "$f")
  fail "$f is a symbolic link (to ${11:-?}); keyhaven does not replace a link it did not make"
fi
if [ -e "$f" ] && [ ! -w "$f" ]; then
  set -- $(ls -ld -- "$f")
  fail "$f is not writable by $me (mode $1, owner $3)"
fi
if [ ! -w "$d" ]; then
  set -- $(ls -ld -- "$d")
  fail "$d is not writable by $me (mode $1, owner $3)"
fi
tmp=$(mktemp "$d/.authorized_keys.keyhaven.XXXXXX" 2>&1) || fail "cannot create a file in $d: $tmp"
trap "rm -f -- \"\$tmp\"" EXIT
err=$(cat > "$tmp" 2>&1) || fail "cannot write $tmp: $err"
if [ -e "$f" ] && [ "$(id -u)" = 0 ]; then
  set -- $(ls -nd -- "$f")
  err=$(chown -- "$3:$4" "$tmp" 2>&1) || fail "cannot give $tmp the owner of $f: $err"
fi
err=$(chmod 600 -- "$tmp" 2>&1) || fail "chmod $tmp: $err"
sync -- "$tmp" 2>/dev/null || sync
# Compare and rename under a lock, so that two keyhaven writers cannot both
# see the file unchanged. The lock is held for a moment only: one held for
# five seconds was left by a killed session and is taken over.
lock="$d/.authorized_keys.keyhaven-lock"
i=0
until mkdir -- "$lock" 2>/dev/null; do
  i=$((i+1))
  if [ "$i" -ge 50 ]; then rmdir -- "$lock" 2>/dev/null; i=0; fi
  sleep 0.1 2>/dev/null || sleep 1
done
trap "rm -f -- \"\$tmp\"; rmdir -- \"\$lock\"" EXIT
unchanged || exit 4
err=$(mv -f -- "$tmp" "$f" 2>&1) || fail "cannot replace $f: $err"
sync -- "$d" 2>/dev/null || true
`

// fileMarker precedes the file scriptReadFile prints, so that whatever a
// shell startup file printed first is skipped.
const fileMarker = "keyhaven-file\n"

// scriptReadFile prints fileMarker, then the file $1 (the sshd
// configuration).
const scriptReadFile = `
[ -f "$1" ] || { printf "keyhaven: %s does not exist\n" "$1" >&2; exit 3; }
printf "keyhaven-file\n"
cat -- "$1" || { printf "keyhaven: cannot read %s\n" "$1" >&2; exit 3; }
`

// scriptWriteConfig replaces the sshd configuration $1 with stdin, keeping
// its mode and owner, only once "sshd -t" accepts the new text: the old
// file is never replaced by one sshd would refuse.
const scriptWriteConfig = `
fail() { printf "keyhaven: %s\n" "$*" >&2; exit 3; }
f=$1
[ -f "$f" ] || fail "$f does not exist"
sshd=""
for s in /usr/sbin/sshd /usr/local/sbin/sshd /sbin/sshd; do
  if [ -x "$s" ]; then sshd=$s; break; fi
done
[ -n "$sshd" ] || sshd=$(command -v sshd) || fail "sshd is not installed here"
tmp=$(mktemp "$f.keyhaven.XXXXXX" 2>&1) || fail "cannot create a file beside $f: $tmp"
trap "rm -f -- \"\$tmp\"" EXIT
err=$(cp -p -- "$f" "$tmp" 2>&1) || fail "cannot copy $f: $err"
err=$(cat > "$tmp" 2>&1) || fail "cannot write $tmp: $err"
err=$("$sshd" -t -f "$tmp" 2>&1) || fail "sshd -t refuses the changed configuration, $f left as it was: $err"
sync -- "$tmp" 2>/dev/null || sync
err=$(mv -f -- "$tmp" "$f" 2>&1) || fail "cannot replace $f: $err"
trap - EXIT
`

// scriptReload makes the sshd that reads the configuration re-read it:
// SIGHUP to the pid in $1 (its PidFile), or, when the configuration names
// none, in the default pid files; else the service manager.
const scriptReload = `
fail() { printf "keyhaven: %s\n" "$*" >&2; exit 3; }
if [ -n "$1" ]; then files=$1; else files="/run/sshd.pid /var/run/sshd.pid"; fi
for pf in $files; do
  if [ -s "$pf" ]; then
    pid=$(cat -- "$pf")
    # a stale pid file may name another program now: signal only an sshd
    # (asked of ps, else /proc; trusted when neither can tell)
    comm=$(ps -p "$pid" -o comm= 2>/dev/null) || comm=$(cat "/proc/$pid/comm" 2>/dev/null) || comm=sshd
    case $comm in
      *sshd*) if kill -HUP "$pid" 2>/dev/null; then exit 0; fi ;;
    esac
  fi
done
if command -v systemctl >/dev/null 2>&1; then
  systemctl reload ssh 2>/dev/null && exit 0
  systemctl reload sshd 2>/dev/null && exit 0
fi
if command -v service >/dev/null 2>&1; then
  service ssh reload >/dev/null 2>&1 && exit 0
  service sshd reload >/dev/null 2>&1 && exit 0
fi
fail "cannot reload sshd: no running sshd found through $files, systemctl or service"
`
