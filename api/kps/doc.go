// Package kps is the Huawei Cloud KPS v3 dialect at /v3/{project_id}: key
// pairs with scope, description and private keys in escrow (import, export,
// batch export, clear), batch import, and KPS's error format
// {"error_code": "KPS.xxxx", "error_msg": "…"}. Field names and statuses
// follow the Huawei Cloud Go SDK's services/kps/v3 models, so the SDK works
// against it unmodified.
package kps
