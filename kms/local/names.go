package local

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// MaxKeyNameLength is the longest key name the backend accepts; with the
// version suffix a key's file name stays well under the 255 bytes file
// systems allow.
const MaxKeyNameLength = 128

// DefaultKPSKey is Huawei's default KMS key for KPS; Open creates it so
// that requests naming it work on a fresh install.
const DefaultKPSKey = "kps/default"

// ValidKeyName reports whether name may name a local key: 1 to
// MaxKeyNameLength characters of letters, digits, "_", "-", ":" and "/",
// the characters of Huawei KMS key aliases ("kps/default"), with no empty
// "/"-separated part. "@" separates the version in refs and "+" stands for
// "/" in file names, so neither may appear.
func ValidKeyName(name string) bool {
	if name == "" || len(name) > MaxKeyNameLength {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" {
			return false
		}
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == ':' || c == '/':
		default:
			return false
		}
	}
	return true
}

// fileName is the file of version n of key name: "master-v1.key",
// "kps+default-v1.key". The master key's files keep the names they have
// always had.
func fileName(name string, n int) string {
	return strings.ReplaceAll(name, "/", "+") + "-v" + strconv.Itoa(n) + ".key"
}

// parseFileName is the inverse of fileName; ok is false for any other file.
func parseFileName(file string) (name string, n int, ok bool) {
	s, ok := strings.CutSuffix(file, ".key")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(s, "-v")
	if i < 0 {
		return "", 0, false
	}
	if n, ok = positive(s[i+2:]); !ok {
		return "", 0, false
	}
	name = strings.ReplaceAll(s[:i], "+", "/")
	if !ValidKeyName(name) || strings.Contains(s[:i], "/") {
		return "", 0, false
	}
	return name, n, true
}

func ref(name string, v int) string { return Name + "/" + name + "@v" + strconv.Itoa(v) }

// parseKey splits the key part of a ref or a key name: "demo@v2" gives
// "demo" and 2, "demo" gives "demo" and 0 (the latest), "" the master key.
func parseKey(key string) (name string, version int, ok bool) {
	if key == "" {
		return KeyName, 0, true
	}
	name, v, versioned := strings.Cut(key, "@v")
	if !ValidKeyName(name) {
		return "", 0, false
	}
	if !versioned {
		return name, 0, true
	}
	if version, ok = positive(v); !ok {
		return "", 0, false
	}
	return name, version, true
}

func positive(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// KeyFileRef returns the ref ("local/NAME@vN") of the key version a file
// of the key directory holds; ok is false for any other file. Backups use
// it to say which ref each exported key file serves.
func KeyFileRef(file string) (string, bool) {
	name, n, ok := parseFileName(file)
	if !ok {
		return "", false
	}
	return ref(name, n), true
}

// DecodeKeyFile returns the key a key file's content holds.
func DecodeKeyFile(data []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("local: key file is corrupt: want the base64 of %d bytes", keySize)
	}
	return key, nil
}
