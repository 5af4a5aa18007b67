// Command checkimports enforces the layer rules of docs/architecture.md on the
// module's non-test imports:
//
//	cmd -> handlers -> {views, web/render, web/session, models}
//	handlers reach the dispatcher only through interfaces they declare
//	(cmd and the test harness handlers/handlertest wire it in);
//	nothing under web/ imports handlers; web/dispatch -> models only;
//	web/metrics -> models and Prometheus (the dispatcher knows it only as
//	its Observer interface, and never imports Prometheus);
//	views -> templ, stdlib and views only;
//	models never imports echo, templ, views, handlers or web.
//
// It prints every violation and exits 1 when there is one.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

const module = "github.com/ringhook/ringhook"

// rule says what packages under prefix must not import (deny) or may only
// import besides the standard library (allow, when non-nil). Packages
// under an except prefix are not bound by the rule.
type rule struct {
	prefix string
	except []string
	deny   []string
	allow  []string
}

var rules = []rule{
	{prefix: "models", deny: []string{"github.com/labstack/echo", "github.com/a-h/templ", module + "/views", module + "/handlers", module + "/web"}},
	{prefix: "views", allow: []string{"github.com/a-h/templ", module + "/views"}},
	{prefix: "web/dispatch", deny: []string{"github.com/labstack/echo", "github.com/a-h/templ", module + "/views", module + "/handlers",
		module + "/web/render", module + "/web/session", module + "/static", module + "/web/metrics", "github.com/prometheus"}},
	{prefix: "web/metrics", deny: []string{"github.com/labstack/echo", "github.com/a-h/templ", module + "/views", module + "/web/dispatch", "gorm.io"}},
	{prefix: "web", deny: []string{module + "/handlers", module + "/cmd"}},
	{prefix: "handlers", except: []string{"handlers/handlertest"}, deny: []string{module + "/web/dispatch", module + "/cmd", "gorm.io"}},
	{prefix: "web/render", deny: []string{module + "/handlers", module + "/models", module + "/web/dispatch"}},
	{prefix: "web/session", deny: []string{module + "/handlers", module + "/models", module + "/web/dispatch", module + "/views"}},
	{prefix: "static", allow: []string{}},
	{prefix: "docs", allow: []string{}},
}

func main() {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkimports: go list:", err)
		os.Exit(2)
	}
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		for _, imp := range fields[1:] {
			if msg := check(pkg, imp); msg != "" {
				bad = append(bad, msg)
			}
		}
	}
	for _, b := range bad {
		fmt.Println(b)
	}
	if len(bad) > 0 {
		os.Exit(1)
	}
	fmt.Println("check-imports: ok")
}

func check(pkg, imp string) string {
	for _, r := range rules {
		if !under(pkg, r.prefix) || slices.ContainsFunc(r.except, func(e string) bool { return under(pkg, e) }) {
			continue
		}
		for _, d := range r.deny {
			if imp == d || strings.HasPrefix(imp, d+"/") || (strings.HasSuffix(d, ".io") && strings.HasPrefix(imp, d)) {
				return fmt.Sprintf("%s must not import %s", pkg, imp)
			}
		}
		if r.allow != nil && !isStdlib(imp) {
			ok := false
			for _, a := range r.allow {
				if imp == a || strings.HasPrefix(imp, a+"/") {
					ok = true
				}
			}
			if !ok {
				return fmt.Sprintf("%s may import only the standard library and %v, not %s", pkg, r.allow, imp)
			}
		}
	}
	return ""
}

// under reports whether pkg is prefix or inside it.
func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

// isStdlib treats paths without a dot in their first element as standard library.
func isStdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}
