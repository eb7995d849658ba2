// Command reach calls url.Parse, which testdata/osv/GO-9999-0001.json
// lists as vulnerable.
package main

import (
	"fmt"
	"net/url"
)

func main() {
	u, err := url.Parse("https://example.com/")
	fmt.Println(u, err)
}
