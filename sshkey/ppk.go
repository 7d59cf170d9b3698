package sshkey

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math/big"
	"strconv"
)

// PuTTY's private key file format version 3, as its manual's appendix
// "PPK file format" describes it; only the unencrypted variant is written.
const (
	ppkHeader3    = "PuTTY-User-Key-File-3: "
	ppkHeader2    = "PuTTY-User-Key-File-2: "
	ppkNone       = "none"
	ppkLineLength = 64 // base64 characters per line, as puttygen writes
)

// encodePPK writes the key as puttygen does for an unprotected key. With
// no passphrase the MAC key is empty, so Private-MAC only detects
// corruption; the public blob is exactly the authorized_keys one.
func (k *PrivateKey) encodePPK() ([]byte, error) {
	pub := k.pub.Marshal()
	priv := k.ppkPrivateBlob()
	defer clear(priv)
	alg := k.pub.Type()
	mac := ppkMAC(nil, sha256.New, alg, ppkNone, k.Comment, pub, priv)

	// Sized up front so that the secret is never left behind in a buffer
	// that append outgrew.
	out := make([]byte, 0, 256+len(k.Comment)+2*base64.StdEncoding.EncodedLen(len(pub)+len(priv)))
	out = append(out, ppkHeader3+alg+"\n"...)
	out = append(out, "Encryption: "+ppkNone+"\n"...)
	out = append(out, "Comment: "+k.Comment+"\n"...)
	out = ppkAppendLines(out, "Public-Lines", pub)
	out = ppkAppendLines(out, "Private-Lines", priv)
	out = append(out, "Private-MAC: "+hex.EncodeToString(mac)+"\n"...)
	return out, nil
}

// ppkPrivateBlob is the algorithm-specific private part: mpints d, p, q,
// iqmp for RSA; the mpint scalar for ECDSA; the 32-byte seed as a string
// for Ed25519 (PuTTY stores EdDSA keys as their little-endian secret,
// which for Ed25519 is the seed as OpenSSH and RFC 8032 keep it).
func (k *PrivateKey) ppkPrivateBlob() []byte {
	var b []byte
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		// puttygen writes the larger prime first, and reorders a file
		// that does not.
		p, q := key.Primes[0], key.Primes[1]
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		iqmp := new(big.Int).ModInverse(q, p)
		b = appendMpint(b, key.D)
		b = appendMpint(b, p)
		b = appendMpint(b, q)
		b = appendMpint(b, iqmp)
		zeroInt(iqmp)
	case *ecdsa.PrivateKey:
		d, err := key.Bytes()
		if err != nil { // only for a curve newPrivateKey refuses
			panic("sshkey: " + err.Error())
		}
		b = appendMpintBytes(b, d)
		clear(d)
	case ed25519.PrivateKey:
		b = appendString(b, key.Seed())
	}
	return b
}

// ppkMAC computes Private-MAC over the length-prefixed algorithm,
// encryption, comment, public blob and private blob.
func ppkMAC(key []byte, h func() hash.Hash, alg, enc, comment string, pub, priv []byte) []byte {
	m := hmac.New(h, key)
	var b []byte
	b = appendString(b, []byte(alg))
	b = appendString(b, []byte(enc))
	b = appendString(b, []byte(comment))
	b = appendString(b, pub)
	m.Write(b)
	b = appendString(b[:0], priv)
	m.Write(b)
	clear(b)
	return m.Sum(nil)
}

// ppkAppendLines appends a "Name: count" header and b in base64 lines.
func ppkAppendLines(out []byte, name string, b []byte) []byte {
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	defer clear(enc)
	base64.StdEncoding.Encode(enc, b)
	n := (len(enc) + ppkLineLength - 1) / ppkLineLength
	out = append(out, name+": "+strconv.Itoa(n)+"\n"...)
	for s := enc; len(s) > 0; {
		l := min(len(s), ppkLineLength)
		out = append(out, s[:l]...)
		out = append(out, '\n')
		s = s[l:]
	}
	return out
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendMpint appends a non-negative x as an SSH mpint.
func appendMpint(b []byte, x *big.Int) []byte {
	v := x.Bytes()
	b = appendMpintBytes(b, v)
	clear(v)
	return b
}

// appendMpintBytes appends the big-endian unsigned v as an SSH mpint:
// no leading zero bytes, except one when the top bit is set.
func appendMpintBytes(b, v []byte) []byte {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	n := len(v)
	pad := n > 0 && v[0]&0x80 != 0
	if pad {
		n++
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	if pad {
		b = append(b, 0)
	}
	return append(b, v...)
}
