// Package store is the home of keyhaven's storage engines. The interfaces
// they implement are keypair.Store and identity.Store, defined by the
// domain packages; each engine lives in its own subpackage (store/sqlite
// today, store/postgres later), and store/storetest holds the contract
// suites every engine must pass. This package itself holds no code.
package store
