package policy

import (
	"errors"
	"fmt"
	"testing"
)

// TestAuthorizeMatrix checks every action against every role set and both
// ownerships.
func TestAuthorizeMatrix(t *testing.T) {
	roles := map[string][]string{
		"admin":         {RoleAdmin},
		"admin+reader":  {RoleReader, RoleAdmin},
		"member":        {RoleMember},
		"member+reader": {RoleMember, RoleReader},
		"reader":        {RoleReader},
		"no roles":      nil,
		"other role":    {"heat_stack_owner"},
	}
	type want struct{ own, other bool }
	expect := func(action Action, roleSet string) want {
		admin := roleSet == "admin" || roleSet == "admin+reader"
		if admin {
			return want{true, true}
		}
		if roleSet == "no roles" {
			return want{false, false}
		}
		switch kinds[action] {
		case adminOnly:
			return want{false, false}
		case read, own:
			return want{true, false}
		}
		return want{roleSet != "reader", false}
	}
	for action := range kinds {
		for name, rs := range roles {
			w := expect(action, name)
			s := Subject{UserID: "alice", ProjectID: "p", Roles: rs}
			for _, c := range []struct {
				target string
				allow  bool
			}{{"", w.own}, {"alice", w.own}, {"bob", w.other}} {
				t.Run(fmt.Sprintf("%s/%s/%s", action, name, c.target), func(t *testing.T) {
					err := Authorize(action, s, Target{UserID: c.target})
					if (err == nil) != c.allow {
						t.Fatalf("allowed=%v, want %v", err == nil, c.allow)
					}
					var d *Denied
					if err != nil && (!errors.As(err, &d) || d.Action != action) {
						t.Fatalf("error %v is not a Denied for %s", err, action)
					}
					if err != nil && c.target == "bob" && kinds[action] != adminOnly && len(rs) > 0 && !d.OnBehalf {
						t.Fatal("refusal for another user's object not marked OnBehalf")
					}
				})
			}
		}
	}
}

func TestUnknownActionDenied(t *testing.T) {
	if err := Authorize("keypair:frobnicate", Subject{UserID: "a", Roles: []string{RoleMember}}, Target{}); err == nil {
		t.Fatal("unknown action allowed")
	}
}

// TestTaskActions spells out the association rules the matrix implies:
// a reader may look at tasks but not associate, disassociate or delete
// them; a member may do all of it.
func TestTaskActions(t *testing.T) {
	reader := Subject{UserID: "rita", ProjectID: "p", Roles: []string{RoleReader}}
	member := Subject{UserID: "mia", ProjectID: "p", Roles: []string{RoleMember}}
	for _, c := range []struct {
		action       Action
		readerAllows bool
	}{{TaskAssociate, false}, {TaskDisassociate, false}, {TaskDelete, false}, {TaskList, true}, {TaskShow, true}} {
		if got := Authorize(c.action, reader, Target{}) == nil; got != c.readerAllows {
			t.Errorf("reader %s: allowed=%v", c.action, got)
		}
		if Authorize(c.action, member, Target{}) != nil {
			t.Errorf("member %s refused", c.action)
		}
	}
}
