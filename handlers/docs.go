package handlers

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"github.com/ringhook/ringhook/docs"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/apidocs"
	"github.com/ringhook/ringhook/web/render"
)

// The console's documentation: /docs/api is the API reference, rendered
// on the server from the same OpenAPI document the API is tested against
// (so it cannot drift from the routes), with curl examples filled in with
// the signed-in account's own ids; /docs/<name> renders docs/<name>.md.
// Nothing here reaches the network.

// DocsAPI serves the API reference.
func (h *Handler) DocsAPI(c echo.Context) error {
	ref, err := apiReference()
	if err != nil {
		return err
	}
	vals, err := h.exampleValues(c)
	if err != nil {
		return err
	}
	out := ref.filled(vals)
	return render.HTML(c, http.StatusOK, apidocs.Page(h.page(c, "API reference", "docs"), out))
}

// DocsPage serves one Markdown page of docs/ ("/docs/migrating").
func (h *Handler) DocsPage(c echo.Context) error {
	d, ok := docPages()[c.Param("name")]
	if !ok {
		return fault.ErrNotFound
	}
	return render.HTML(c, http.StatusOK, apidocs.DocPage(h.page(c, d.Title, "docs"), d))
}

// markdown renders the project's own docs: GitHub's flavour (tables) and
// heading ids, so links such as operations.md#metrics land. Raw HTML in
// the source is not passed through.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithParserOptions(parser.WithAutoHeadingID()))

// mdLink matches a link to a sibling page, "events.md" or "events.md#x".
var mdLink = regexp.MustCompile(`href="([a-z0-9-]+)\.md(#[^"]*)?"`)

func renderMarkdown(src string) (string, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		return "", err
	}
	return mdLink.ReplaceAllString(b.String(), `href="/docs/$1$2"`), nil
}

// docPages renders every page of docs/ once, by name without ".md".
var docPages = sync.OnceValue(func() map[string]apidocs.Doc {
	out := map[string]apidocs.Doc{}
	names, _ := fs.Glob(docs.FS, "*.md")
	for _, n := range names {
		src, err := fs.ReadFile(docs.FS, n)
		if err != nil {
			continue
		}
		body, err := renderMarkdown(string(src))
		if err != nil {
			continue
		}
		title, _, _ := strings.Cut(string(src), "\n")
		out[strings.TrimSuffix(n, ".md")] = apidocs.Doc{Title: strings.TrimPrefix(title, "# "), BodyHTML: body}
	}
	return out
})

// The parts of the OpenAPI document the reference shows.
type oaDocument struct {
	Info struct {
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tags"`
	Paths      json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]oaParam `json:"parameters"`
	} `json:"components"`
}

type oaOperation struct {
	OperationID string          `json:"operationId"`
	Tags        []string        `json:"tags"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	Scope       string          `json:"x-ringhook-scope"`
	Parameters  []oaParam       `json:"parameters"`
	RequestBody *oaBody         `json:"requestBody"`
	Responses   json.RawMessage `json:"responses"`
}

type oaParam struct {
	Ref         string `json:"$ref"`
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	Schema      struct {
		Type   any    `json:"type"`
		Format string `json:"format"`
		Enum   []any  `json:"enum"`
	} `json:"schema"`
}

type oaBody struct {
	Description string `json:"description"`
	Content     map[string]struct {
		Examples json.RawMessage `json:"examples"`
	} `json:"content"`
}

// reference is the document turned into the page, before the account's
// values go into the curl examples.
type reference struct {
	apidocs.Reference
	bodies map[string]string // operationId → request example, compact JSON
}

// apiReference parses the embedded document once.
var apiReference = sync.OnceValues(func() (*reference, error) {
	var doc oaDocument
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	intro, err := renderMarkdown(doc.Info.Description)
	if err != nil {
		return nil, err
	}
	ref := &reference{Reference: apidocs.Reference{IntroHTML: intro}, bodies: map[string]string{}}
	groups := map[string]*apidocs.Group{}
	for _, t := range doc.Tags {
		ref.Groups = append(ref.Groups, apidocs.Group{ID: t.Name, Name: tagTitle(t.Name), Description: t.Description})
	}
	for i := range ref.Groups {
		groups[ref.Groups[i].ID] = &ref.Groups[i]
	}
	paths, err := orderedMembers(doc.Paths)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		methods, err := orderedMembers(p.value)
		if err != nil {
			return nil, err
		}
		for _, m := range methods {
			if m.key == "parameters" || !strings.HasPrefix(p.key, "/api/") {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(m.value, &op); err != nil {
				return nil, fmt.Errorf("openapi.json %s %s: %w", m.key, p.key, err)
			}
			o, body, err := referenceOperation(strings.ToUpper(m.key), p.key, op, doc.Components.Parameters)
			if err != nil {
				return nil, fmt.Errorf("openapi.json %s %s: %w", m.key, p.key, err)
			}
			ref.bodies[o.Anchor] = body
			if len(op.Tags) > 0 && groups[op.Tags[0]] != nil {
				g := groups[op.Tags[0]]
				g.Operations = append(g.Operations, o)
			}
		}
	}
	ref.Groups = slices.DeleteFunc(ref.Groups, func(g apidocs.Group) bool { return len(g.Operations) == 0 })
	return ref, nil
})

// tagTitle is a tag's heading: "api-keys" → "API keys".
func tagTitle(tag string) string {
	s := strings.ReplaceAll(tag, "-", " ")
	s = strings.Replace(s, "api", "API", 1)
	if s == "meta" {
		return "This document"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func referenceOperation(method, path string, op oaOperation, shared map[string]oaParam) (apidocs.Operation, string, error) {
	desc, err := renderMarkdown(op.Description)
	if err != nil {
		return apidocs.Operation{}, "", err
	}
	o := apidocs.Operation{Anchor: op.OperationID, Method: method, Path: path, Summary: op.Summary, DescriptionHTML: desc, Scope: op.Scope}
	for _, p := range op.Parameters {
		if p.Ref != "" {
			p = shared[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		d, err := renderMarkdown(p.Description)
		if err != nil {
			return o, "", err
		}
		o.Params = append(o.Params, apidocs.Param{Name: p.Name, In: p.In, Type: schemaType(p), Required: p.Required, DescriptionHTML: d})
	}
	var body string
	if op.RequestBody != nil {
		if ct, ok := op.RequestBody.Content[echo.MIMEApplicationJSON]; ok {
			if v, err := firstExample(ct.Examples); err == nil && v != nil {
				o.RequestExample = pretty(v)
				var b bytes.Buffer
				if json.Compact(&b, v) == nil {
					body = b.String()
				}
			}
		}
	}
	responses, err := orderedMembers(op.Responses)
	if err != nil {
		return o, "", err
	}
	for _, r := range responses {
		var resp struct {
			Description string `json:"description"`
			Content     map[string]struct {
				Examples json.RawMessage `json:"examples"`
			} `json:"content"`
		}
		if err := json.Unmarshal(r.value, &resp); err != nil {
			return o, "", err
		}
		code, _ := strconv.Atoi(r.key) // "default" has no status text
		o.Responses = append(o.Responses, apidocs.Response{Status: r.key + " " + http.StatusText(code), Description: resp.Description})
		if o.ResponseExample == "" && strings.HasPrefix(r.key, "2") {
			if ct, ok := resp.Content[echo.MIMEApplicationJSON]; ok {
				if v, err := firstExample(ct.Examples); err == nil && v != nil {
					o.ResponseExample = pretty(v)
				}
			}
		}
	}
	return o, body, nil
}

func schemaType(p oaParam) string {
	t := fmt.Sprint(p.Schema.Type)
	if p.Schema.Type == nil {
		t = "string"
	}
	if p.Schema.Format != "" {
		t += " (" + p.Schema.Format + ")"
	}
	if len(p.Schema.Enum) > 0 {
		vals := make([]string, len(p.Schema.Enum))
		for i, v := range p.Schema.Enum {
			vals[i] = fmt.Sprint(v)
		}
		t += ": " + strings.Join(vals, " | ")
	}
	return t
}

// member is one key of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// orderedMembers lists an object's members in the order written: the
// reference follows the document's order, which a Go map would lose.
func orderedMembers(raw json.RawMessage) ([]member, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want an object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: t.(string), value: v})
	}
	return out, nil
}

// firstExample is the value of an examples map's first entry.
func firstExample(examples json.RawMessage) (json.RawMessage, error) {
	ms, err := orderedMembers(examples)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	var ex struct {
		Value json.RawMessage `json:"value"`
	}
	err = json.Unmarshal(ms[0].value, &ex)
	return ex.Value, err
}

func pretty(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, v, "", "  "); err != nil {
		return string(v)
	}
	return b.String()
}

// exampleValues are the ids the curl examples use: this account's own
// where it has one, a placeholder otherwise.
type exampleValues struct {
	base    string
	ids     map[string]string // path segment before a parameter → id
	own     bool              // at least one id is the account's
	eventID string
	account string
}

func (h *Handler) exampleValues(c echo.Context) (exampleValues, error) {
	ctx := c.Request().Context()
	acc := currentAccount(c)
	v := exampleValues{base: h.baseURL(c), account: acc.Name, eventID: catalog.NewEventID(h.now(), rand.Reader),
		ids: map[string]string{"webhooks": "WEBHOOK_ID", "deliveries": "DELIVERY_ID", "events": "EVENT_ID", "calls": "CALL_ID",
			"numbers": "NUMBER_ID", "api-keys": "API_KEY_ID", "jobs": "JOB_ID"}}
	own := func(segment, id string) {
		if id != "" {
			v.ids[segment], v.own = id, true
		}
	}
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return v, err
	}
	if len(hooks) > 0 {
		own("webhooks", hooks[0].ID)
	}
	rows, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{Limit: 1})
	if err != nil {
		return v, err
	}
	if len(rows) > 0 {
		own("deliveries", rows[0].PublicID.String())
		own("events", rows[0].EventID)
		if rows[0].CallID != nil {
			own("calls", *rows[0].CallID)
		}
	}
	nums, err := h.store.PhoneNumbers(ctx, acc.ID)
	if err != nil {
		return v, err
	}
	if len(nums) > 0 {
		own("numbers", nums[0].ID)
	}
	keys, err := h.store.APIKeys(ctx, acc.ID)
	if err != nil {
		return v, err
	}
	if i := slices.IndexFunc(keys, func(k models.APIKey) bool { return k.RevokedAt == nil }); i >= 0 {
		own("api-keys", keys[i].ID)
	}
	return v, nil
}

// pathParam matches "{name}" and the segment before it.
var pathParam = regexp.MustCompile(`([a-z-]+)/\{[a-z_]+\}`)

// filled is the reference with every curl example written out for v.
func (r *reference) filled(v exampleValues) apidocs.Reference {
	out := r.Reference
	out.BaseURL, out.HasValues = v.base, v.own
	out.Groups = slices.Clone(r.Groups)
	byID := map[string]apidocs.Operation{}
	for gi := range out.Groups {
		ops := slices.Clone(out.Groups[gi].Operations)
		for oi := range ops {
			ops[oi].Curl = curlFor(ops[oi], r.bodies[ops[oi].Anchor], v)
			byID[ops[oi].Anchor] = ops[oi]
		}
		out.Groups[gi].Operations = ops
	}
	// The walkthrough: create a key, a webhook, send an event, list the
	// webhook's deliveries, redeliver one.
	out.Steps = []apidocs.Step{
		{Title: "Create a key on the API keys page, or on the server:", Curl: "ringhook apikey create --account " + shellQuote(v.account) + " --name my-script"},
		{Title: "Create a webhook (the answer carries its signing secret, once):", Curl: byID["createWebhook"].Curl},
		{Title: "Send a call event, as your PBX would (a fresh event id each time):", Curl: byID["ingestEvent"].Curl},
		{Title: "List the webhook's deliveries:", Curl: byID["listWebhookDeliveries"].Curl},
		{Title: "Send one again:", Curl: byID["redeliverDelivery"].Curl},
	}
	return out
}

// eventIDExample is the event id the document's examples use.
var eventIDExample = regexp.MustCompile(`"event_id":"evt_[0-9A-Z]+"`)

func curlFor(o apidocs.Operation, body string, v exampleValues) string {
	path := pathParam.ReplaceAllStringFunc(o.Path, func(m string) string {
		seg, _, _ := strings.Cut(m, "/")
		return seg + "/" + v.ids[seg]
	})
	var b strings.Builder
	b.WriteString("curl -sS")
	if o.Method != http.MethodGet {
		b.WriteString(" -X " + o.Method)
	}
	b.WriteString(" " + shellQuote(v.base+path))
	if o.Scope != "public" {
		b.WriteString(` \` + "\n  -H \"Authorization: Bearer $RINGHOOK_API_KEY\"")
	}
	if slices.ContainsFunc(o.Params, func(p apidocs.Param) bool { return p.Name == "Idempotency-Key" }) {
		b.WriteString(` \` + "\n  -H \"Idempotency-Key: $(uuidgen)\"")
	}
	if body != "" {
		if o.Anchor == "ingestEvent" {
			body = eventIDExample.ReplaceAllString(body, `"event_id":"`+v.eventID+`"`)
		}
		b.WriteString(` \` + "\n  -H 'Content-Type: application/json'")
		b.WriteString(` \` + "\n  -d " + shellQuote(body))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
