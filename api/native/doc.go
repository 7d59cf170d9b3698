// Package native is keyhaven's own API at /keyhaven/v1: key pairs with
// modern key types and private key formats, both SHA-256 and MD5
// fingerprints, tags, expiry and rotation, over the same domain and store
// as the Nova and KPS dialects, so that what it makes they list, show and
// delete as usual. Errors are RFC 9457 problem details; openapi.json,
// embedded and served, describes every operation, and the end-to-end tests
// check every request and answer against it.
package native
