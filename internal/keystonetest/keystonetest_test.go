package keystonetest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether Keystone's directory, process group and port are all
// gone.
func gone(dir string, pgid int, url string) (bool, string) {
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		return false, fmt.Sprintf("directory %s still there (stat: %v)", dir, err)
	}
	if err := syscall.Kill(-pgid, 0); err != syscall.ESRCH {
		return false, fmt.Sprintf("process group %d still there (kill 0: %v)", pgid, err)
	}
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(url); err == nil {
		resp.Body.Close()
		return false, url + " still answers"
	}
	return true, ""
}

// TestDedicatedInstanceAndHelpers uses a Keystone of its own, so that it
// can check that Stop leaves nothing behind.
func TestDedicatedInstanceAndHelpers(t *testing.T) {
	k := StartDedicated(t)
	var v struct {
		Version struct {
			ID string `json:"id"`
		} `json:"version"`
	}
	k.Request(t, http.MethodGet, "", "", nil, &v, http.StatusOK)
	if !strings.HasPrefix(v.Version.ID, "v3") {
		t.Fatalf("GET %s: version %q, want v3.x", k.URL, v.Version.ID)
	}

	project := UniqueName("proj")
	name := UniqueName("user")
	uid := k.CreateUser(t, name, "pw-"+name, project, "member")
	pid := k.ProjectID(t, project)
	if uid == "" || pid == "" || k.ProjectID(t, project) != pid {
		t.Fatalf("CreateUser/ProjectID: ids %q %q", uid, pid)
	}
	tok := k.IssueToken(t, name, "pw-"+name, project)
	validate := func(want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, k.URL+"/auth/tokens?nocatalog", nil)
		req.Header.Set("X-Auth-Token", k.AdminToken(t))
		req.Header.Set("X-Subject-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("validating the token: HTTP %d, want %d", resp.StatusCode, want)
		}
	}
	validate(http.StatusOK)

	access, secret := k.CreateEC2(t, uid, pid)
	if access == "" || secret == "" {
		t.Fatal("CreateEC2 returned empty keys")
	}
	k.DeleteEC2(t, uid, access)

	unscoped := UniqueName("unscoped")
	k.CreateUser(t, unscoped, "pw", "", "")
	if k.IssueToken(t, unscoped, "pw", "") == "" {
		t.Fatal("no unscoped token")
	}

	k.RevokeToken(t, k.AdminToken(t), tok)
	validate(http.StatusNotFound)

	pgid, dir := k.server.Process.Pid, k.Dir()
	k.Stop()
	k.Stop() // a second Stop does nothing
	if ok, why := gone(dir, pgid, k.URL); !ok {
		t.Error("after Stop: " + why)
	}
}

const childEnv = "KEYSTONETEST_CHILD"

// TestSharedInstanceChild runs only as the child of
// TestSharedInstanceGoesWithTheBinary: it starts the shared instance, says
// where it is and exits.
func TestSharedInstanceChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs as a child process of TestSharedInstanceGoesWithTheBinary")
	}
	k := Start(t)
	if Start(t) != k {
		t.Fatal("Start returned a second instance")
	}
	fmt.Printf("KEYSTONE %d %s %s\n", k.server.Process.Pid, k.Dir(), k.URL)
}

// TestSharedInstanceGoesWithTheBinary checks that the shared instance is
// stopped and its directory removed when the test binary exits.
func TestSharedInstanceGoesWithTheBinary(t *testing.T) {
	skipIfMissing(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharedInstanceChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var pgid int
	var dir, url string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "KEYSTONE" {
			pgid, _ = strconv.Atoi(f[1])
			dir, url = f[2], f[3]
		}
	}
	if pgid == 0 {
		t.Fatalf("child did not say where Keystone was:\n%s", out)
	}
	// The watchdog needs a moment (it gives Keystone up to 5 s to stop).
	var why string
	for range 100 {
		var ok bool
		if ok, why = gone(dir, pgid, url); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("10 s after the test binary exited: " + why)
}
