//go:build tools

// Package tools pins the upstream helm CLI that the chart tests build from
// source (see ../README.md and ../../build-helm.sh):
//
//	go build -o helm helm.sh/helm/v4/cmd/helm
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
