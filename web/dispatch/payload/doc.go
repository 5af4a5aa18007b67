// Package payload turns one canonical event plus one webhook's settings into
// the exact HTTP request the dispatcher sends, and signs it.
//
// The steps follow the payload rules in docs/events.md:
//
//   - [Fields] adds the delivery envelope (api_version, account_id,
//     webhook_id, test, timezone, the *_local times and custom_data) to a copy
//     of the event.
//   - [Render] encodes those fields as a JSON body, a form body or a GET
//     query merged into the webhook URL, and returns the method, URL, headers
//     and body. The result is stored and reused unchanged on every retry.
//   - [SignatureHeader] signs the request the Standard Webhooks way over
//     id.timestamp.content, where content is [SignedContent]: the body for
//     POST and the full URL for GET. The receiver's side is
//     web/dispatch/verifyexample (the one verifier); new secrets come from
//     models.NewSigningSecret (the one owner of the secret format).
//
// The package is pure: no I/O, no package state, and every function is safe
// for concurrent use.
package payload
