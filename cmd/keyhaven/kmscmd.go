package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
)

const kmsUsage = `Usage: keyhaven kms [serve flags] COMMAND

Commands:
  rewrap --to BACKEND/KEY   re-wrap every escrowed private key's data key under
                            that KMS key, online (e.g. local/master, pkcs11/kek-2);
                            safe to interrupt and run again
  rotate                    make a new local master key version (rewrap to
                            local/master afterwards to move keys onto it)
  create-key LABEL          make an AES key in the HSM (pkcs11 backend)
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
		b, err := reg.Backend("local")
		if err != nil {
			return err
		}
		ref, err := b.(kms.Rotator).Rotate()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new master key version: %s\n", ref)
		return nil
	case "create-key":
		if len(rest) != 1 {
			return errors.New("kms create-key: want LABEL")
		}
		ext, ok := reg.External()
		if !ok {
			return errors.New("kms create-key: no HSM is configured (pkcs11_module)")
		}
		kc, ok := ext.(kms.KeyCreator)
		if !ok {
			return fmt.Errorf("kms create-key: backend %s cannot create keys", ext.Name())
		}
		ref, err := kc.CreateKey(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s\n", ref)
		return nil
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
