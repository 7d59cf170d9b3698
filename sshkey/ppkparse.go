package sshkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"math/big"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ppkPrefix starts every PPK file; the version number follows it.
const ppkPrefix = "PuTTY-User-Key-File-"

// ppkMaxLines bounds a Public-Lines or Private-Lines count; a 16384-bit
// RSA key needs about 40.
const ppkMaxLines = 256

// ppkReader walks the lines of a PPK file. PuTTY writes LF but reads
// CR LF and lone CR too.
type ppkReader struct {
	buf   []byte // a copy of the file with LF line ends; clear when done
	lines [][]byte
}

func newPPKReader(data []byte) *ppkReader {
	buf := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
		}
		buf = append(buf, c)
	}
	return &ppkReader{buf: buf, lines: bytes.Split(buf, []byte("\n"))}
}

// field reads the next line as "name: value".
func (r *ppkReader) field(name string) (string, error) {
	if len(r.lines) == 0 {
		return "", malformed("PPK file ends before " + name)
	}
	line := r.lines[0]
	r.lines = r.lines[1:]
	v, ok := bytes.CutPrefix(line, []byte(name+": "))
	if !ok {
		return "", malformed("PPK file has no " + name + " line where expected")
	}
	return string(v), nil
}

// blob reads a "name: count" line and that many lines of base64.
func (r *ppkReader) blob(name string) ([]byte, error) {
	v, err := r.field(name)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > ppkMaxLines || strings.TrimLeft(v, "0123456789") != "" || n > len(r.lines) {
		return nil, malformed("PPK file has a bad " + name + " count")
	}
	var enc []byte
	for _, l := range r.lines[:n] {
		enc = append(enc, l...)
	}
	r.lines = r.lines[n:]
	defer clear(enc)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	m, err := base64.StdEncoding.Decode(out, enc)
	if err != nil {
		clear(out)
		return nil, malformed("PPK file has bad base64 after " + name)
	}
	return out[:m], nil
}

// parsePPK reads an unencrypted PuTTY key file of version 2 or 3 and
// checks its MAC, as puttygen does before trusting either half.
func parsePPK(data []byte) (*PrivateKey, error) {
	r := newPPKReader(data)
	defer clear(r.buf)
	first := string(r.lines[0])
	var (
		macKey  []byte
		macHash func() hash.Hash
		alg     string
	)
	switch {
	case strings.HasPrefix(first, ppkHeader3):
		alg, macHash = first[len(ppkHeader3):], sha256.New
	case strings.HasPrefix(first, ppkHeader2):
		// Version 2 keys its SHA-1 MAC with SHA-1 of this string and
		// the passphrase, empty here.
		sum := sha1.Sum([]byte("putty-private-key-file-mac-key"))
		alg, macHash, macKey = first[len(ppkHeader2):], sha1.New, sum[:]
	default:
		return nil, malformed("PPK file of a version other than 2 or 3")
	}
	r.lines = r.lines[1:]
	enc, err := r.field("Encryption")
	if err != nil {
		return nil, err
	}
	if enc != ppkNone {
		return nil, ErrPrivateKeyEncrypted
	}
	comment, err := r.field("Comment")
	if err != nil {
		return nil, err
	}
	pub, err := r.blob("Public-Lines")
	if err != nil {
		return nil, err
	}
	priv, err := r.blob("Private-Lines")
	if err != nil {
		return nil, err
	}
	defer clear(priv)
	macHex, err := r.field("Private-MAC")
	if err != nil {
		return nil, err
	}
	for _, l := range r.lines {
		if len(bytes.TrimSpace(l)) != 0 {
			return nil, malformed("text after the PPK Private-MAC line")
		}
	}
	mac, err := hex.DecodeString(macHex)
	if err != nil || !hmac.Equal(mac, ppkMAC(macKey, macHash, alg, enc, comment, pub, priv)) {
		return nil, malformed("PPK Private-MAC does not match the file")
	}
	switch alg {
	case typeRSA, typeEd25519, typeECDSA256, typeECDSA384, typeECDSA521:
	default:
		return nil, fmt.Errorf("%w: %s", ErrPrivateKeyType, quoteShort(alg))
	}
	pk, err := ssh.ParsePublicKey(pub)
	if err != nil || pk.Type() != alg {
		return nil, malformed("PPK public key is invalid or not of the file's algorithm")
	}
	raw, err := ppkPrivate(pk, priv)
	if err != nil {
		return nil, err
	}
	k, err := newPrivateKey(raw, comment)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(k.pub.Marshal(), pub) {
		k.Zero()
		return nil, malformed("PPK private key does not belong to its public key")
	}
	return k, nil
}

// ppkPrivate rebuilds the private key from the public key and the private
// blob ppkPrivateBlob describes. Bytes after the fields are ignored, as
// PuTTY ignores them (encrypted files pad the blob).
func ppkPrivate(pk ssh.PublicKey, priv []byte) (any, error) {
	ck, ok := pk.(ssh.CryptoPublicKey)
	if !ok {
		return nil, ErrPrivateKeyType
	}
	w := wire(priv)
	bad := malformed("PPK private blob is invalid")
	switch pub := ck.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		var v [4]*big.Int // d, p, q, iqmp
		for i := range v {
			x, err := w.mpint()
			if err != nil {
				return nil, bad
			}
			v[i] = x
		}
		zeroInt(v[3]) // recomputed by Precompute
		key := &rsa.PrivateKey{PublicKey: *pub, D: v[0], Primes: []*big.Int{v[1], v[2]}}
		if key.Validate() != nil {
			return nil, bad
		}
		key.Precompute()
		return key, nil
	case *ecdsa.PublicKey:
		d, err := w.mpint()
		if err != nil {
			return nil, bad
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if d.BitLen() > 8*size {
			return nil, bad
		}
		b := d.FillBytes(make([]byte, size))
		defer clear(b)
		zeroInt(d)
		key, err := ecdsa.ParseRawPrivateKey(pub.Curve, b)
		if err != nil || !key.PublicKey.Equal(pub) {
			return nil, bad
		}
		return key, nil
	case ed25519.PublicKey:
		seed, err := w.str()
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, bad
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, ErrPrivateKeyType
}
