// Package docs holds the project's documentation pages, embedded so the
// console can serve them (/docs/<name>) without network access or a
// checkout beside the binary.
package docs

import "embed"

// FS holds every Markdown page of this folder, by file name ("events.md").
//
//go:embed *.md
var FS embed.FS
