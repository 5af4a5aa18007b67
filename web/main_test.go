package web_test

import (
	"testing"

	"github.com/ringhook/ringhook/web/webtest"
)

func TestMain(m *testing.M) { webtest.Main(m, "web") }
