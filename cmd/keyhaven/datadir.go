package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
)

// tightenDataDir checks an existing data directory before it is used: it
// holds the database, token keys, the credential key and the local KMS
// master key, so group or others must not read it. A directory this
// process owns is set to 0700 and the change is reported; one it does not
// own is left alone (changing another user's directory is not ours to
// do) with a warning. A missing directory is fine: openStore creates it
// with 0700.
func tightenDataDir(dir string, log *slog.Logger, stderr io.Writer) error {
	fi, err := os.Stat(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data dir: %s is not a directory", dir)
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) == os.Geteuid() {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir: tightening %s: %w", dir, err)
		}
		log.Warn("data directory was readable by group or others; set it to 0700", "path", dir, "was", fmt.Sprintf("%04o", mode))
		fmt.Fprintf(stderr, "keyhaven: warning: data directory %s had mode %04o (group or others could read its secrets); it is now 0700\n", dir, mode)
		return nil
	}
	log.Warn("data directory is readable by group or others and not owned by this user; left as is", "path", dir, "mode", fmt.Sprintf("%04o", mode))
	fmt.Fprintf(stderr, "keyhaven: warning: data directory %s has mode %04o (group or others may read its secrets) and is not owned by this user, so it was left as is; run: chmod 0700 %s\n", dir, mode, dir)
	return nil
}

// warnTokensFile warns when the static tokens file, whose lines are bearer
// tokens, can be read by group or others. It is the operator's file,
// possibly outside the data directory, so it is only reported.
func warnTokensFile(path string, log *slog.Logger, stderr io.Writer) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	mode := fi.Mode().Perm()
	log.Warn("tokens file is readable by group or others", "path", path, "mode", fmt.Sprintf("%04o", mode))
	fmt.Fprintf(stderr, "keyhaven: warning: tokens file %s has mode %04o: group or others can read its tokens; run: chmod 0600 %s\n", path, mode, path)
}
