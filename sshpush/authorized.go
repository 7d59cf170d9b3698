package sshpush

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// probeComment starts the comment of the one-time probe key's line,
// followed by the Unix time it was made and a random tag. A probe line
// older than probeMaxAge (its task died between writing and removing it)
// is removed by the next rewrite; a younger one may be another task's,
// still proving itself, and is kept.
const probeComment = "keyhaven-probe-"

// probeMaxAge is how long a probe line may be in a file.
const probeMaxAge = 10 * time.Minute

// staleProbe reports whether comment is that of a probe line made more
// than probeMaxAge from now (or of no readable time).
func staleProbe(comment string, now time.Time) bool {
	rest, ok := strings.CutPrefix(comment, probeComment)
	if !ok {
		return false
	}
	stamp, _, _ := strings.Cut(rest, "-")
	sec, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return true
	}
	age := now.Sub(time.Unix(sec, 0))
	return age > probeMaxAge || age < -probeMaxAge
}

// parsedLine is one line of an authorized_keys file as sshd reads it.
type parsedLine struct {
	blob    []byte // the key's wire form; nil: not a key line
	comment string
	options []string
}

// parseLine parses one line (without its newline); a comment, a blank or
// malformed line has no key.
func parseLine(line []byte) parsedLine {
	line = bytes.TrimRight(line, "\r")
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] == '#' {
		return parsedLine{}
	}
	key, comment, options, _, err := ssh.ParseAuthorizedKey(trimmed)
	if err != nil {
		return parsedLine{}
	}
	return parsedLine{blob: key.Marshal(), comment: comment, options: options}
}

// certAuthority reports whether the line trusts its key as a certificate
// authority, which does not let the key itself log in.
func (p parsedLine) certAuthority() bool {
	for _, o := range p.options {
		if strings.EqualFold(o, "cert-authority") {
			return true
		}
	}
	return false
}

// publicKeyLine checks a public key given in authorized_keys format and
// returns its line (options and comment kept, surrounding space trimmed)
// and its wire form.
func publicKeyLine(s string) (string, []byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", nil, errors.New("not a single authorized_keys line")
	}
	p := parseLine([]byte(s))
	if p.blob == nil {
		return "", nil, errors.New("not a public key in authorized_keys format")
	}
	return s, p.blob, nil
}

// RewriteAuthorizedKeys computes the new content of an authorized_keys
// file: every line of current is kept byte for byte, in order, except the
// lines holding one of the keys in remove (whatever their options or
// comment) and probe lines older than probeMaxAge before now; add (when
// not empty) is appended unless a line already holds that key. A key both
// added and removed is kept. remove entries that do not parse are an
// error, as is a bad add.
func RewriteAuthorizedKeys(current []byte, add string, remove []string, now time.Time) ([]byte, error) {
	var addLine string
	var addBlob []byte
	if add != "" {
		var err error
		if addLine, addBlob, err = publicKeyLine(add); err != nil {
			return nil, fmt.Errorf("the key to add: %w", err)
		}
	}
	drop := make(map[string]bool, len(remove))
	for i, r := range remove {
		_, blob, err := publicKeyLine(r)
		if err != nil {
			return nil, fmt.Errorf("key %d to remove: %w", i+1, err)
		}
		if !bytes.Equal(blob, addBlob) {
			drop[string(blob)] = true
		}
	}

	var out bytes.Buffer
	out.Grow(len(current) + len(addLine) + 1)
	present := false
	rest := current
	for len(rest) > 0 {
		line := rest
		nl := bytes.IndexByte(rest, '\n')
		if nl >= 0 {
			line, rest = rest[:nl+1], rest[nl+1:]
		} else {
			rest = nil
		}
		p := parseLine(bytes.TrimSuffix(line, []byte("\n")))
		if p.blob != nil && (drop[string(p.blob)] || staleProbe(p.comment, now)) {
			continue
		}
		if addBlob != nil && p.blob != nil && !p.certAuthority() && bytes.Equal(p.blob, addBlob) {
			present = true
		}
		out.Write(line)
	}
	if addBlob != nil && !present {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		out.WriteString(addLine)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// holdsKey reports whether content has a line that lets key log in.
func holdsKey(content []byte, key string) bool {
	_, blob, err := publicKeyLine(key)
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(content, []byte("\n")) {
		p := parseLine(line)
		if p.blob != nil && !p.certAuthority() && bytes.Equal(p.blob, blob) {
			return true
		}
	}
	return false
}
