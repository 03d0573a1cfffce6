package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var leaseResource = schema.GroupVersionResource{Group: "suture.dev", Version: "v1alpha1", Resource: "sutureleases"}

// LeasesResult: how long until every lease had a status for its generation, and the phases then.
type LeasesResult struct {
	Created       int            `json:"created"`
	CreateSeconds float64        `json:"createSeconds"`
	StableSeconds float64        `json:"stableSeconds"`
	Stable        bool           `json:"stable"`
	Phases        map[string]int `json:"phases"`
	WithRbac      int            `json:"withRbac"`
}

// lease i holds ConfigMap cm-i in the namespace for ServiceAccount holder-i; the last `conflicting` leases claim the
// ConfigMaps of the first ones for other holders, so they conflict (and are created later: the first ones win).
func leaseObject(namespace string, i, count, conflicting int) *unstructured.Unstructured {
	target := i
	if i >= count-conflicting {
		target = i - (count - conflicting)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "suture.dev/v1alpha1",
		"kind":       "SutureLease",
		"metadata":   map[string]any{"name": fmt.Sprintf("lease-%d", i), "namespace": namespace},
		"spec": map[string]any{
			"holder":    map[string]any{"kind": "ServiceAccount", "name": fmt.Sprintf("holder-%d", i), "namespace": namespace},
			"resources": []any{map[string]any{"apiGroups": []any{""}, "kinds": []any{"ConfigMap"}, "namespaces": []any{namespace}, "names": []any{fmt.Sprintf("cm-%d", target)}}},
			"access":    "Exclusive",
			"rbac":      "Generate",
		},
	}}
}

// stableOf: every lease's status was written for its generation and names a settled phase.
func stableOf(items []unstructured.Unstructured) (bool, map[string]int, int) {
	phases := map[string]int{}
	withRbac := 0
	stable := true
	for _, item := range items {
		phase, _, _ := unstructured.NestedString(item.Object, "status", "phase")
		observed, found, _ := unstructured.NestedInt64(item.Object, "status", "observedGeneration")
		generated, _, _ := unstructured.NestedSlice(item.Object, "status", "generated")
		if len(generated) > 0 {
			withRbac++
		}
		phases[phase]++
		if !found || observed != item.GetGeneration() || phase == "" || phase == "Pending" {
			stable = false
		}
		if phase == "Granted" && len(generated) == 0 {
			stable = false
		}
	}
	return stable, phases, withRbac
}

// runLeases creates `count` SutureLeases (the last `conflicting` conflict with the first ones) with `clients`
// parallel clients and polls until all are stable, for at most --timeout.
func runLeases(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("leases", flag.ExitOnError)
	var c common
	c.register(fs)
	conflicting := fs.Int("conflicting", 100, "leases that conflict with earlier ones")
	timeout := fs.Duration("timeout", 60*time.Second, "give up waiting after this long")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	newDynamic := func() (any, error) {
		cfg, err := restConfig(c.kubeconfig)
		if err != nil {
			return nil, err
		}
		return dynamic.NewForConfig(cfg)
	}
	start := time.Now()
	created, err := parallel(ctx, "create-leases", c.clients, c.count, newDynamic, func(ctx context.Context, h any, i int) error {
		_, err := h.(*dynamic.DynamicClient).Resource(leaseResource).Namespace(c.namespace).Create(ctx, leaseObject(c.namespace, i, c.count, *conflicting), metav1.CreateOptions{})
		return createIgnoringExisting(err)
	})
	if err != nil {
		return nil, err
	}
	if created.Errors > 0 {
		return nil, fmt.Errorf("%d lease creates failed, first: %s", created.Errors, created.FirstError)
	}
	res := LeasesResult{Created: created.Count, CreateSeconds: time.Since(start).Seconds()}
	h, err := newDynamic()
	if err != nil {
		return nil, err
	}
	client := h.(*dynamic.DynamicClient).Resource(leaseResource).Namespace(c.namespace)
	deadline := start.Add(*timeout)
	for {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		res.Stable, res.Phases, res.WithRbac = stableOf(list.Items)
		res.StableSeconds = time.Since(start).Seconds()
		if res.Stable || time.Now().After(deadline) || ctx.Err() != nil {
			return res, ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "  leases after %.0fs: %v, %d with RBAC\n", res.StableSeconds, res.Phases, res.WithRbac)
		time.Sleep(500 * time.Millisecond)
	}
}
