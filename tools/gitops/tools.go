//go:build tools

// Pins helm's command in go.mod, so that `go build helm.sh/helm/v4/cmd/helm` builds the version named there.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
