package sshpush

import (
	"bufio"
	"bytes"
	"strings"
)

// The marked block that turns password login off. sshd keeps the first
// value it reads for a keyword, so a block appended to the end would lose
// to an earlier "PasswordAuthentication yes" (a cloud image's drop-in, an
// Include at the top); a Match block's values override the global ones,
// and "Match all" applies to every connection. It also ends whatever
// Match block the file ended in.
const (
	blockBegin = "# BEGIN keyhaven"
	blockEnd   = "# END keyhaven"
	blockBody  = "# Added by keyhaven when a key pair was associated with disable_password;\n" +
		"# removed again when it is disassociated. Do not edit inside the markers.\n" +
		"Match all\n" +
		"\tPasswordAuthentication no\n" +
		"\tKbdInteractiveAuthentication no\n"
)

// WithoutPasswordBlock returns config without keyhaven's marked block (and
// without the blank line that separated it), unchanged when it has none.
func WithoutPasswordBlock(config []byte) []byte {
	lines := bytes.SplitAfter(config, []byte("\n"))
	var out bytes.Buffer
	out.Grow(len(config))
	in := false
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(string(lines[i]))
		switch {
		case !in && t == blockBegin:
			in = true
			// drop the blank line written before the block
			if b := out.Bytes(); bytes.HasSuffix(b, []byte("\n\n")) {
				out.Truncate(out.Len() - 1)
			}
		case in && t == blockEnd:
			in = false
		case !in:
			out.Write(lines[i])
		}
	}
	if in {
		// an unterminated block: keep the file as it is, not half of it
		return config
	}
	return out.Bytes()
}

// WithPasswordBlock returns config with keyhaven's block at its end (any
// earlier copy removed first).
func WithPasswordBlock(config []byte) []byte {
	base := WithoutPasswordBlock(config)
	var out bytes.Buffer
	out.Write(base)
	if len(base) > 0 && !bytes.HasSuffix(base, []byte("\n")) {
		out.WriteByte('\n')
	}
	if len(base) > 0 {
		out.WriteByte('\n')
	}
	out.WriteString(blockBegin + "\n" + blockBody + blockEnd + "\n")
	return out.Bytes()
}

// hasPasswordBlock reports whether config holds keyhaven's block.
func hasPasswordBlock(config []byte) bool {
	return !bytes.Equal(WithoutPasswordBlock(config), config)
}

// pidFile returns the PidFile a config names before any Match block (""
// when it names none: the server's compiled-in default).
func pidFile(config []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(config))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// "Keyword value", "Keyword=value" and "Keyword = value" are all
		// sshd's syntax.
		kw, value := line, ""
		if end := strings.IndexAny(line, " \t="); end >= 0 {
			kw, value = line[:end], strings.TrimLeft(line[end:], " \t")
			value = strings.TrimSpace(strings.TrimPrefix(value, "="))
		}
		kw = strings.ToLower(kw)
		if kw == "match" {
			return ""
		}
		if kw == "pidfile" {
			if f := strings.Fields(value); len(f) > 0 {
				return strings.Trim(f[0], `"`)
			}
		}
	}
	return ""
}
