//go:build tools

// Package tools pins the upstream Kubernetes commands that the e2e harness
// builds from source (see ../README.md and ../../build-control-plane.sh).
// Nothing imports this package; the blank imports only keep the requirements
// in go.mod/go.sum so `go build k8s.io/kubernetes/cmd/...` works from here.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
