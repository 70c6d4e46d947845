//go:build tools

// Package tools pins the upstream etcd server that the e2e harness builds from
// source (see ../README.md and ../../build-control-plane.sh). The module root
// of go.etcd.io/etcd/server/v3 is etcd's own `package main` (it just calls
// etcdmain.Main(os.Args)), so the harness builds that package directly:
//
//	go build -o etcd go.etcd.io/etcd/server/v3
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
