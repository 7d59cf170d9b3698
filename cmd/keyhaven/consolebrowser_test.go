package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the Debian chromium; without it the console's
// browser tests skip, unless KEYHAVEN_REQUIRE_CHROMIUM=1 (scripts/test.sh)
// makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KEYHAVEN_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is required (Debian package chromium; scripts/install-test-deps.sh)")
	}
	t.Skip("chromium not installed")
	return ""
}

// consoleBrowser is one headless Chromium for a test, with its downloads
// going to a directory of the test and its screenshots to the test's
// output directory (KEYHAVEN_SCREENSHOT_DIR, else a temporary one).
type consoleBrowser struct {
	ctx       context.Context
	downloads string
	shots     string
}

// startBrowser starts Chromium; it stops when the test ends.
func startBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
		chromedp.DisableGPU,
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run its sandbox as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &consoleBrowser{ctx: ctx, downloads: t.TempDir(), shots: os.Getenv("KEYHAVEN_SCREENSHOT_DIR")}
	if b.shots == "" {
		b.shots = t.TempDir()
	} else if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads, EventsEnabled: &yes}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	return b
}

// consoleTab is one tab of the browser, with its own sessionStorage (so
// its own signed-in user).
type consoleTab struct {
	t   *testing.T
	b   *consoleBrowser
	ctx context.Context
}

// tab opens a new tab at url.
func (b *consoleBrowser) tab(t *testing.T, url string) *consoleTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	// The tab is made by a first run on its own context: a run on a
	// context with a deadline would tie the tab's life to that deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageWatch}); err != nil {
		t.Fatalf("page watch: %v", err)
	}
	c := &consoleTab{t: t, b: b, ctx: ctx}
	c.do(chromedp.Navigate(url))
	return c
}

// pageWatch runs in the page before its own scripts (CDP's scripts are
// not subject to its Content-Security-Policy): it records what the policy
// blocked, uncaught errors, and each time the progress bar was shown with
// its label.
const pageWatch = `
window.watch = {violations: [], errors: [], progress: []};
document.addEventListener('securitypolicyviolation', (e) => watch.violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => watch.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => watch.errors.push(String(e.reason)));
document.addEventListener('DOMContentLoaded', () => {
  const busy = document.getElementById('busy');
  new MutationObserver(() => {
    if (!busy.hidden) watch.progress.push(document.getElementById('busy-text').textContent);
  }).observe(busy, {attributes: true, attributeFilter: ['hidden']});
});
`

// wantClean fails the test if the page broke its Content-Security-Policy
// or threw.
func (c *consoleTab) wantClean() {
	c.t.Helper()
	if got := c.evalString(`JSON.stringify([watch.violations, watch.errors])`); got != "[[],[]]" {
		c.t.Fatalf("the console's page: Content-Security-Policy violations and errors: %s", got)
	}
}

// do runs actions, each bounded so a console that does not answer fails
// the test rather than hanging it; on failure it keeps a screenshot.
func (c *consoleTab) do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.shot("failure")
		c.t.Fatalf("browser: %v (error box: %q)", err, c.evalString(`(document.querySelector('dialog[open] [data-error]') || document.getElementById('error')).textContent`))
	}
}

// evalString evaluates a JavaScript expression giving a string.
func (c *consoleTab) evalString(expr string) string {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// eval evaluates a JavaScript expression giving a boolean.
func (c *consoleTab) eval(expr string) bool {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (c *consoleTab) waitFor(what, expr string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !c.eval(expr) {
		if time.Now().After(deadline) {
			c.shot("failure")
			c.t.Fatalf("waiting for %s: %s never held (error box: %q)", what, expr,
				c.evalString(`(document.querySelector('dialog[open] [data-error]') || document.getElementById('error')).textContent`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// idle waits until no request of the console is in flight.
func (c *consoleTab) idle() {
	c.t.Helper()
	c.waitFor("the console to be idle", `document.getElementById('busy').hidden`)
}

// rows is the names in a key pair table's rows, in order.
func (c *consoleTab) rows(tbody string) []string {
	c.t.Helper()
	s := c.evalString(`[...document.querySelectorAll('#` + tbody + ` tr[data-name]')].map((r) => r.dataset.name).join('\n')`)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// cell is the text of one cell (by CSS class) of the row of a key pair.
func (c *consoleTab) cell(name, class string) string {
	return c.evalString(`document.querySelector('#kp-rows tr[data-name=` + jsString(name) + `] .` + class + `').textContent`)
}

// setField sets an input's, textarea's or select's value as typing would,
// firing input and change.
func (c *consoleTab) setField(id, value string) {
	c.t.Helper()
	if !c.eval(`(() => { const e = document.getElementById(` + jsString(id) + `); if (!e) return false; e.value = ` + jsString(value) +
		`; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`) {
		c.t.Fatalf("no field #%s", id)
	}
}

// click clicks the element a CSS selector finds.
func (c *consoleTab) click(sel string) {
	c.t.Helper()
	c.do(chromedp.Click(chromedp.CSS(sel)))
}

// shot writes a full-page screenshot NAME.png to the screenshot directory.
func (c *consoleTab) shot(name string) {
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(c.b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
	}
}

// download waits for the file name to be downloaded completely and
// returns its content.
func (b *consoleBrowser) download(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(b.downloads, name)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if raw, err := os.ReadFile(path); err == nil && len(raw) > 0 {
			if _, err := os.Stat(path + ".crdownload"); os.IsNotExist(err) {
				return string(raw)
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(b.downloads)
			t.Fatalf("download %s never arrived; the directory holds %v", name, entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// downloaded lists the downloaded files' names.
func (b *consoleBrowser) downloaded(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(b.downloads)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return fmt.Sprintf("%q", s) // Go's quoting is valid JavaScript for these test strings
}
