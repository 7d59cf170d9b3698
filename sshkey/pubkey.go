package sshkey

import "encoding/base64"

// String renders the key as an authorized_keys line: type, base64 blob
// and the comment if there is one, with no trailing newline.
func (k *PublicKey) String() string {
	line := k.Type + " " + base64.StdEncoding.EncodeToString(k.Blob)
	if k.Comment != "" {
		line += " " + k.Comment
	}
	return line
}

// Canonical returns a copy of the key without the line's quirks: its
// FingerprintMD5 is then the MD5 of the blob, as `ssh-keygen -l -E md5`
// prints it, even for a line whose type and blob were separated by a tab
// or several spaces, where Nova's own MD5 differs (see
// ParseAuthorizedKey). The native API, which owes no bug-compatibility to
// Nova, stores canonical keys.
func (k *PublicKey) Canonical() *PublicKey {
	return &PublicKey{Type: k.Type, Blob: append([]byte(nil), k.Blob...), Comment: k.Comment}
}
