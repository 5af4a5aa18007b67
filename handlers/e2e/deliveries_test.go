package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// received is one request a test receiver got.
type received struct {
	Method string
	URI    string
	Header http.Header
	Body   []byte
}

// reply is what a receiver answers.
type reply struct {
	Status int
	Header map[string]string
	Body   string
}

// receiver is a webhook endpoint on 127.0.0.1 that records every request
// and answers with the reply set last.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []received
	reply reply
}

func newReceiver(t *testing.T, r reply) *receiver {
	t.Helper()
	rc := &receiver{reply: r}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Method: req.Method, URI: req.RequestURI, Header: req.Header.Clone(), Body: body})
		rp := rc.reply
		rc.mu.Unlock()
		for k, v := range rp.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rp.Status)
		_, _ = io.WriteString(w, rp.Body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// answer changes the reply for the requests that follow.
func (rc *receiver) answer(r reply) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reply = r
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// textOf is a JavaScript expression for the trimmed text of sel ("" when absent).
func textOf(sel string) string {
	return `(document.querySelector(` + jsString(sel) + `)?.textContent.trim() ?? "")`
}

// markPage sets a window marker that only a full page load would drop.
func markPage(b *browser) {
	b.t.Helper()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__e2eSamePage = "still here"`))
}

// samePage reports whether the marker set by markPage survived.
func samePage(b *browser) bool {
	b.t.Helper()
	return evalJS[string](b, `window.__e2eSamePage ?? "reloaded"`) == "still here"
}

// compactJSON removes insignificant whitespace, so a body can be matched
// whether it was sent compact or indented.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, s)
	}
	return buf.String()
}

// bodyOf returns what follows the blank line of an HTTP message as printed.
func bodyOf(httpText string) string {
	_, body, _ := strings.Cut(httpText, "\n\n")
	return body
}

func TestSendTestEventInline(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	const (
		traceHeader = "X-Receiver-Trace"
		traceValue  = "rcv-7f3a91"
		replyBody   = `{"ok":true,"ticket":"T-1001"}`
	)
	rc := newReceiver(t, reply{Status: http.StatusCreated,
		Header: map[string]string{"Content-Type": "application/json", traceHeader: traceValue}, Body: replyBody})

	in := models.NewWebhookInput("Asia/Kolkata")
	in.Name = "IVR to helpdesk"
	in.EventTypes = []string{"call.hangup", "call.dtmf"} // DTMF is not the preselected trigger
	in.URL = rc.URL + "/hooks/ringhook?src=e2e"
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, app.URL)
	signIn(b, tn)

	t.Log("open the webhook from the Webhooks list")
	b.load("open Webhooks from the navigation", chromedp.Click(navLink("Webhooks")), http.StatusOK)
	b.load("open the webhook", chromedp.Click(link(in.Name)), http.StatusOK)
	if p := b.path(); p != "/webhooks/"+w.ID {
		t.Fatalf("the list links to %s", p)
	}
	if got := evalJS[string](b, textOf("#test-result")); got != "" {
		t.Fatalf("the result area is not empty before a test: %q", got)
	}

	t.Log(`choose "DTMF option" in the Send test event card`)
	if sel := evalJS[string](b, `document.querySelector("#test-trigger").value`); sel != "call.hangup" {
		t.Errorf("the trigger preselected is %q, want the webhook's first, call.hangup", sel)
	}
	value := evalJS[string](b, `[...document.querySelectorAll("#test-trigger option")].find(o => o.textContent.trim() === "DTMF option")?.value ?? ""`)
	if value != "call.dtmf" {
		t.Fatalf(`the option "DTMF option" has value %q, want call.dtmf`, value)
	}
	b.do("choose DTMF option", chromedp.SetValue(chromedp.CSS("#test-trigger"), value))

	t.Log("click Send test event and wait for the inline result")
	markPage(b)
	b.do("click Send test event", chromedp.Click(button("Send test event")))
	b.waitFor("the 201 badge in the result", textOf("#test-result .test-result .badge")+` === "201 Created"`)
	if !samePage(b) {
		t.Error("Send test event loaded a new page; the result should appear in place")
	}
	res := evalJS[map[string]string](b, `(() => {
		const r = document.querySelector("#test-result");
		const pres = r.querySelectorAll(".http-raw pre.http"); // the raw text of each message
		return {
			badgeClass: r.querySelector(".badge")?.className ?? "",
			meta: r.querySelector("p .muted")?.textContent.trim() ?? "",
			log: r.querySelector("a")?.getAttribute("href") ?? "",
			error: r.querySelector(".field-error")?.textContent.trim() ?? "",
			request: pres[0]?.textContent ?? "",
			response: pres[1]?.textContent ?? "",
		};
	})()`)
	if !strings.Contains(res["badgeClass"], "badge-ok") {
		t.Errorf("the 201 badge has class %q, want badge-ok", res["badgeClass"])
	}
	if !strings.HasPrefix(res["meta"], "DTMF option · ") || !strings.HasSuffix(res["meta"], " ms") {
		t.Errorf("the result line says %q, want the trigger and a duration", res["meta"])
	}
	if res["error"] != "" {
		t.Errorf("a successful test shows an error: %q", res["error"])
	}
	request, response := res["request"], res["response"]
	if want := "POST " + in.URL + "\n"; !strings.HasPrefix(request, want) {
		t.Errorf("the request starts %q, want %q", strings.SplitN(request, "\n", 2)[0], strings.TrimSpace(want))
	}
	for _, h := range []string{"X-Webhook-Event: call.dtmf\n", "X-Webhook-Attempt: 1\n", "Content-Type: application/json"} {
		if !strings.Contains(request, h) {
			t.Errorf("the request shown lacks %q:\n%s", strings.TrimSpace(h), request)
		}
	}
	shownBody := bodyOf(request)
	if !strings.Contains(shownBody, `"test":true`) || !strings.Contains(shownBody, `"event":"call.dtmf"`) {
		t.Errorf(`the request body shown lacks "test":true or "event":"call.dtmf":%s`, "\n"+shownBody)
	}
	if !strings.HasPrefix(response, "HTTP 201 Created\n") {
		t.Errorf("the response starts %q, want HTTP 201 Created", strings.SplitN(response, "\n", 2)[0])
	}
	if !strings.Contains(response, traceHeader+": "+traceValue+"\n") {
		t.Errorf("the response shown lacks the receiver's %s header:\n%s", traceHeader, response)
	}
	if got := bodyOf(response); got != replyBody {
		t.Errorf("the response body shown is %q, want %q", got, replyBody)
	}

	t.Log("the receiver got exactly the request shown")
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URI != "/hooks/ringhook?src=e2e" {
		t.Errorf("the receiver got %s %s", r.Method, r.URI)
	}
	if v := r.Header.Values("X-Webhook-Event"); len(v) != 1 || v[0] != "call.dtmf" {
		t.Errorf("X-Webhook-Event = %q, want call.dtmf", v)
	}
	var payload map[string]any
	if err := json.Unmarshal(r.Body, &payload); err != nil {
		t.Fatalf("the receiver got a body that is not JSON: %v\n%s", err, r.Body)
	}
	if payload["test"] != true || payload["event"] != "call.dtmf" {
		t.Errorf("the receiver got test=%v event=%v", payload["test"], payload["event"])
	}
	if compactJSON(t, string(r.Body)) != compactJSON(t, shownBody) {
		t.Errorf("the page shows a different body than was sent:\nsent  %s\nshown %s", r.Body, shownBody)
	}

	t.Log("the test is recorded as a test delivery the result links to")
	var ds []models.Delivery
	if err := app.DB.Where("account_id = ? AND webhook_id = ?", tn.Account.ID, w.ID).Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].Test || ds[0].EventType != "call.dtmf" || ds[0].Status != models.StatusSucceeded {
		var desc []string
		for _, d := range ds {
			desc = append(desc, fmt.Sprintf("%d %s %s test=%v", d.ID, d.EventType, d.Status, d.Test))
		}
		t.Fatalf("stored deliveries %q, want one succeeded call.dtmf test", desc)
	}
	if want := "/deliveries/" + publicID(t, app, ds[0].ID); res["log"] != want {
		t.Errorf("the delivery log link goes to %q, want %q", res["log"], want)
	}

	b.do("scroll to the result", chromedp.Evaluate[chromedp.Void](`document.querySelector("#test-event").scrollIntoView()`))
	b.screenshot("test-event.png")
}

func TestDeliveryLogAndRedeliver(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	const token = "tok-live-9d2c41e7"
	rc := newReceiver(t, reply{Status: http.StatusInternalServerError,
		Header: map[string]string{"Content-Type": "application/json"}, Body: `{"error":"database is down"}`})

	in := models.NewWebhookInput("Asia/Kolkata")
	in.Name = "Calls to CRM"
	in.EventTypes = []string{"call.received"}
	in.URL = rc.URL + "/crm/calls"
	in.AuthType, in.AuthSecret = models.AuthBearer, token
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}

	t.Log("ingest a call.received event; its first attempt gets a 500")
	eventID := "evt_e2e" + strings.ToLower(models.NewID(""))
	ir, err := app.Dispatcher.Ingest(ctx, tn.Account.ID, map[string]any{
		"event": "call.received", "event_id": eventID, "occurred_at": "2026-04-09T07:24:53.000Z",
		"call_id": "call_e2e_1", "leg_id": "leg_1", "direction": "inbound", "call_type": "inbound",
		"from_number": "+919240202904", "from_name": "Test Man", "to_number": "+918287842425",
		"started_at": "2026-04-09T07:24:22.000Z",
	})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if ir.Deliveries != 1 || ir.Duplicate {
		t.Fatalf("ingest planned %d deliveries (duplicate %v), want 1", ir.Deliveries, ir.Duplicate)
	}
	if n, err := app.Dispatcher.ProcessDue(ctx); err != nil || n != 1 {
		t.Fatalf("process due: sent %d (err %v), want 1", n, err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1", n)
	}
	var d models.Delivery
	if err := app.DB.Where("account_id = ? AND webhook_id = ?", tn.Account.ID, w.ID).Take(&d).Error; err != nil {
		t.Fatalf("load the delivery: %v", err)
	}
	id := publicID(t, app, d.ID)

	b := newBrowser(t, app.URL)
	signIn(b, tn)

	t.Log("open Deliveries and find the pending row")
	b.load("open Deliveries from the navigation", chromedp.Click(navLink("Deliveries")), http.StatusOK)
	if p := b.path(); p != "/deliveries" {
		t.Fatalf("navigation went to %s", p)
	}
	row := evalJS[map[string]string](b, `(() => {
		const r = document.querySelector("#delivery-`+id+`");
		if (!r) return {};
		const td = r.querySelectorAll("td");
		return {
			event: td[1]?.querySelector("span")?.textContent.trim(),
			type: td[1]?.querySelector(".mono")?.textContent.trim(),
			call: td[2]?.textContent.trim(),
			webhook: td[3]?.textContent.trim(),
			status: td[4]?.querySelector(".badge")?.textContent.trim(),
			kind: td[4]?.querySelector(".badge")?.className,
			attempts: td[5]?.textContent.trim(),
			code: td[6]?.textContent.trim(),
			rows: String(document.querySelectorAll("#deliveries tbody tr").length),
		};
	})()`)
	wantRow := map[string]string{"event": "Call received on server", "type": "call.received", "call": "call_e2e_1", "webhook": in.Name,
		"status": "pending", "kind": "badge badge-warn", "attempts": "1", "code": "500", "rows": "1"}
	for k, v := range wantRow {
		if row[k] != v {
			t.Errorf("list row %s is %q, want %q%s", k, row[k], v, b.where())
		}
	}

	t.Log("open the delivery")
	b.load("open the delivery", chromedp.Click(chromedp.CSS(`#delivery-`+id+` a[href="/deliveries/`+id+`"]`)), http.StatusOK)
	if p := b.path(); p != "/deliveries/"+id {
		t.Fatalf("the row links to %s", p)
	}
	if h1 := evalJS[string](b, textOf("h1")); h1 != "Delivery "+id {
		t.Errorf("heading %q", h1)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#timeline article.attempt").length`); n != 1 {
		t.Fatalf("the timeline shows %d attempts, want 1%s", n, b.where())
	}
	first := evalJS[map[string]string](b, `(() => {
		const a = document.querySelector("#attempt-1");
		return {
			number: a.querySelector(".attempt-head strong")?.textContent.trim(),
			trigger: a.querySelector(".attempt-head .chip")?.textContent.trim(),
			status: a.querySelector(".attempt-head .badge")?.textContent.trim(),
			kind: a.querySelector(".attempt-head .badge")?.className,
			error: a.querySelector(".attempt-error")?.textContent.replace(/\s+/g, " ").trim() ?? "",
			retry: a.querySelector(".hint")?.textContent.trim() ?? "",
		};
	})()`)
	wantFirst := map[string]string{"number": "#1", "trigger": "auto", "status": "500 Internal Server Error", "kind": "badge badge-bad",
		"error": "The receiver answered 500 Internal Server Error."}
	for k, v := range wantFirst {
		if first[k] != v {
			t.Errorf("attempt 1 %s is %q, want %q", k, first[k], v)
		}
	}
	if !strings.HasPrefix(first["retry"], "Next retry at ") {
		t.Errorf("attempt 1 retry hint %q, want Next retry at …", first["retry"])
	}
	if s := evalJS[string](b, textOf("#delivery-summary .badge")); s != "pending" {
		t.Errorf("summary status %q, want pending", s)
	}

	t.Log("open the request and response of attempt 1")
	b.click(`#attempt-1 > details:nth-of-type(1) > summary`)
	b.click(`#attempt-1 > details:nth-of-type(2) > summary`)
	b.waitFor("both panes of attempt 1 to open", `document.querySelectorAll("#attempt-1 > details[open]").length === 2`)
	req1 := evalJS[string](b, `document.querySelector("#attempt-1 > details:nth-of-type(1) .http-raw pre.http")?.textContent ?? ""`)
	res1 := evalJS[string](b, `document.querySelector("#attempt-1 > details:nth-of-type(2) .http-raw pre.http")?.textContent ?? ""`)
	if want := "POST " + in.URL + "\n"; !strings.HasPrefix(req1, want) {
		t.Errorf("attempt 1 request starts %q, want %q", strings.SplitN(req1, "\n", 2)[0], strings.TrimSpace(want))
	}
	for _, h := range []string{"Authorization: [redacted]\n", "X-Webhook-Event: call.received\n", "X-Webhook-Attempt: 1\n", "webhook-id: " + eventID + "\n"} {
		if !strings.Contains(req1, h) {
			t.Errorf("attempt 1 request lacks %q:\n%s", strings.TrimSpace(h), req1)
		}
	}
	if !strings.Contains(bodyOf(req1), `"event_id":"`+eventID+`"`) {
		t.Errorf("attempt 1 request body lacks the event id:\n%s", bodyOf(req1))
	}
	if !strings.HasPrefix(res1, "HTTP 500 Internal Server Error\n") || bodyOf(res1) != `{"error":"database is down"}` {
		t.Errorf("attempt 1 response:\n%s", res1)
	}

	t.Log("the receiver recovers; click Redeliver")
	rc.answer(reply{Status: http.StatusOK, Header: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`})
	markPage(b)
	b.do("click Redeliver", chromedp.Click(button("Redeliver")))
	b.waitFor("attempt #2 in the timeline", `!!document.querySelector("#attempt-2")`)
	if !samePage(b) {
		t.Error("Redeliver loaded a new page; the timeline should update in place")
	}
	b.waitFor("the summary to turn succeeded", textOf("#delivery-summary .badge")+` === "succeeded"`)
	second := evalJS[map[string]string](b, `(() => {
		const all = [...document.querySelectorAll("#timeline article.attempt")].map(a => a.id).join(",");
		const a = document.querySelector("#attempt-2");
		return {
			order: all,
			number: a.querySelector(".attempt-head strong")?.textContent.trim(),
			trigger: a.querySelector(".attempt-head .chip")?.textContent.trim(),
			status: a.querySelector(".attempt-head .badge")?.textContent.trim(),
			kind: a.querySelector(".attempt-head .badge")?.className,
			error: a.querySelector(".attempt-error")?.textContent.trim() ?? "",
			notice: document.querySelector("#timeline .flash")?.textContent.trim() ?? "",
			noticeKind: document.querySelector("#timeline .flash")?.className ?? "",
			attempts: [...document.querySelectorAll("#delivery-summary dt")].find(e => e.textContent.trim() === "Attempts")?.nextElementSibling?.textContent.trim() ?? "",
			code: [...document.querySelectorAll("#delivery-summary dt")].find(e => e.textContent.trim() === "Last status code")?.nextElementSibling?.textContent.trim() ?? "",
			summaries: String(document.querySelectorAll("#delivery-summary").length),
			timelines: String(document.querySelectorAll("#timeline").length),
		};
	})()`)
	wantSecond := map[string]string{"order": "attempt-2,attempt-1", "number": "#2", "trigger": "manual", "status": "200 OK",
		"kind": "badge badge-ok", "error": "", "notice": "Redelivered: attempt #2 got 200.", "noticeKind": "flash flash-success",
		"attempts": "2", "code": "200", "summaries": "1", "timelines": "1"}
	for k, v := range wantSecond {
		if second[k] != v {
			t.Errorf("after Redeliver, %s is %q, want %q", k, second[k], v)
		}
	}
	b.click(`#attempt-2 > details:nth-of-type(1) > summary`)
	b.click(`#attempt-2 > details:nth-of-type(2) > summary`)
	b.waitFor("both panes of attempt 2 to open", `document.querySelectorAll("#attempt-2 > details[open]").length === 2`)
	req2 := evalJS[string](b, `document.querySelector("#attempt-2 > details:nth-of-type(1) .http-raw pre.http")?.textContent ?? ""`)
	res2 := evalJS[string](b, `document.querySelector("#attempt-2 > details:nth-of-type(2) .http-raw pre.http")?.textContent ?? ""`)
	if !strings.Contains(req2, "Authorization: [redacted]\n") || !strings.Contains(req2, "X-Webhook-Attempt: 2\n") {
		t.Errorf("attempt 2 request:\n%s", req2)
	}
	if !strings.HasPrefix(res2, "HTTP 200 OK\n") || bodyOf(res2) != `{"ok":true}` {
		t.Errorf("attempt 2 response:\n%s", res2)
	}
	if html := evalJS[string](b, `document.documentElement.outerHTML`); strings.Contains(html, token) {
		t.Error("the delivery page contains the bearer token")
	}

	t.Log("the receiver got the redelivery with the real token")
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("the receiver got %d requests, want 2", len(got))
	}
	for i, r := range got {
		if a := r.Header.Get("Authorization"); a != "Bearer "+token {
			t.Errorf("request %d Authorization %q, want the bearer token", i+1, a)
		}
		if n := r.Header.Get("X-Webhook-Attempt"); n != fmt.Sprint(i+1) {
			t.Errorf("request %d X-Webhook-Attempt %q", i+1, n)
		}
		if id := r.Header.Get("Webhook-Id"); id != eventID {
			t.Errorf("request %d webhook-id %q, want %q", i+1, id, eventID)
		}
	}
	if !bytes.Equal(got[0].Body, got[1].Body) {
		t.Errorf("the redelivery sent a different body:\n%s\n%s", got[0].Body, got[1].Body)
	}

	t.Log("the database has attempt 2, manual, 200")
	var atts []models.Attempt
	if err := app.DB.Where("account_id = ? AND delivery_id = ?", tn.Account.ID, d.ID).Order("number").Find(&atts).Error; err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 {
		t.Fatalf("%d attempts stored, want 2", len(atts))
	}
	code := func(a models.Attempt) int {
		if a.ResponseStatus == nil {
			return 0
		}
		return *a.ResponseStatus
	}
	if a := atts[0]; a.Number != 1 || a.Trigger != models.TriggerAuto || code(a) != 500 {
		t.Errorf("attempt 1 stored as #%d %s %d", a.Number, a.Trigger, code(a))
	}
	if a := atts[1]; a.Number != 2 || a.Trigger != models.TriggerManual || code(a) != 200 || a.ErrorKind != "" {
		t.Errorf("attempt 2 stored as #%d %s %d %q, want #2 manual 200", a.Number, a.Trigger, code(a), a.ErrorKind)
	}
	for _, a := range atts {
		for _, h := range a.RequestHeaders.V {
			if strings.EqualFold(h.Name, "Authorization") && h.Value != models.Redacted {
				t.Errorf("attempt %d stored Authorization %q", a.Number, h.Value)
			}
		}
	}
	if err := app.DB.Where("id = ?", d.ID).Take(&d).Error; err != nil {
		t.Fatal(err)
	}
	if d.Status != models.StatusSucceeded || d.AttemptCount != 2 {
		t.Errorf("delivery stored as %s after %d attempts", d.Status, d.AttemptCount)
	}

	b.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.screenshot("delivery-detail.png")

	t.Log("click the Call ID in the log: the call view lists the event and its delivery")
	b.load("open Deliveries from the navigation", chromedp.Click(navLink("Deliveries")), http.StatusOK)
	b.load("click the Call ID", chromedp.Click(chromedp.CSS(`#delivery-`+id+` a.call-link`)), http.StatusOK)
	if p := b.path(); p != "/calls/call_e2e_1" {
		t.Fatalf("the Call ID links to %s", p)
	}
	call := evalJS[map[string]string](b, `(() => {
		const e = document.querySelector("#event-`+eventID+`");
		const d = document.querySelector("#call-delivery-`+id+`");
		return {
			heading: document.querySelector("h1")?.textContent.trim() ?? "",
			event: e?.querySelector("strong")?.textContent.trim() ?? "",
			webhook: d?.querySelector("a")?.textContent.trim() ?? "",
			status: d?.querySelector(".badge")?.textContent.trim() ?? "",
		};
	})()`)
	wantCall := map[string]string{"heading": "Call call_e2e_1", "event": "Call received on server", "webhook": in.Name, "status": "succeeded"}
	for k, v := range wantCall {
		if call[k] != v {
			t.Errorf("call view %s is %q, want %q%s", k, call[k], v, b.where())
		}
	}
	b.load("open the delivery from the call view", chromedp.Click(chromedp.CSS(`#call-delivery-`+id+` a[href="/deliveries/`+id+`"]`)), http.StatusOK)
	if p := b.path(); p != "/deliveries/"+id {
		t.Errorf("the call view links the delivery to %s", p)
	}
}
