package kps

// Describe maps err to the code and message KPS answers it with. It is for
// a dialect that answers in KPS's error format without being KPS (Huawei
// ECS's edition of os-keypairs), so that both read one table and one
// mapping.
func Describe(err error) (ErrorCode, string) { return codeOf(err) }
