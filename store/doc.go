// Package store is the home of keyhaven's key pair storage engines. The
// interface they implement is keypair.Store, defined by the domain; each
// engine lives in its own subpackage (store/sqlite today, store/postgres
// later), and store/storetest holds the contract suite every engine must
// pass. This package itself holds no code.
package store
