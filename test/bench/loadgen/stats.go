package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Result is what a timed command prints: latency percentiles over the successful requests and the throughput.
type Result struct {
	Op         string  `json:"op"`
	Clients    int     `json:"clients"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"firstError,omitempty"`
	P50Ms      float64 `json:"p50ms"`
	P99Ms      float64 `json:"p99ms"`
	MeanMs     float64 `json:"meanms"`
	Throughput float64 `json:"throughput"`
	Seconds    float64 `json:"seconds"`
}

// percentile of sorted durations (nearest rank), in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	return float64(sorted[rank].Microseconds()) / 1000
}

func summarise(op string, clients int, latencies []time.Duration, errors int, firstError string, elapsed time.Duration) Result {
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	var total time.Duration
	for _, l := range latencies {
		total += l
	}
	mean := math.NaN()
	if len(latencies) > 0 {
		mean = float64(total.Microseconds()) / 1000 / float64(len(latencies))
	}
	return Result{
		Op: op, Clients: clients, Count: len(latencies), Errors: errors, FirstError: firstError,
		P50Ms: percentile(latencies, 50), P99Ms: percentile(latencies, 99), MeanMs: mean,
		Throughput: float64(len(latencies)) / elapsed.Seconds(), Seconds: elapsed.Seconds(),
	}
}

// parallel runs work(i) for i in [0, count) on `clients` goroutines, each with its own client (own connection),
// and times every call. A failed call counts as an error and is not timed.
func parallel(ctx context.Context, op string, clients, count int, newClient func() (any, error), work func(ctx context.Context, client any, i int) error) (Result, error) {
	handles := make([]any, clients)
	for c := range handles {
		h, err := newClient()
		if err != nil {
			return Result{}, err
		}
		handles[c] = h
	}
	var next atomic.Int64
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, count)
	errors := 0
	firstError := ""
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(client any) {
			defer wg.Done()
			local := make([]time.Duration, 0, count/clients+1)
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := work(ctx, client, i)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					errors++
					if firstError == "" {
						firstError = err.Error()
					}
					mu.Unlock()
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}(handles[c])
	}
	wg.Wait()
	return summarise(op, clients, latencies, errors, firstError, time.Since(start)), ctx.Err()
}

// restConfig loads a kubeconfig for load generation: no client-side rate limit, protobuf, and a dialer of its own
// so that client-go does not share one cached transport (one TCP connection) between the clients.
func restConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS = -1
	cfg.Burst = -1
	cfg.Timeout = 60 * time.Second
	cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return cfg, nil
}

func typedClient(kubeconfig string) func() (any, error) {
	return func() (any, error) {
		cfg, err := restConfig(kubeconfig)
		if err != nil {
			return nil, err
		}
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		return kubernetes.NewForConfig(cfg)
	}
}
