// The real Endpoint Picker: the same three lines as upstream cmd/epp/main.go at the version pinned in
// go.mod, so the binary is upstream's runner with upstream's default plugins, built from the module
// proxy with a go.sum that pins every dependency.
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"sigs.k8s.io/gateway-api-inference-extension/cmd/epp/runner"
)

func main() {
	if err := runner.NewRunner().Run(ctrl.SetupSignalHandler()); err != nil {
		os.Exit(1)
	}
}
