package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
)

const kmsUsage = `Usage: keyhaven kms [serve flags] COMMAND

Commands:
  rewrap --to BACKEND/KEY   re-wrap every escrowed private key's data key under
                            that KMS key, online (e.g. local/master, local/demo,
                            pkcs11/kek-2); safe to interrupt and run again
  rotate [NAME]             make a new version of a local key (default: master;
                            rewrap to local/NAME afterwards to move keys onto it)
  create-key NAME           make a KMS key: local/NAME in the local KMS,
                            pkcs11/NAME in the HSM; a bare NAME goes to the HSM
                            when one is configured, else to the local KMS
`

// kmsCommand runs `keyhaven kms ...` on the data directory; the server may
// be running.
func kmsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	split := len(args)
	for i, a := range args {
		if a == "rewrap" || a == "rotate" || a == "create-key" {
			split = i
			break
		}
	}
	if split == len(args) {
		fmt.Fprint(stderr, kmsUsage)
		return errors.New("kms: want rewrap, rotate or create-key")
	}
	cfg, err := loadConfig("keyhaven kms", args[:split], getenv)
	if err != nil {
		return err
	}
	verb, rest := args[split], args[split+1:]
	reg, err := openKMS(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer reg.Close()

	switch verb {
	case "rotate":
		return kmsRotate(ctx, reg, rest, stdout)
	case "create-key":
		return kmsCreateKey(ctx, reg, rest, stdout)
	}

	fs := flag.NewFlagSet("keyhaven kms rewrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "target KMS key, BACKEND/KEY")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("kms rewrap: --to BACKEND/KEY is required")
	}
	if _, _, err := kms.SplitRef(*to); err != nil {
		return fmt.Errorf("kms rewrap: --to %q: %w", *to, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := keypair.NewService(keypair.Config{Store: st, Quota: cfg.QuotaKeyPairs, Escrow: escrow.New(reg)})
	operator := keypair.Actor{UserID: "keyhaven-kms-rewrap", Roles: []string{"admin"}, RequestID: "cli"}
	var seen, done int
	err = svc.Rewrap(ctx, operator, *to, func(s, d int) {
		seen, done = s, d
		if s%100 == 0 {
			fmt.Fprintf(stdout, "rewrap: %d key pairs looked at, %d re-wrapped\n", s, d)
		}
	})
	fmt.Fprintf(stdout, "rewrap: %d key pairs looked at, %d re-wrapped to %s\n", seen, done, *to)
	return err
}

// kmsRotate adds a version of a local key: the master key, or the one
// named (with or without "local/").
func kmsRotate(ctx context.Context, reg *kms.Registry, args []string, stdout io.Writer) error {
	if len(args) > 1 {
		return errors.New("kms rotate: want at most one key NAME")
	}
	name := local.KeyName
	if len(args) == 1 {
		name = strings.TrimPrefix(args[0], local.Name+"/")
	}
	b, err := reg.Backend(local.Name)
	if err != nil {
		return err
	}
	kr, ok := b.(kms.KeyRotator)
	if !ok {
		return fmt.Errorf("kms rotate: backend %s cannot rotate keys", b.Name())
	}
	ref, err := kr.RotateKey(ctx, name)
	if err != nil {
		return fmt.Errorf("kms rotate: %w", err)
	}
	fmt.Fprintf(stdout, "new key version: %s\n", ref)
	return nil
}

// kmsCreateKey makes a key in the backend its name selects: "BACKEND/NAME"
// that backend; a bare name the external KMS when one is configured, else
// the local one, the same order a request's kms_key_name is looked up in.
func kmsCreateKey(ctx context.Context, reg *kms.Registry, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("kms create-key: want NAME (local/NAME, pkcs11/NAME)")
	}
	name := args[0]
	b := reg.SearchOrder()[0]
	if backend, key, ok := strings.Cut(name, "/"); ok {
		w, err := reg.Backend(backend)
		switch {
		case err == nil:
			b, name = w, key
		case knownBackend(backend):
			// Not a local key called "pkcs11/…" by mistake.
			return fmt.Errorf("kms create-key: backend %s is not configured", backend)
		}
	}
	kc, ok := b.(kms.KeyCreator)
	if !ok {
		return fmt.Errorf("kms create-key: backend %s cannot create keys", b.Name())
	}
	ref, err := kc.CreateKey(ctx, name)
	if err != nil {
		return fmt.Errorf("kms create-key: %w", err)
	}
	fmt.Fprintf(stdout, "created %s\n", ref)
	return nil
}

// knownBackend reports whether name is one of the backends of the table,
// configured or not.
func knownBackend(name string) bool {
	for _, b := range kmsBackends {
		if b.name == name {
			return true
		}
	}
	return false
}
