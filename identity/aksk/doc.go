// Package aksk authenticates requests signed with an access key / secret key
// pair the way the Huawei Cloud SDKs sign them.
//
// The default scheme is SDK-HMAC-SHA256:
//
//	Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b>, Signature=<hex>
//	X-Sdk-Date: 20060102T150405Z
//
// The signature is the hex HMAC-SHA256, keyed with the secret key, of
//
//	SDK-HMAC-SHA256 "\n" <X-Sdk-Date> "\n" hex(SHA-256(canonical request))
//
// where the canonical request is the method, the canonical URI, the canonical
// query string, one "name:value" line per signed header (followed by an empty
// line), the signed header names joined by ';' and the payload hash, joined by
// newlines. The payload hash is the hex SHA-256 of the body, or the value of
// the X-Sdk-Content-Sha256 header when the client sent one; the SDK sends
// "UNSIGNED-PAYLOAD" there for content types other than JSON and BSON, and such
// bodies are then not covered by the signature.
//
// The canonical URI is the request path split at '/', each segment
// percent-decoded and re-escaped so that only A-Z a-z 0-9 - _ . ~ stay
// literal, joined again and always ending in '/'. The canonical query string is
// every query parameter as escaped "key=value", keys sorted and the values of a
// repeated key sorted, joined by '&'.
//
// The SDK also signs, when a client asks for it, with a key derived from the
// secret by HKDF (V11-HMAC-SHA256, "derived" authentication); Verifier accepts
// that too. Its other algorithms (SDK-HMAC-SM3, SDK-ECDSA-P256-SHA256,
// SDK-SM2-SM3) are refused as unsupported.
//
// A signature is good while X-Sdk-Date is within MaxSkew of the server's
// clock, and it covers the date, so a captured request could be sent again
// for that long. Verifier accepts a request that may change something (any
// method but GET, HEAD and OPTIONS) once: it remembers the signature in
// memory, and in a shared identity.SignatureLedger when it has one, until
// the window closes, and refuses it the second time. The SDK signs to the
// second with no nonce, so the very same request sent twice in one second
// is refused the second time too; a later signature makes it new. A body
// must be signed: UNSIGNED-PAYLOAD is accepted only on requests without
// one. A body over the limit is answered as too large (an
// *http.MaxBytesError), not as a bad signature.
//
// Verifier never imports the SDK; its tests sign requests with the real SDK
// and send them with the SDK's own HTTP client.
package aksk
