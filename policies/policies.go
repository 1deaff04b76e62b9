// Package policies holds Plein's Casbin model and default policies.
package policies

import _ "embed"

// Model is the Casbin model (model.conf).
//
//go:embed model.conf
var Model string

// Default holds the default policy lines (default.csv), in Casbin's CSV format.
//
//go:embed default.csv
var Default string
