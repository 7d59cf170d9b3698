package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleStaticTokens signs in to a keyhaven without the built-in
// identity (--auth static) with pasted tokens: the console learns from the
// API itself whether the token is an administrator's, and on sign-out says
// that such a token could not be revoked.
func TestConsoleStaticTokens(t *testing.T) {
	b := startBrowser(t)
	const adminTok, memberTok = "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d", "3f0c9d2e7b1a4c5d8e6f0a1b2c3d4e5f"
	srv := startServer(t, adminTok+" root proj admin\n"+memberTok+" bob proj member\n", "--auth", "static")
	for _, c := range []struct {
		token string
		admin bool
	}{{adminTok, true}, {memberTok, false}} {
		tab := b.tab(t, srv.URL+"/console/")
		tab.do(chromedp.WaitVisible(chromedp.CSS("#st-token")))
		tab.setField("st-token", c.token)
		tab.click("#st-submit")
		tab.waitFor("the key pairs page", `!document.getElementById('view-keypairs').hidden`)
		tab.idle()
		if got := tab.eval(`!document.getElementById('nav-admin').hidden`); got != c.admin {
			t.Fatalf("token of an admin %v: admin view offered %v", c.admin, got)
		}
		if !c.admin {
			consolePaging(t, srv, tab, c.token)
		}
		tab.click("#signout")
		tab.waitFor("the sign-in page", `!document.getElementById('view-signin').hidden`)
		tab.idle()
		if msg := tab.evalString(`document.getElementById('error').textContent`); !strings.Contains(msg, "not revoked") {
			t.Fatalf("sign-out of a static token says %q", msg)
		}
		if !tab.eval(`sessionStorage.length === 0`) {
			t.Fatal("the session outlived the sign-out")
		}
		tab.wantClean()
	}
}

// consolePaging pages through 12 key pairs 10 at a time with the API's
// cursor: forward to the end, and back.
func consolePaging(t *testing.T, srv *testServer, tab *consoleTab, token string) {
	t.Helper()
	var want []string
	for i := range 12 {
		name := fmt.Sprintf("k%02d", i)
		want = append(want, name)
		if resp, raw := srv.do(t, "POST", "/keyhaven/v1/keypairs", map[string]string{"X-Auth-Token": token, "Content-Type": "application/json"},
			`{"name": "`+name+`"}`); resp.StatusCode != 201 {
			t.Fatalf("create %s: %d %s", name, resp.StatusCode, raw)
		}
	}
	tab.do(chromedp.SetValue(chromedp.CSS("#kp-limit"), "10"))
	tab.click("#kp-apply")
	tab.idle()
	first := tab.rows("kp-rows")
	if !slices.Equal(first, want[:10]) || tab.eval(`document.getElementById('kp-next').disabled`) || !tab.eval(`document.getElementById('kp-prev').disabled`) {
		t.Fatalf("first page: %v", first)
	}
	tab.click("#kp-next")
	tab.idle()
	if got := tab.rows("kp-rows"); !slices.Equal(got, want[10:]) || !tab.eval(`document.getElementById('kp-next').disabled`) {
		t.Fatalf("second page: %v", got)
	}
	if got := tab.evalString(`document.getElementById('kp-page').textContent`); got != "Page 2" {
		t.Fatalf("page label %q", got)
	}
	tab.shot("paging")
	tab.click("#kp-prev")
	tab.idle()
	if got := tab.rows("kp-rows"); !slices.Equal(got, first) {
		t.Fatalf("back to the first page: %v", got)
	}
}
