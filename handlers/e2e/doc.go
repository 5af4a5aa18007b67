// Package e2e holds end-to-end tests that drive the console in a real
// headless Chromium (Debian's /usr/bin/chromium) with chromedp, the way a new
// user clicks through it: sign in, add a webhook with every field, fix
// validation errors, edit, enable/disable and delete.
//
// The tests need the browser. Without it they are skipped, except when the
// environment variable CI is "true": then they fail, because CI must install
// it. Set RINGHOOK_SCREENSHOT_DIR to a directory to save full-page screenshots
// of the filled-in form and of the webhook list (webhook-form.png,
// webhooks-list.png) there, for example for the README:
//
//	RINGHOOK_SCREENSHOT_DIR=$PWD/docs go test ./handlers/e2e -run TestNewUserCreatesWebhook
package e2e
