// Command keyhaven is the SSH key pair service: one binary that serves the
// OpenStack Nova os-keypairs API on embedded defaults (SQLite, static
// tokens) and grows into external backends through configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usage lists the subcommands.
const usage = `keyhaven: an SSH key pair service speaking OpenStack Nova's os-keypairs API.

Usage:
  keyhaven serve   [flags]   run the service (keyhaven serve -h lists the flags)
  keyhaven migrate [flags]   create or upgrade the database, then exit
  keyhaven backup --to FILE  write an encrypted backup (online; SQLite snapshot and key files)
  keyhaven restore --from FILE --data-dir DIR
                             restore a backup into an empty data directory
  keyhaven audit list|verify print the audit log, or check its hash chain
  keyhaven kms ...           create and rotate KMS keys, rewrap escrowed keys
                             (keyhaven kms with no command lists them)
  keyhaven identity ...      manage built-in identity users, projects and roles
                             (keyhaven identity help)
  keyhaven servers ...       manage the servers key pairs are associated with
                             over SSH (keyhaven servers help)
  keyhaven version           print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "keyhaven:", err)
		}
		os.Exit(2)
	}
}

// run is main with its inputs passed in, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no subcommand given")
	}
	switch args[0] {
	case "serve":
		cfg, err := loadConfig("keyhaven serve", args[1:], getenv)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stderr, nil)
	case "migrate":
		cfg, err := loadConfig("keyhaven migrate", args[1:], getenv)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], getenv, stderr)
	case "restore":
		return restoreCommand(ctx, args[1:], getenv, stdout, stderr)
	case "kms":
		return kmsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], getenv, stdout, stderr)
	case "servers":
		return serversCommand(ctx, args[1:], getenv, stdout, stderr)
	case "identity":
		if len(args) == 1 || args[1] == "help" || args[1] == "-h" {
			fmt.Fprint(stdout, identityUsage)
			return nil
		}
		return identityCommand(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "keyhaven", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", args[0])
}
