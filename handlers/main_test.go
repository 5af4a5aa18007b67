package handlers_test

import (
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
)

func TestMain(m *testing.M) { handlertest.Main(m, "handlers") }
