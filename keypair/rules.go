package keypair

// The rules a key pair's name and key material must meet, shared by every
// dialect.

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/sshkey"
)

// describe validates public key material of type typ and returns its Nova
// fingerprint and KPS algorithm, or an EINVALID error with Nova's message.
func describe(typ Type, public string) (fingerprint, algorithm string, err error) {
	if typ == TypeX509 {
		fp, err := sshkey.X509Fingerprint(public)
		if err != nil {
			return "", "", Errorf(EINVALID, "Keypair data is invalid: failed to generate X509 fingerprint. Error message: %s", err).WithReason(ReasonInvalidPublicKey)
		}
		return fp, "x509", nil
	}
	pk, err := sshkey.ParseAuthorizedKey(public)
	if err != nil {
		return "", "", Errorf(EINVALID, "Keypair data is invalid: failed to generate fingerprint").WithReason(ReasonInvalidPublicKey)
	}
	return pk.FingerprintMD5(), sshkey.Algorithm(pk), nil
}

// Fingerprint validates public key material of type typ and returns its
// Nova fingerprint, or an EINVALID error with Nova's message.
func Fingerprint(typ Type, public string) (string, error) {
	fp, _, err := describe(typ, public)
	return fp, err
}

// matchPrivate checks that private is the private half of public.
func matchPrivate(public, private string) error {
	pk, err := sshkey.ParseAuthorizedKey(public)
	if err != nil {
		return Errorf(EINVALID, "Keypair data is invalid: failed to generate fingerprint").WithReason(ReasonInvalidPublicKey)
	}
	switch err := sshkey.MatchPrivateKey(private, pk); {
	case errors.Is(err, sshkey.ErrPrivateKeyMismatch):
		return Errorf(EINVALID, "The private key does not belong to the key pair's public key.").WithReason(ReasonKeyMismatch)
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), "sshkey: ")
		return Errorf(EINVALID, "The private key is invalid: %s.", msg).WithReason(ReasonPrivateKeyInvalid)
	}
	return nil
}

// ValidateName applies the rules every dialect shares: 1 to MaxNameLength
// characters of valid UTF-8, no leading or trailing whitespace, and not
// "." or "..": clients that follow RFC 3986 (curl, Python's urllib3 under
// the openstack CLI) remove such path segments, so a key pair of that name
// could never be shown or deleted by them. Dialects check their own
// charsets before calling the service.
func ValidateName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength || !utf8.ValidString(name) {
		return Errorf(EINVALID, "Key pair name must be 1 to %d characters.", MaxNameLength)
	}
	if strings.TrimSpace(name) != name {
		return Errorf(EINVALID, "Key pair name can not start or end with whitespace.")
	}
	if name == "." || name == ".." {
		return Errorf(EINVALID, "Key pair name can not be '.' or '..': clients remove such segments from URLs, so the key pair could not be shown or deleted.")
	}
	return nil
}
