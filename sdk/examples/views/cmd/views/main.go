// Command views is the views example plugin's binary.
package main

import (
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/examples/views"
)

func main() {
	sdk.Serve(views.New())
}
