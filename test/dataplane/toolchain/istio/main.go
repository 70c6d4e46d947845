// The real istiod: the same lines as upstream pilot/cmd/pilot-discovery/main.go at the version pinned in
// go.mod, built from the module proxy with a go.sum that pins every dependency.
package main

import (
	"os"

	// Import automemlimit to automatically set GOMEMLIMIT to 90% of cgroup memory limit
	_ "github.com/KimMachineGun/automemlimit"

	"istio.io/istio/pilot/cmd/pilot-discovery/app"
	"istio.io/istio/pkg/log"
)

func main() {
	log.EnableKlogWithCobra()
	rootCmd := app.NewRootCommand()
	if err := rootCmd.Execute(); err != nil {
		log.Error(err)
		os.Exit(-1)
	}
}
