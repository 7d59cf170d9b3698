// Package nova is the OpenStack Nova os-keypairs dialect: routes, request
// schemas, microversions, views and error bodies of /v2.1, kept side by side
// so that one resource's whole wire contract can be read in one place. It
// decodes and validates Nova's bodies, calls keypair.Service, and encodes
// the answer exactly as real Nova does. In ModeHuawei (--compute-api
// huawei) it follows Huawei ECS's edition of os-keypairs instead, and
// answers errors in KPS's format from api/kps's table (huawei.go).
package nova
