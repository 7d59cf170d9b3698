package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
)

const identityUsage = `Usage: keyhaven identity [serve flags] COMMAND ARGS

Manages the built-in identity service's users, projects and roles in the
data directory (the server may be running).

Commands:
  user create NAME --password PW [--project P --role R]
  user list
  project create NAME [--description TEXT]
  project list
  role add --user NAME --project NAME ROLE
  role list                      role assignments, by name
  user delete|disable|enable NAME
  project disable|enable NAME
  domain disable|enable NAME     e.g. Default, after the API disabled it
  role remove --user NAME --project NAME ROLE

Deleting or disabling a user, disabling a project and removing a role end
the tokens and EC2 credentials they gave, on every keyhaven instance of
the database within seconds.
`

// identityCommand runs `keyhaven identity ...`. Global settings (data dir,
// database) come first, as for serve; the command and its own flags after.
func identityCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	split := len(args)
	for i, a := range args {
		if a == "user" || a == "project" || a == "role" || a == "domain" {
			split = i
			break
		}
	}
	cfg, err := loadConfig("keyhaven identity", args[:split], getenv)
	if err != nil {
		return err
	}
	rest := args[split:]
	if len(rest) < 2 {
		fmt.Fprint(stderr, identityUsage)
		return errors.New("identity: want an object and a verb")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, _, err := openBuiltin(ctx, cfg, st, slog.New(slog.DiscardHandler), stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("keyhaven identity "+rest[0]+" "+rest[1], flag.ContinueOnError)
	fs.SetOutput(stderr)
	pw := fs.String("password", "", "the user's password")
	project := fs.String("project", "", "project name (in the Default domain)")
	role := fs.String("role", "", "role to grant on --project")
	user := fs.String("user", "", "user name (in the Default domain)")
	desc := fs.String("description", "", "project description")
	// Positional arguments may come before the flags.
	var pos []string
	flagArgs := rest[2:]
	for len(flagArgs) > 0 && len(flagArgs[0]) > 0 && flagArgs[0][0] != '-' {
		pos, flagArgs = append(pos, flagArgs[0]), flagArgs[1:]
	}
	if err := fs.Parse(flagArgs); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	d := builtin.DefaultDomainID
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()

	switch rest[0] + " " + rest[1] {
	case "user create":
		if len(pos) != 1 || *pw == "" {
			return errors.New("user create: want NAME and --password")
		}
		u, err := svc.CreateUser(ctx, d, pos[0], *pw)
		if err != nil {
			return err
		}
		if *project != "" || *role != "" {
			if err := grantByName(ctx, svc, u.Name, *project, *role); err != nil {
				return err
			}
		}
		fmt.Fprintf(tw, "%s\t%s\n", u.ID, u.Name)
	case "user list":
		us, err := svc.Store().ListUsers(ctx, identity.Filter{})
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tNAME\tDOMAIN\tENABLED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.ID, u.Name, u.DomainID, u.Enabled)
		}
	case "project create":
		if len(pos) != 1 {
			return errors.New("project create: want NAME")
		}
		p, err := svc.CreateProject(ctx, d, pos[0], *desc)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\n", p.ID, p.Name)
	case "project list":
		ps, err := svc.Store().ListProjects(ctx, identity.Filter{})
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tNAME\tDOMAIN")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.ID, p.Name, p.DomainID)
		}
	case "role add":
		if len(pos) != 1 || *user == "" || *project == "" {
			return errors.New("role add: want ROLE, --user and --project")
		}
		return grantByName(ctx, svc, *user, *project, pos[0])
	case "role list":
		return listAssignments(ctx, svc.Store(), tw)
	case "user delete", "user disable", "user enable", "project disable", "project enable", "domain disable", "domain enable", "role remove":
		return withdrawByName(ctx, svc, rest[0]+" "+rest[1], pos, *user, *project)
	default:
		fmt.Fprint(stderr, identityUsage)
		return fmt.Errorf("identity: unknown command %q", rest[0]+" "+rest[1])
	}
	return nil
}

func grantByName(ctx context.Context, svc *builtin.Service, user, project, role string) error {
	if project == "" || role == "" {
		return errors.New("a grant needs both --project and --role")
	}
	u, err := svc.Store().GetUserByName(ctx, builtin.DefaultDomainID, user)
	if err != nil {
		return fmt.Errorf("user %q: %w", user, err)
	}
	p, err := svc.Store().GetProjectByName(ctx, builtin.DefaultDomainID, project)
	if err != nil {
		return fmt.Errorf("project %q: %w", project, err)
	}
	return svc.Grant(ctx, u.ID, p.ID, role)
}

func listAssignments(ctx context.Context, st identity.Store, w io.Writer) error {
	as, err := st.ListAssignments(ctx, identity.Filter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "USER\tPROJECT\tROLE")
	for _, a := range as {
		u, err1 := st.GetUser(ctx, a.UserID)
		p, err2 := st.GetProject(ctx, a.ProjectID)
		r, err3 := st.GetRole(ctx, a.RoleID)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", u.Name, p.Name, r.Name)
	}
	return nil
}

// withdrawByName runs the identity commands that take access away (or give
// back what disabling took), naming users and projects in the Default
// domain.
func withdrawByName(ctx context.Context, svc *builtin.Service, cmd string, pos []string, user, project string) error {
	if len(pos) != 1 {
		return fmt.Errorf("%s: want one NAME", cmd)
	}
	st, d := svc.Store(), builtin.DefaultDomainID
	if cmd == "role remove" {
		if user == "" || project == "" {
			return errors.New("role remove: want ROLE, --user and --project")
		}
		u, err := st.GetUserByName(ctx, d, user)
		if err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		p, err := st.GetProjectByName(ctx, d, project)
		if err != nil {
			return fmt.Errorf("project %q: %w", project, err)
		}
		r, err := st.GetRoleByName(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("role %q: %w", pos[0], err)
		}
		return svc.Ungrant(ctx, identity.Assignment{UserID: u.ID, ProjectID: p.ID, RoleID: r.ID})
	}
	on := strings.HasSuffix(cmd, "enable") && !strings.HasSuffix(cmd, "disable")
	if strings.HasPrefix(cmd, "domain ") {
		// Here only: a domain disabled through the API ends its
		// administrators' tokens too, so none may enable it again there.
		dom, err := st.GetDomainByName(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("domain %q: %w", pos[0], err)
		}
		_, err = svc.UpdateDomain(ctx, dom.ID, builtin.DomainChange{Enabled: &on})
		return err
	}
	if strings.HasPrefix(cmd, "project ") {
		p, err := st.GetProjectByName(ctx, d, pos[0])
		if err != nil {
			return fmt.Errorf("project %q: %w", pos[0], err)
		}
		_, err = svc.UpdateProject(ctx, p.ID, builtin.ProjectChange{Enabled: &on})
		return err
	}
	u, err := st.GetUserByName(ctx, d, pos[0])
	if err != nil {
		return fmt.Errorf("user %q: %w", pos[0], err)
	}
	if cmd == "user delete" {
		return svc.DeleteUser(ctx, u.ID)
	}
	_, err = svc.UpdateUser(ctx, u.ID, nil, nil, &on)
	return err
}
