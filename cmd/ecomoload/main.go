// Command ecomoload sends a bounded mix of requests to an ecomopti server
// on this machine and reports throughput, latency percentiles and errors
// per request kind.
//
// It only connects to loopback addresses (127.0.0.0/8, ::1 or localhost)
// and rejects any other host, both when parsing --url and when dialling. The
// run stops after --requests requests or --duration, whichever comes first.
//
// Example, against a server with a completed run:
//
//	ecomoload --url http://127.0.0.1:8000 --requests 10000 --concurrency 32
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
