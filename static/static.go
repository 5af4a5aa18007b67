// Package static embeds the console's CSS, JavaScript and images so the
// binary serves them without files on disk. htmx is vendored as one pinned
// file because the network cannot be reached at run time; js/forms.js is
// the console's own small script (error summary focus, header rows, copy).
package static

import "embed"

// FS holds css/, js/ and img/.
//
//go:embed css js
var FS embed.FS
