// Package identity is the Keystone v3 dialect of keyhaven's built-in
// identity service, mounted at /identity: version documents, token
// issue/validate/revoke with the service catalog, and EC2-style
// credentials (keyhaven's AK/SK pairs) under OS-EC2. Bodies, statuses and
// error shapes are Keystone's, so keystoneauth, gophercloud and the
// openstack CLI work unmodified.
package identity
