package sshkey

import (
	"errors"
	"fmt"
)

// This file reproduces just enough of rust-asn1 0.12, which cryptography
// 38 parses certificates with, to give Nova's error for the common ways a
// certificate's DER can be broken.

// asn1Error formats a rust-asn1 ParseError as cryptography reports it.
func asn1Error(kind string) error {
	return errors.New("error parsing asn1 value: ParseError { kind: " + kind + " }")
}

// derTag is a decoded identifier octet (or octets).
type derTag struct {
	class       byte // 0 Universal, 1 Application, 2 ContextSpecific, 3 Private
	constructed bool
	value       uint32
}

var derSequence = derTag{class: 0, constructed: true, value: 16}

// unexpectedTag is the Debug form of ParseErrorKind::UnexpectedTag.
func unexpectedTag(t derTag) string {
	classes := [...]string{"Universal", "Application", "ContextSpecific", "Private"}
	return fmt.Sprintf("UnexpectedTag { actual: Tag { value: %d, constructed: %t, class: %s } }",
		t.value, t.constructed, classes[t.class])
}

// derReadTLV reads one element the way rust-asn1 0.12's Parser::read_tlv
// does, returning the name of its ParseErrorKind on failure: ShortData
// when bytes run out, InvalidTag for a bad high-tag-number form,
// InvalidLength for indefinite, over-long or non-minimal lengths.
func derReadTLV(b []byte) (tag derTag, contents, rest []byte, kind string) {
	if len(b) == 0 {
		return tag, nil, nil, "ShortData"
	}
	first := b[0]
	b = b[1:]
	tag = derTag{class: first >> 6, constructed: first&0x20 != 0, value: uint32(first & 0x1f)}
	if tag.value == 0x1f {
		var v uint32
		for i := 0; ; i++ {
			if len(b) == 0 || i == 4 || (i == 0 && b[0] == 0x80) {
				return tag, nil, nil, "InvalidTag"
			}
			c := b[0]
			b = b[1:]
			v = v<<7 | uint32(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		if v < 0x1f {
			return tag, nil, nil, "InvalidTag"
		}
		tag.value = v
	}
	if len(b) == 0 {
		return tag, nil, nil, "ShortData"
	}
	n := int(b[0])
	b = b[1:]
	if n&0x80 != 0 {
		size := n & 0x7f
		if size == 0 || size > 4 {
			return tag, nil, nil, "InvalidLength"
		}
		if len(b) < size {
			return tag, nil, nil, "ShortData"
		}
		n = 0
		for _, c := range b[:size] {
			n = n<<8 | int(c)
		}
		b = b[size:]
		if n < 1<<(8*(size-1)) || n < 0x80 {
			return tag, nil, nil, "InvalidLength"
		}
	}
	if n > len(b) {
		return tag, nil, nil, "ShortData"
	}
	return tag, b[:n], b[n:], ""
}

// Locations rust-asn1 names in its errors, outermost first.
const (
	locTBS     = `"RawCertificate::tbs_cert"`
	locVersion = locTBS + `, "TbsCertificate::version"`
	locSPKIAlg = locTBS + `, "TbsCertificate::spki", "SubjectPublicKeyInfo::_algorithm"`
)

// rustOnlyChecks applies the rules of cryptography 38's RawCertificate
// that crypto/x509 does not, to a certificate crypto/x509 accepted; certs
// are the contents of the outer SEQUENCE. It covers bytes left over inside
// the structures, an explicitly encoded v1 version (DER forbids encoding
// a DEFAULT) and the public key algorithm OID, which crypto/x509 accepts
// whatever it is.
func rustOnlyChecks(cert []byte) error {
	_, tbs, afterTBS, _ := derReadTLV(cert)
	next := func() (derTag, []byte) {
		t, c, rest, _ := derReadTLV(tbs)
		tbs = rest
		return t, c
	}
	if t, _, _, _ := derReadTLV(tbs); t.class == 2 && t.value == 0 {
		if _, v := next(); string(v) == "\x02\x01\x00" {
			return asn1Error("EncodedDefault, location: [" + locVersion + "]")
		}
	}
	var spki []byte
	for i := 0; i < 6; i++ { // serial, signature, issuer, validity, subject, spki
		_, spki = next()
	}
	_, alg, _, _ := derReadTLV(spki)
	_, oid, params, _ := derReadTLV(alg)
	if !rustValidOID(oid) {
		return asn1Error(`InvalidValue, location: [` + locSPKIAlg + `, "AlgorithmIdentifier::oid"]`)
	}
	if len(params) > 0 && !derExactly(params, 1) {
		return asn1Error("ExtraData, location: [" + locSPKIAlg + "]")
	}
	for _, want := range []uint32{1, 2, 3} { // optional unique IDs, extensions
		if t, _, _, _ := derReadTLV(tbs); len(tbs) == 0 || t.class != 2 || t.value != want {
			continue
		}
		if _, c := next(); want == 3 && !derExactly(c, 1) {
			return asn1Error("ExtraData, location: [" + locTBS + `, "TbsCertificate::extensions"]`)
		}
	}
	if len(tbs) != 0 {
		return asn1Error("ExtraData, location: [" + locTBS + "]")
	}
	if !derExactly(afterTBS, 2) { // signatureAlgorithm, signatureValue
		return asn1Error("ExtraData")
	}
	return nil
}

// rustValidOID applies rust-asn1 0.12's ObjectIdentifier::from_der: at
// most 63 bytes, each arc minimally encoded in at most 4 bytes.
func rustValidOID(b []byte) bool {
	if len(b) == 0 || len(b) > 63 {
		return false
	}
	for n := 0; len(b) > 0; b = b[1:] {
		if n == 0 && b[0] == 0x80 || n == 4 {
			return false
		}
		n++
		if b[0]&0x80 == 0 {
			n = 0
		} else if len(b) == 1 {
			return false
		}
	}
	return true
}

// derExactly reports whether b is exactly n well-formed elements.
func derExactly(b []byte, n int) bool {
	for ; n > 0; n-- {
		_, _, rest, kind := derReadTLV(b)
		if kind != "" {
			return false
		}
		b = rest
	}
	return len(b) == 0
}
