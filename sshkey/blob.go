package sshkey

import (
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/ssh"
)

// maxRSABits bounds the RSA modulus of imported keys. Nova has no bound;
// 16384 bits is the most ssh-keygen makes and what x/crypto/ssh enforces.
const maxRSABits = 16384

var (
	errShortData = errors.New("sshkey: truncated key data")
	errNegative  = errors.New("sshkey: negative integer in key data")
	errTrailing  = errors.New("sshkey: trailing bytes after key data")
)

// wire reads SSH wire-format fields with the bounds checks of
// cryptography's _get_u32, _get_sshstr and _get_mpint.
type wire []byte

func (w *wire) str() ([]byte, error) {
	if len(*w) < 4 {
		return nil, errShortData
	}
	n := binary.BigEndian.Uint32(*w)
	rest := (*w)[4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, errShortData
	}
	*w = rest[n:]
	return rest[:n], nil
}

// mpint reads an unsigned big integer. cryptography refuses a first byte
// above 0x7f and takes an empty or zero-padded string at face value.
func (w *wire) mpint() (*big.Int, error) {
	b, err := w.str()
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] > 0x7f {
		return nil, errNegative
	}
	return new(big.Int).SetBytes(b), nil
}

// checkBlob validates a decoded key blob of type typ. For the six types
// Nova knows it applies cryptography 38's own checks rather than
// x/crypto/ssh's, which differ at the edges (ssh.ParsePublicKey refuses RSA
// exponents over 24 bits and accepts DSA keys of any size, where
// cryptography is the other way round). Nova has no FIDO support, so those
// types go to ssh.ParsePublicKey.
func checkBlob(typ string, blob []byte) error {
	w := wire(blob)
	inner, err := w.str()
	if err != nil {
		return err
	}
	if string(inner) != typ {
		return fmt.Errorf("sshkey: key data is not of type %s", typ)
	}
	switch typ {
	case typeRSA:
		err = checkRSA(&w)
	case typeDSA:
		err = checkDSA(&w)
	case typeEd25519:
		err = checkEd25519(&w)
	case typeECDSA256:
		err = checkECDSA(&w, "nistp256", ecdh.P256())
	case typeECDSA384:
		err = checkECDSA(&w, "nistp384", ecdh.P384())
	case typeECDSA521:
		err = checkECDSA(&w, "nistp521", ecdh.P521())
	default:
		return checkWithXCrypto(typ, blob)
	}
	if err != nil {
		return err
	}
	if len(w) != 0 {
		return errTrailing
	}
	return nil
}

// checkRSA mirrors RSAPublicNumbers(e, n).public_key().
func checkRSA(w *wire) error {
	e, err := w.mpint()
	if err != nil {
		return err
	}
	n, err := w.mpint()
	if err != nil {
		return err
	}
	switch {
	case n.BitLen() > maxRSABits:
		return fmt.Errorf("sshkey: RSA modulus over %d bits", maxRSABits)
	case n.Cmp(big.NewInt(3)) < 0:
		return errors.New("sshkey: RSA modulus must be >= 3")
	case e.Cmp(big.NewInt(3)) < 0 || e.Cmp(n) >= 0:
		return errors.New("sshkey: RSA exponent must be >= 3 and < modulus")
	case e.Bit(0) == 0:
		return errors.New("sshkey: RSA exponent must be odd")
	}
	return nil
}

// checkDSA mirrors _SSHFormatDSA._validate and _check_dsa_parameters: SSH
// DSA keys must have a 1024-bit p; y is not checked at all.
func checkDSA(w *wire) error {
	var v [4]*big.Int // p, q, g, y
	for i := range v {
		x, err := w.mpint()
		if err != nil {
			return err
		}
		v[i] = x
	}
	p, q, g := v[0], v[1], v[2]
	switch {
	case p.BitLen() != 1024:
		return errors.New("sshkey: SSH DSA keys must have a 1024-bit p")
	case q.BitLen() != 160 && q.BitLen() != 224 && q.BitLen() != 256:
		return errors.New("sshkey: DSA q must be 160, 224 or 256 bits")
	case g.Cmp(big.NewInt(1)) <= 0 || g.Cmp(p) >= 0:
		return errors.New("sshkey: DSA g must satisfy 1 < g < p")
	}
	return nil
}

// checkEd25519 mirrors Ed25519PublicKey.from_public_bytes, which checks the
// length only: any 32 bytes are a key to OpenSSL.
func checkEd25519(w *wire) error {
	point, err := w.str()
	if err != nil {
		return err
	}
	if len(point) != 32 {
		return errors.New("sshkey: Ed25519 key must be 32 bytes")
	}
	return nil
}

// checkECDSA mirrors _SSHFormatECDSA.load_public: the curve name must match
// the type, and the point must be an uncompressed point on the curve,
// which crypto/ecdh checks the same way OpenSSL's EC_POINT_oct2point does.
func checkECDSA(w *wire, curveName string, curve ecdh.Curve) error {
	name, err := w.str()
	if err != nil {
		return err
	}
	point, err := w.str()
	if err != nil {
		return err
	}
	if string(name) != curveName {
		return errors.New("sshkey: ECDSA curve name does not match key type")
	}
	if len(point) == 0 || point[0] != 4 {
		return errors.New("sshkey: ECDSA point is not uncompressed")
	}
	if _, err := curve.NewPublicKey(point); err != nil {
		return errors.New("sshkey: ECDSA point is not on the curve")
	}
	return nil
}

// checkWithXCrypto validates the FIDO key types, which cryptography 38 does
// not know; ssh.ParsePublicKey checks the point and refuses trailing bytes.
func checkWithXCrypto(typ string, blob []byte) error {
	k, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return fmt.Errorf("sshkey: invalid %s key data", typ)
	}
	if k.Type() != typ {
		return fmt.Errorf("sshkey: key data is not of type %s", typ)
	}
	return nil
}
