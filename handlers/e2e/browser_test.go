package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
)

func TestMain(m *testing.M) { handlertest.Main(m, "e2e") }

const (
	chromiumPath = "/usr/bin/chromium"
	// stepTimeout bounds every step: a click and the page it loads, a wait
	// for the preview, a read of the DOM.
	stepTimeout = 10 * time.Second
	// startTimeout bounds the start of the browser.
	startTimeout = 20 * time.Second
)

// browser is one headless Chromium with one tab, pointed at a running app.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab; it has no deadline, steps add their own
	base string

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions of the pages
	allowed  []string // substrings of console messages a test expects
}

// newBrowser starts Chromium for the test; it stops when the test ends.
// Without /usr/bin/chromium the test is skipped, or fails when CI=true.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (%v): CI must install Chromium for the end-to-end tests (apt-get install chromium)", chromiumPath, err)
		}
		t.Skipf("end-to-end tests need Chromium at %s: %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,AutofillServerCommunication,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the console check below runs before
	// the browser stops, and the browser stops before t.TempDir is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})

	// The first Run binds the browser to the context it gets, so it must not
	// have a deadline; a timer bounds the start instead.
	timer := time.AfterFunc(startTimeout, cancelAlloc)
	err := chromedp.Do(ctx)
	timer.Stop()
	if err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}

	b := &browser{t: t, ctx: ctx, base: base}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
	next:
		for _, p := range b.problems {
			for _, a := range b.allowed {
				if strings.Contains(p, a) {
					t.Logf("browser console (expected): %s", p)
					continue next
				}
			}
			t.Errorf("browser console: %s", p)
		}
	})
	return b
}

// allowConsole lets a console error that contains substr pass, for pages
// that a test expects to fail (a 422 form, say).
func (b *browser) allowConsole(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, substr)
}

// step returns a context for one step.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// do runs actions that load no new page, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.where())
	}
}

// load runs trigger (a click, a navigation) and waits for the page it loads.
// It fails the test unless the document's final status is wantStatus.
func (b *browser) load(what string, trigger chromedp.Action[chromedp.Void], wantStatus int) *network.Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, trigger)
	if err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.where())
	}
	if res == nil {
		b.t.Fatalf("%s: no page was loaded%s", what, b.where())
	}
	if int(res.Status) != wantStatus {
		b.t.Fatalf("%s: status %d, want %d%s", what, res.Status, wantStatus, b.where())
	}
	return res
}

// open loads path like typing it into the address bar.
func (b *browser) open(path string, wantStatus int) {
	b.t.Helper()
	b.load("open "+path, chromedp.Navigate(b.base+path), wantStatus)
}

// waitFor waits until the JavaScript expression is truthy.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout-time.Second)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v%s", what, err, b.where())
	}
}

// path is the path of the page the tab shows.
func (b *browser) path() string {
	b.t.Helper()
	loc := evalJS[string](b, "location.href")
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.Path
}

// where describes the page for failure messages: its URL and visible text.
func (b *browser) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil {
		return ""
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body || {innerText: ""}).innerText.slice(0, 1500)`))
	out := fmt.Sprintf("\n  page %s\n  text: %s", loc, strings.ReplaceAll(text, "\n", " | "))
	if pv, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#preview")?.innerText ?? ""`)); pv != "" {
		out += "\n  preview:\n" + pv
	}
	return out
}

// evalJS evaluates expr in the page and decodes its value.
func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v%s", expr, err, b.where())
	}
	return v
}

// fill replaces the value of the input or textarea sel by typing text.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.do("find "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	// Empty it first, as selecting all and typing over it would.
	if !evalJS[bool](b, `(el => { if (!el) return false; el.value = ""; return true; })(document.querySelector(`+jsString(sel)+`))`) {
		b.t.Fatalf("fill %s: no such field%s", sel, b.where())
	}
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// click clicks the element that sel finds; the page stays.
func (b *browser) click(sel chromedp.CSS) {
	b.t.Helper()
	b.do("click "+string(sel), chromedp.Click(sel))
}

// acceptDialogs accepts every JavaScript dialog (confirm, alert) the tab
// opens from now on and records its message.
func (b *browser) acceptDialogs() (messages func() []string) {
	dialogs := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	var mu sync.Mutex
	var seen []string
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, ev.Message)
			mu.Unlock()
			ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
			_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				b.t.Errorf("accept dialog %q: %v", ev.Message, err)
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// screenshot saves a full-page PNG as name in the test's artifact directory
// when go test runs with -artifacts (the README's screenshots come from
// TestEveryPageFitsPhoneAndDesktop instead).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if f := flag.Lookup("test.artifacts"); f == nil || f.Value.String() != "true" {
		return
	}
	dir := b.t.ArtifactDir()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("saved %s", p)
}

// xpath finds an element by XPath.
func xpath(format string, args ...any) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(format, args...))
}

// button is the button whose text is text.
func button(text string) chromedp.Search {
	return xpath(`//button[normalize-space()=%s]`, xpathString(text))
}

// link is the link whose text is text.
func link(text string) chromedp.Search {
	return xpath(`//a[normalize-space()=%s]`, xpathString(text))
}

// navLink is the main navigation's link with text.
func navLink(text string) chromedp.Search {
	return xpath(`//header//nav//a[normalize-space()=%s]`, xpathString(text))
}

func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// jsString quotes s for JavaScript source.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\u003c`)
	return `"` + r.Replace(s) + `"`
}

// publicID is the public id (dlv_…) the console shows for delivery row id.
func publicID(t testing.TB, app *handlertest.App, id int64) string {
	t.Helper()
	c, err := app.Store.PublicIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Delivery(id).String()
}
