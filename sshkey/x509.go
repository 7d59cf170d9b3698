package sshkey

import (
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"strings"
)

// MaxCertificateLength is the longest PEM text X509Fingerprint accepts.
// Nova has no such limit; real client certificates are a few KiB.
const MaxCertificateLength = 64 << 10

// errNoCertificate is cryptography's wording, capital letter and all,
// because Nova shows it to the user.
var errNoCertificate = errors.New("Valid PEM but no BEGIN CERTIFICATE/END CERTIFICATE delimiters. Are you sure this is a certificate?")

// X509Fingerprint returns the SHA-1 fingerprint of the certificate in
// pemCert as lowercase hex pairs joined by ':', the fingerprint Nova gives
// x509 key pairs.
//
// Like cryptography's load_pem_x509_certificate it takes the first
// CERTIFICATE (or X509 CERTIFICATE) block anywhere in the text, and its
// errors carry the messages Nova reports after "Error message: " for
// framing, base64 and outer DER structure faults. Deeper faults are found
// by crypto/x509, which is stricter than cryptography 38 (it refuses, for
// example, negative serial numbers that Nova only warns about), and are
// reported in the same "error parsing asn1 value: " form with Go's words;
// a few that only cryptography catches are then checked by hand.
func X509Fingerprint(pemCert string) (string, error) {
	if len(pemCert) > MaxCertificateLength {
		return "", errors.New("certificate text too long")
	}
	sections, err := pemParseMany(pemCert)
	if err != nil {
		return "", err
	}
	if len(sections) == 0 {
		return "", pemError("MalformedFraming")
	}
	var der []byte
	found := false
	for _, s := range sections {
		if s.tag == "CERTIFICATE" || s.tag == "X509 CERTIFICATE" {
			der, found = s.contents, true
			break
		}
	}
	if !found {
		return "", errNoCertificate
	}
	if err := checkCertificateDER(der); err != nil {
		return "", err
	}
	sum := sha1.Sum(der)
	return colonHex(sum[:]), nil
}

// checkCertificateDER follows asn1::parse_single::<RawCertificate> from
// rust-asn1 0.12 for the outer SEQUENCE and the header of tbsCertificate,
// hands the rest to crypto/x509 and rustOnlyChecks, and only then, as
// rust-asn1 does, looks for bytes after the certificate.
func checkCertificateDER(der []byte) error {
	tag, contents, rest, kind := derReadTLV(der)
	if kind != "" {
		return asn1Error(kind)
	}
	if tag != derSequence {
		return asn1Error(unexpectedTag(tag))
	}
	tbsTag, _, _, kind := derReadTLV(contents)
	if kind == "" && tbsTag != derSequence {
		kind = unexpectedTag(tbsTag)
	}
	if kind != "" {
		return asn1Error(kind + `, location: ["RawCertificate::tbs_cert"]`)
	}
	if _, err := x509.ParseCertificate(der[:len(der)-len(rest)]); err != nil {
		msg := strings.TrimPrefix(err.Error(), "x509: ")
		// Some crypto/x509 messages quote certificate contents.
		if strings.ContainsAny(msg, `"%`) || len(msg) > 100 {
			msg = "malformed certificate"
		}
		return errors.New("error parsing asn1 value: " + msg)
	}
	if err := rustOnlyChecks(contents); err != nil {
		return err
	}
	if len(rest) > 0 {
		return asn1Error("ExtraData")
	}
	return nil
}
