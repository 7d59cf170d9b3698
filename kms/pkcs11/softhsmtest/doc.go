// Package softhsmtest creates throwaway SoftHSM2 tokens for tests of
// PKCS#11 code. Each token lives in a temporary directory with its own
// softhsm2.conf, selected through SOFTHSM2_CONF for the test that asked for
// it.
//
// When SoftHSM2 is not installed the tests that need it are skipped with a
// loud message, unless KEYHAVEN_REQUIRE_SOFTHSM=1 (CI sets it), which makes
// them fail instead. scripts/softhsm-test-deps.sh installs it.
//
// SoftHSM2, like any PKCS#11 module, keeps its state per process and reads
// SOFTHSM2_CONF only in C_Initialize: tests that use a token must not run in
// parallel, and each must close its PKCS#11 handles before the next test
// makes another token. New enforces the first through t.Setenv.
package softhsmtest
