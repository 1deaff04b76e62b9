// Command bookmarks is the bookmarks example plugin's binary: build it, then
// "plein plugins install ./bookmarks".
package main

import (
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/examples/bookmarks"
)

func main() {
	sdk.Serve(bookmarks.New())
}
