package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

const serversUsage = `Usage: keyhaven servers [serve flags] COMMAND ARGS

Manages the inventory of servers keyhaven may log in to over SSH to
associate key pairs with them (KPS associate/disassociate), in the
configured database (the server may be running).

Commands:
  add SERVER_ID --project PROJECT_ID --address HOST [--port 22] [--user root]
      [--name NAME] [--sshd-config /etc/ssh/sshd_config]
      --host-key "ssh-ed25519 AAAA..." (repeatable) | --host-key-file FILE
      [--replace]
                   FILE: a .pub file, or ssh-keyscan output; every key in it
                   is pinned. --replace changes an existing entry.
  list [--project PROJECT_ID]
  show SERVER_ID   the entry, with its host keys' SHA256 fingerprints
  remove SERVER_ID refused while a task of the server is unfinished
`

// defaultSSHDConfig is the sshd configuration file of an entry that
// names none.
const defaultSSHDConfig = "/etc/ssh/sshd_config"

// serversVerbs are the commands of keyhaven servers; the serve flags come
// before the first of them.
var serversVerbs = map[string]bool{"add": true, "list": true, "show": true, "remove": true, "help": true}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

// String returns the values given so far.
func (f *stringsFlag) String() string { return strings.Join(*f, ", ") }

// Set adds one value.
func (f *stringsFlag) Set(v string) error { *f = append(*f, v); return nil }

// serversCommand runs `keyhaven servers add|list|show|remove`.
func serversCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	split := len(args)
	for i, a := range args {
		if serversVerbs[a] {
			split = i
			break
		}
	}
	if split == len(args) || args[split] == "help" {
		fmt.Fprint(stdout, serversUsage)
		if split == len(args) {
			return errors.New("servers: want add, list, show or remove")
		}
		return nil
	}
	cfg, err := loadConfig("keyhaven servers", args[:split], getenv)
	if err != nil {
		return err
	}
	verb, rest := args[split], args[split+1:]

	fs := flag.NewFlagSet("keyhaven servers "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "", "the project id the server belongs to")
	address := fs.String("address", "", "host name or IP address of the server's sshd")
	port := fs.Int("port", task.DefaultPort, "the server's SSH port")
	user := fs.String("user", task.DefaultUser, "the login user whose ~/.ssh/authorized_keys is managed")
	name := fs.String("name", "", "the server's name, shown in task lists")
	sshdConfig := fs.String("sshd-config", defaultSSHDConfig, "the server's sshd configuration file")
	replace := fs.Bool("replace", false, "change the entry if it exists")
	var hostKeys, hostKeyFiles stringsFlag
	fs.Var(&hostKeys, "host-key", "a pinned host public key (repeatable)")
	fs.Var(&hostKeyFiles, "host-key-file", "a file of host public keys: .pub or ssh-keyscan output (repeatable)")
	// The server id may come before the flags.
	var pos []string
	for len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if verb != "list" && len(pos) != 1 {
		return fmt.Errorf("servers %s: want exactly one SERVER_ID, got %d arguments", verb, len(pos))
	}
	if verb == "list" && len(pos) != 0 {
		return fmt.Errorf("servers list: unexpected argument %q", pos[0])
	}

	var sv *task.Server
	if verb == "add" {
		// Everything is checked before the database is opened.
		sv = &task.Server{ID: pos[0], ProjectID: *project, Name: *name, Address: *address, Port: *port,
			User: *user, SSHDConfig: *sshdConfig}
		if sv.HostKeys, err = collectHostKeys(hostKeys, hostKeyFiles); err != nil {
			return fmt.Errorf("servers add: %w", err)
		}
		if err := checkServer(sv); err != nil {
			return fmt.Errorf("servers add: %w", err)
		}
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch verb {
	case "add":
		if !*replace {
			if _, err := st.GetServer(ctx, sv.ID); err == nil {
				return fmt.Errorf("servers add: server %s is already in the inventory; add --replace to change it", sv.ID)
			} else if keypair.ErrorCode(err) != keypair.ENOTFOUND {
				return err
			}
		}
		if cfg.Auth == "builtin" {
			// A project name given for its id is the likely slip; the
			// entry is still added (the project may be made later).
			if _, err := st.GetProject(ctx, sv.ProjectID); errors.Is(err, identity.ErrNotFound) {
				fmt.Fprintf(stderr, "keyhaven: warning: %s is not the id of a project of the built-in identity (keyhaven identity project list shows them); only callers scoped to a project with that id can associate key pairs with %s\n", sv.ProjectID, sv.ID)
			}
		}
		if err := st.PutServer(ctx, sv); err != nil {
			return fmt.Errorf("servers add: %s", userMessage(err))
		}
		fmt.Fprintf(stdout, "server %s (project %s) at %s:%d, login %s, %d host key(s) pinned\n",
			sv.ID, sv.ProjectID, sv.Address, sv.Port, sv.User, len(sv.HostKeys))
		return nil
	case "list":
		l, err := st.ListServers(ctx, *project)
		if err != nil {
			return err
		}
		return printServers(stdout, l)
	case "show":
		sv, err := st.GetServer(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("servers show: %s", userMessage(err))
		}
		return printServer(stdout, sv)
	case "remove":
		if err := st.RemoveServer(ctx, pos[0]); err != nil {
			return fmt.Errorf("servers remove: %s", userMessage(err))
		}
		fmt.Fprintf(stdout, "server %s removed\n", pos[0])
		return nil
	}
	return fmt.Errorf("servers: unknown command %q", verb)
}

// userMessage returns the message of a domain error without its code
// prefix, and the error itself otherwise.
func userMessage(err error) string {
	if keypair.ErrorCode(err) != keypair.EINTERNAL {
		return keypair.ErrorMessage(err)
	}
	return err.Error()
}

// checkServer applies the domain's checks, reworded for the flags.
func checkServer(sv *task.Server) error {
	switch {
	case sv.ProjectID == "":
		return errors.New("--project is required (the project id, as in /v3/{project_id}/...)")
	case sv.Address == "":
		return errors.New("--address is required (a host name or an IP address)")
	case len(sv.HostKeys) == 0:
		return errors.New("--host-key or --host-key-file is required: keyhaven logs in only to a server whose host key it knows")
	}
	if err := sv.Check(); err != nil {
		return errors.New(userMessage(err))
	}
	return nil
}

// collectHostKeys parses every --host-key and every key in every
// --host-key-file, and returns them in authorized_keys form without
// comments, each once.
func collectHostKeys(keys, files []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(k ssh.PublicKey) {
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		if !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	for _, line := range keys {
		k, err := parseHostKey(line)
		if err != nil {
			return nil, fmt.Errorf("--host-key %q: %w", abbreviate(line), err)
		}
		add(k)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--host-key-file: %w", err)
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for i := 1; sc.Scan(); i++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, err := parseHostKey(line)
			if err != nil {
				return nil, fmt.Errorf("--host-key-file %s line %d: %w", path, i, err)
			}
			add(k)
			n++
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--host-key-file %s: %w", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("--host-key-file %s holds no host key", path)
		}
	}
	return out, nil
}

// parseHostKey parses one host key: an authorized_keys / .pub line
// ("ssh-ed25519 AAAA… comment") or a known_hosts / ssh-keyscan line
// ("host ssh-ed25519 AAAA…"). Certificates and @-marked lines are refused:
// the inventory pins keys.
func parseHostKey(line string) (ssh.PublicKey, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		var marker string
		marker, _, k, _, _, err = ssh.ParseKnownHosts([]byte(line))
		if err == nil && marker != "" {
			return nil, fmt.Errorf("a @%s line is not a host key to pin", marker)
		}
	}
	if err != nil {
		return nil, errors.New("not an SSH public key (want e.g. \"ssh-ed25519 AAAA...\", a .pub line or ssh-keyscan output)")
	}
	if _, ok := k.(*ssh.Certificate); ok {
		return nil, errors.New("a certificate, not a host key: pin the host's public key")
	}
	return k, nil
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// printServers prints the inventory as a table.
func printServers(w io.Writer, l []*task.Server) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROJECT\tNAME\tADDRESS\tPORT\tUSER\tHOST KEYS\tKEY PAIR")
	for _, sv := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", sv.ID, sv.ProjectID, orDash(sv.Name), sv.Address, sv.Port,
			sv.User, len(sv.HostKeys), orDash(sv.KeyPairName))
	}
	return tw.Flush()
}

// printServer prints one entry, its host keys with their fingerprints.
func printServer(w io.Writer, sv *task.Server) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", sv.ID)
	fmt.Fprintf(tw, "project:\t%s\n", sv.ProjectID)
	fmt.Fprintf(tw, "name:\t%s\n", orDash(sv.Name))
	fmt.Fprintf(tw, "address:\t%s\n", sv.Address)
	fmt.Fprintf(tw, "port:\t%d\n", sv.Port)
	fmt.Fprintf(tw, "user:\t%s\n", sv.User)
	fmt.Fprintf(tw, "sshd config:\t%s\n", orDash(sv.SSHDConfig))
	if sv.KeyPairName != "" {
		fmt.Fprintf(tw, "key pair:\t%s (id %d)\n", sv.KeyPairName, sv.KeyPairID)
	} else {
		fmt.Fprintf(tw, "key pair:\t-\n")
	}
	fmt.Fprintf(tw, "password login:\t%s\n", map[bool]string{true: "disabled by keyhaven", false: "as configured on the server"}[sv.PasswordDisabled])
	fmt.Fprintf(tw, "created:\t%s\n", sv.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "updated:\t%s\n", sv.UpdatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "host keys:\t\n")
	for _, line := range sv.HostKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			fmt.Fprintf(tw, "  %s\t(unparsable: %v)\n", abbreviate(line), err)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\n", k.Type(), ssh.FingerprintSHA256(k))
	}
	return tw.Flush()
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
