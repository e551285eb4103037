// Command etcd is etcd's own server, built from go.etcd.io/etcd/server/v3 at the release go.mod
// requires (Debian's etcd-server is too old for the Kubernetes release the tests run).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
