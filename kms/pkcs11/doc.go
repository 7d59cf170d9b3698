// Package pkcs11 is keyhaven's KMS backend for PKCS#11 hardware security
// modules; it is tested against SoftHSM2.
//
// Key-encryption keys are AES-256 secret keys in one token, found by their
// CKA_LABEL; a ref is "pkcs11/<label>". Data keys are wrapped inside the
// HSM with CKM_AES_KEY_WRAP_PAD (RFC 5649): the data key is imported as a
// short-lived session object, wrapped with C_WrapKey, and the session
// object destroyed; Unwrap does the reverse with C_UnwrapKey and reads the
// value of the unwrapped session object. The mechanism was chosen because
// it is the one PKCS#11 defines for wrapping keys under keys, SoftHSM2 2.6
// (Debian 12) and common HSMs implement it, it needs no IV (so there is no
// IV to manage or reuse under a long-lived KEK), its integrity check makes
// a tampered wrapped key or one presented under another KEK fail, and it
// lets a KEK carry only CKA_WRAP/CKA_UNWRAP, not CKA_ENCRYPT/CKA_DECRYPT.
// The wrapped bytes start with a format byte (1 = CKM_AES_KEY_WRAP_PAD) so
// that another mechanism can be added later.
//
// The backend keeps one logged-in session open and a small pool of
// sessions for concurrent calls. When a call fails and the token no longer
// answers (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED, a token that
// vanished), the backend finalizes and re-initializes the module, logs in
// again and retries once; if the HSM is still away the call reports
// kms.ErrUnavailable, and a later call reconnects when it is back, without
// restarting keyhaven. Failures are told apart from bad data by probing
// the token: SoftHSM2 reports a failed RFC 5649 integrity check as
// CKR_GENERAL_ERROR, the same code it uses for a missing token directory.
//
// A PKCS#11 module's state is per process, not per handle: every Backend of
// one module path shares one loaded module, initialized once and finalized
// when the last Backend closes.
package pkcs11
