package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// WebhookResult adds what the webhook answered to the latency figures.
type WebhookResult struct {
	Result
	Allowed int `json:"allowed"`
	Denied  int `json:"denied"`
}

// runWebhook posts the AdmissionReview in --review to --url from --connections keep-alive connections for
// --duration (after --warmup, untimed) and reports latency and reviews per second.
func runWebhook(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("webhook", flag.ExitOnError)
	url := fs.String("url", "", "https://host:port/validate")
	reviewPath := fs.String("review", "", "file holding one AdmissionReview (JSON)")
	connections := fs.Int("connections", 8, "keep-alive connections, one request in flight on each")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured time before")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(*reviewPath)
	if err != nil {
		return nil, err
	}
	// The webhook's certificate is signed by Suture's own CA; this client measures speed over loopback, not trust.
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		MaxIdleConnsPerHost: *connections,
		MaxConnsPerHost:     *connections,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	post := func() (bool, error) {
		resp, err := client.Post(*url, "application/json", bytes.NewReader(body))
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
		}
		var review struct {
			Response struct {
				Allowed bool `json:"allowed"`
			} `json:"response"`
		}
		if err := json.Unmarshal(data, &review); err != nil {
			return false, err
		}
		return review.Response.Allowed, nil
	}
	run := func(d time.Duration, measure bool) WebhookResult {
		deadline := time.Now().Add(d)
		var mu sync.Mutex
		var all []time.Duration
		res := WebhookResult{}
		firstError := ""
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < *connections; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				allowed, denied, errors := 0, 0, 0
				for time.Now().Before(deadline) && ctx.Err() == nil {
					t0 := time.Now()
					ok, err := post()
					elapsed := time.Since(t0)
					if err != nil {
						errors++
						mu.Lock()
						if firstError == "" {
							firstError = err.Error()
						}
						mu.Unlock()
						continue
					}
					local = append(local, elapsed)
					if ok {
						allowed++
					} else {
						denied++
					}
				}
				mu.Lock()
				all = append(all, local...)
				res.Allowed += allowed
				res.Denied += denied
				res.Errors += errors
				mu.Unlock()
			}()
		}
		wg.Wait()
		if measure {
			errs := res.Errors
			res.Result = summarise("webhook", *connections, all, errs, firstError, time.Since(start))
		}
		return res
	}
	run(*warmup, false)
	return run(*duration, true), ctx.Err()
}
