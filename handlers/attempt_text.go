package handlers

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/components"
)

// The console shows attempts in words: what the receiver did, not the
// dispatcher's error kind names or Go's error strings. The stored record
// keeps the raw message (the API serves it); these functions only read it.

var (
	// "dial tcp 127.0.0.1:18199: connect: connection refused"
	dialRE = regexp.MustCompile(`^dial (?:tcp|tcp4|tcp6|udp) ([^ ]+): (?:connect: )?(.+)$`)
	// "read tcp 127.0.0.1:5000->127.0.0.1:18199: read: connection reset by peer"
	ioRE = regexp.MustCompile(`^(?:read|write) tcp [^ ]*->([^ ]+): (?:read: |write: )?(.+)$`)
)

// attemptLabel is the short badge text of an attempt: the status code, or
// what went wrong in a word or two.
func attemptLabel(a *models.Attempt) string {
	if a.ResponseStatus != nil {
		return strings.TrimSpace(fmt.Sprintf("%d %s", *a.ResponseStatus, http.StatusText(*a.ResponseStatus)))
	}
	switch a.ErrorKind {
	case models.ErrKindTimeout:
		return "timed out"
	case models.ErrKindDNS:
		return "host not found"
	case models.ErrKindConnect:
		return "no connection"
	case models.ErrKindTLS:
		return "TLS error"
	case models.ErrKindBlocked:
		return "blocked"
	case models.ErrKindRender:
		return "not sent"
	case models.ErrKindInternal:
		return "internal error"
	case "":
		return "no response"
	}
	return "failed"
}

// attemptErrorText says in a sentence why an attempt failed ("" when it
// did not).
func attemptErrorText(a *models.Attempt) string {
	if a.Succeeded() {
		return ""
	}
	msg := strings.TrimSpace(a.ErrorMessage)
	switch a.ErrorKind {
	case models.ErrKindHTTPStatus:
		if a.ResponseStatus == nil {
			return "The receiver answered with an error."
		}
		s := fmt.Sprintf("The receiver answered %s.", strings.TrimSpace(fmt.Sprintf("%d %s", *a.ResponseStatus, http.StatusText(*a.ResponseStatus))))
		if *a.ResponseStatus >= 300 && *a.ResponseStatus < 400 {
			s += " Redirects are not followed; update the webhook's URL."
		}
		return s
	case models.ErrKindTimeout:
		return "The receiver did not answer within the webhook's timeout."
	case models.ErrKindConnect:
		return connectText(msg)
	case models.ErrKindDNS, models.ErrKindTLS, models.ErrKindBlocked:
		return sentence(msg)
	case models.ErrKindRender:
		return "The request could not be built: " + msg
	}
	if msg == "" {
		return "The attempt failed."
	}
	return sentence(msg)
}

// connectText words a transport failure.
func connectText(msg string) string {
	if m := dialRE.FindStringSubmatch(msg); m != nil {
		switch {
		case strings.Contains(m[2], "connection refused"):
			return "Connection refused by " + m[1] + "."
		case strings.Contains(m[2], "no route to host"), strings.Contains(m[2], "network is unreachable"):
			return "No route to " + m[1] + "."
		}
		return "Could not connect to " + m[1] + ": " + m[2] + "."
	}
	if m := ioRE.FindStringSubmatch(msg); m != nil {
		if strings.Contains(m[2], "connection reset") {
			return "The connection was reset by " + m[1] + "."
		}
		return "The connection to " + m[1] + " failed: " + m[2] + "."
	}
	if msg == "" {
		return "The connection failed."
	}
	return sentence(msg)
}

// sentence capitalises msg and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "…") && !strings.HasSuffix(msg, ")") {
		msg += "."
	}
	return msg
}

// clientHeaderNames are the headers Go's HTTP client adds on its own; the
// dispatcher records them after the ones it set (see web/dispatch/send.go).
var clientHeaderNames = []string{"Host", "Content-Length", "Accept-Encoding"}

// requestMessage lays out an attempt's request. stored are the headers of
// the delivery's stored request: a client header among them was set by
// the webhook, not added by the client.
func requestMessage(a *models.Attempt, stored []models.Header) components.Message {
	m := components.Message{Method: a.RequestMethod, URL: models.RedactURL(a.RequestURL), Body: a.RequestBody}
	for _, hd := range a.RequestHeaders.V {
		// Stored headers are already redacted; redacting again costs
		// nothing and keeps a secret out of the page should a record have
		// missed it.
		line := components.HeaderLine{Name: hd.Name, Value: models.RedactHeaderValue(hd.Name, hd.Value)}
		if isClientHeader(hd.Name) && !hasHeader(stored, hd.Name) {
			m.Added = append(m.Added, line)
			continue
		}
		m.Headers = append(m.Headers, line)
	}
	return m
}

// responseMessage lays out an attempt's response (zero when none came).
func responseMessage(a *models.Attempt) components.Message {
	if a.ResponseStatus == nil {
		return components.Message{}
	}
	m := components.Message{Status: strings.TrimSpace(fmt.Sprintf("HTTP %d %s", *a.ResponseStatus, http.StatusText(*a.ResponseStatus))), Body: a.ResponseBody}
	for _, hd := range a.ResponseHeaders.V {
		m.Headers = append(m.Headers, components.HeaderLine{Name: hd.Name, Value: models.RedactHeaderValue(hd.Name, hd.Value)})
	}
	return m
}

func isClientHeader(name string) bool {
	for _, n := range clientHeaderNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func hasHeader(hs []models.Header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}
