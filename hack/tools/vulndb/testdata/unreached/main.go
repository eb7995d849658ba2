// Command unreached imports net/url but never calls url.Parse.
package main

import (
	"fmt"
	"net/url"
)

func main() {
	fmt.Println(url.QueryEscape("a b"))
}
