//go:build tools

// Package tools pins the Kubernetes commands the test harness runs: `go build` of these two
// packages, at the release go.mod requires, gives the real kube-apiserver and
// kube-controller-manager (see scripts/build-control-plane.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
