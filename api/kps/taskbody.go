package kps

import (
	"github.com/keyhaven/keyhaven/task"
)

// authBody is server.auth. Its String redacts the key, so no format call
// can print it.
type authBody struct {
	Type *string `json:"type"`
	Key  *string `json:"key"`
}

func (authBody) String() string { return "[auth redacted]" }

// serverBody is server in an associate body; Huawei's SDK sends every
// field of its EcsServerInfo.
type serverBody struct {
	ID              *string   `json:"id"`
	Auth            *authBody `json:"auth"`
	DisablePassword *bool     `json:"disable_password"`
	Port            *int64    `json:"port"`
}

// associateBody is the body of associate and an item of batch-associate.
type associateBody struct {
	KeypairName *string     `json:"keypair_name"`
	Server      *serverBody `json:"server"`
}

// disassociateBody is the body of disassociate: Huawei's model has no
// port, but its Terraform provider sends one, so it is accepted.
type disassociateBody struct {
	Server *struct {
		ID   *string   `json:"id"`
		Auth *authBody `json:"auth"`
		Port *int64    `json:"port"`
	} `json:"server"`
}

// batchAssociateBody is the body of batch-associate; an item of the wrong
// shape refuses the whole body, an item naming what does not exist fails
// on its own.
type batchAssociateBody struct {
	BatchKeypairs *[]associateBody `json:"batch_keypairs"`
}

// credentials turns server.auth into the domain's credentials: nil when
// absent (the domain refuses it with its own message).
func credentials(a *authBody) (*task.Credentials, error) {
	if a == nil {
		return nil, nil
	}
	if a.Type == nil {
		return nil, fail(ErrInvalidParameter, "server.auth.type is required: password or keypair.")
	}
	key := ""
	if a.Key != nil {
		key = *a.Key
	}
	switch *a.Type {
	case "password":
		return &task.Credentials{Password: key}, nil
	case "keypair":
		return &task.Credentials{PrivateKey: []byte(key)}, nil
	}
	return nil, fail(ErrInvalidParameter, "server.auth.type must be password or keypair.")
}

// port checks server.port; 0 means the inventory's.
func port(p *int64) (int, error) {
	if p == nil {
		return 0, nil
	}
	if *p < 1 || *p > 65535 {
		return 0, fail(ErrInvalidParameter, "server.port must be from 1 to 65535.")
	}
	return int(*p), nil
}

// associateInput validates an associate body.
func associateInput(b *associateBody) (task.AssociateInput, error) {
	var in task.AssociateInput
	if b.KeypairName == nil || *b.KeypairName == "" {
		return in, fail(ErrInvalidParameter, "keypair_name is required.")
	}
	if b.Server == nil || b.Server.ID == nil || *b.Server.ID == "" {
		return in, fail(ErrInvalidParameter, "server.id is required.")
	}
	in.KeyPairName, in.ServerID = *b.KeypairName, *b.Server.ID
	var err error
	if in.Credentials, err = credentials(b.Server.Auth); err != nil {
		return in, err
	}
	if in.Port, err = port(b.Server.Port); err != nil {
		return in, err
	}
	if b.Server.DisablePassword != nil {
		in.DisablePassword = *b.Server.DisablePassword
	}
	return in, nil
}

// disassociateInput validates a disassociate body.
func disassociateInput(b *disassociateBody) (task.DisassociateInput, error) {
	var in task.DisassociateInput
	if b.Server == nil || b.Server.ID == nil || *b.Server.ID == "" {
		return in, fail(ErrInvalidParameter, "server.id is required.")
	}
	in.ServerID = *b.Server.ID
	var err error
	if in.Credentials, err = credentials(b.Server.Auth); err != nil {
		return in, err
	}
	in.Port, err = port(b.Server.Port)
	return in, err
}
