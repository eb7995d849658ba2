package source

import (
	"flag"
	"io"
	"log"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		log.SetOutput(io.Discard) // the git test server logs every request
	}
	os.Exit(m.Run())
}
