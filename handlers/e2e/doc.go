// Package e2e holds end-to-end tests that drive the console in a real
// headless Chromium (Debian's /usr/bin/chromium) with chromedp, the way a new
// user clicks through it: sign in, add a webhook with every field, fix
// validation errors, edit, enable/disable and delete.
//
// The tests need the browser. Without it they are skipped, except when the
// environment variable CI is "true": then they fail, because CI must install
// it. TestEveryPageFitsPhoneAndDesktop opens every console page at 1366 and
// 390 px and screenshots each; go test -artifacts keeps the screenshots (and
// the other tests' full-page ones). Set RINGHOOK_SCREENSHOT_DIR to save the
// README's few (dashboard, webhook form, delivery detail) there:
//
//	RINGHOOK_SCREENSHOT_DIR=$PWD/docs go test ./handlers/e2e -run TestEveryPageFitsPhoneAndDesktop
package e2e
