// Command loadgen is the load generator of `make bench`: client-go requests against the API server (timed), bulk
// creation of fixtures (untimed, parallel), AdmissionReviews posted straight to a webhook, and the lease reconcile
// measurement. Each command prints one JSON object on stdout; progress goes to stderr.
//
//	loadgen requests  --kubeconfig K --namespace bench --op create|update|delete|delete-namespace --clients 8 --count 800 --prefix p
//	loadgen populate  --kubeconfig K --namespace bench --kind configmap|secret --prefix p --count 1000 --clients 8
//	loadgen owners    --kubeconfig K --namespace bench --prefix p --count 10 --dependents 100 --clients 8
//	loadgen namespaces --kubeconfig K --prefix p --count 3 --objects 1000 --clients 8
//	loadgen webhook   --url https://127.0.0.1:9443/validate --review review.json --connections 8 --duration 10s
//	loadgen leases    --kubeconfig K --namespace bench-leases --count 1000 --conflicting 100 --timeout 60s
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen requests|populate|owners|namespaces|webhook|leases [flags]")
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	commands := map[string]func(context.Context, []string) (any, error){
		"requests":   runRequests,
		"populate":   runPopulate,
		"owners":     runOwners,
		"namespaces": runNamespaces,
		"webhook":    runWebhook,
		"leases":     runLeases,
	}
	command, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	result, err := command(ctx, os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}
