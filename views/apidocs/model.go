// Package apidocs renders the console's documentation: the JSON API
// reference (built from the OpenAPI document) and the Markdown pages of
// docs/, both readable without network access.
package apidocs

// Reference is the API reference page. HTML fields hold markup rendered
// from the project's own OpenAPI document and docs, never user input.
type Reference struct {
	BaseURL   string // where this console is served, e.g. https://hooks.example.com
	IntroHTML string
	Steps     []Step // the five-line walkthrough
	Groups    []Group
	// HasValues says the curl examples carry this account's own ids (some
	// placeholders remain when the account has no webhook, delivery, ...).
	HasValues bool
}

// Step is one command of the walkthrough.
type Step struct {
	Title string
	Curl  string
}

// Group is one tag of the document: webhooks, deliveries, ...
type Group struct {
	ID, Name, Description string
	Operations            []Operation
}

// Operation is one method on one path.
type Operation struct {
	Anchor          string // operationId
	Method, Path    string
	Summary         string
	DescriptionHTML string
	Scope           string // full, read, ingest or public
	Params          []Param
	RequestExample  string // pretty JSON, "" without a body
	ResponseExample string // the success answer's example, pretty JSON
	Responses       []Response
	Curl            string
}

// Param is one path, query or header parameter.
type Param struct {
	Name, In, Type  string
	Required        bool
	DescriptionHTML string
}

// Response is one status an operation can answer.
type Response struct {
	Status      string
	Description string
}

// Doc is one Markdown page of docs/, rendered.
type Doc struct {
	Title    string
	BodyHTML string
}
