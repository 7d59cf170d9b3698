package escrow

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The blob format, version 1, all lengths big-endian:
//
//	version     1 byte, 1
//	ref         2-byte length, then the KMS key ref (UTF-8)
//	wrapped     2-byte length, then the wrapped data key
//	nonce       12 bytes, the AES-GCM nonce
//	ciphertext  the rest: AES-256-GCM of the private key, with its 16-byte tag
const (
	blobVersion = 1
	nonceSize   = 12
	tagSize     = 16
	maxField    = 1<<16 - 1
)

// blob is a parsed sealed private key.
type blob struct {
	ref        string
	wrapped    []byte
	nonce      []byte
	ciphertext []byte
}

// marshal encodes b in the version 1 format.
func (b *blob) marshal() ([]byte, error) {
	if len(b.ref) == 0 || len(b.ref) > maxField || len(b.wrapped) == 0 || len(b.wrapped) > maxField {
		return nil, fmt.Errorf("escrow: ref (%d bytes) or wrapped key (%d bytes) out of range", len(b.ref), len(b.wrapped))
	}
	if len(b.nonce) != nonceSize || len(b.ciphertext) < tagSize {
		return nil, errors.New("escrow: bad nonce or ciphertext")
	}
	out := make([]byte, 0, 1+2+len(b.ref)+2+len(b.wrapped)+len(b.nonce)+len(b.ciphertext))
	out = append(out, blobVersion)
	out = binary.BigEndian.AppendUint16(out, uint16(len(b.ref)))
	out = append(out, b.ref...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(b.wrapped)))
	out = append(out, b.wrapped...)
	out = append(out, b.nonce...)
	return append(out, b.ciphertext...), nil
}

// parseBlob decodes a sealed private key. The slices of the result alias
// data.
func parseBlob(data []byte) (*blob, error) {
	if len(data) == 0 {
		return nil, errors.New("empty blob")
	}
	if data[0] != blobVersion {
		return nil, fmt.Errorf("unknown blob version %d", data[0])
	}
	rest := data[1:]
	field := func(what string) ([]byte, error) {
		if len(rest) < 2 {
			return nil, fmt.Errorf("blob truncated before the %s", what)
		}
		n := int(binary.BigEndian.Uint16(rest))
		if n == 0 || len(rest)-2 < n {
			return nil, fmt.Errorf("blob has a bad %s length", what)
		}
		f := rest[2 : 2+n]
		rest = rest[2+n:]
		return f, nil
	}
	ref, err := field("key ref")
	if err != nil {
		return nil, err
	}
	wrapped, err := field("wrapped key")
	if err != nil {
		return nil, err
	}
	if len(rest) < nonceSize+tagSize {
		return nil, errors.New("blob truncated in the nonce or ciphertext")
	}
	return &blob{ref: string(ref), wrapped: wrapped, nonce: rest[:nonceSize], ciphertext: rest[nonceSize:]}, nil
}
