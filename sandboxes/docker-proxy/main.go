// The Docker socket proxy: the CPU worker's only way to the engine. It listens on a unix socket, forwards what the
// worker needs for its sandboxes to the engine's socket, and refuses everything else (see policy.go).
//
//	docker-proxy LISTEN_SOCKET [ENGINE_SOCKET]   (default engine: /var/run/docker.sock)
//
// The worker then runs with DOCKER_HOST=unix://LISTEN_SOCKET and never sees the engine's socket. A refused request
// gets 403 and a JSON message naming why, as the engine's own errors do.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: docker-proxy LISTEN_SOCKET [ENGINE_SOCKET]")
		os.Exit(64)
	}
	listen, engine := os.Args[1], "/var/run/docker.sock"
	if len(os.Args) == 3 {
		engine = os.Args[2]
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engine)
	}
	transport := &http.Transport{DialContext: dial, MaxIdleConns: 16, IdleConnTimeout: 30 * time.Second}
	upstream := &url.URL{Scheme: "http", Host: "docker"}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.Transport = transport
	// Attached streams (exec start) are long-lived: pass bytes on at once.
	proxy.FlushInterval = -1
	p := &policy{engine: &http.Client{Transport: transport, Timeout: 60 * time.Second}}

	if err := os.Remove(listen); err != nil && !os.IsNotExist(err) {
		log.Fatalf("docker-proxy: %v", err)
	}
	ln, err := net.Listen("unix", listen)
	if err != nil {
		log.Fatalf("docker-proxy: %v", err)
	}
	// Only the socket's owner and group (the worker's) may connect.
	if err := os.Chmod(listen, 0o660); err != nil {
		log.Fatalf("docker-proxy: %v", err)
	}
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if why := p.check(r); why != "" {
				log.Printf("refused %s %s: %s", r.Method, r.URL.Path, why)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				json.NewEncoder(w).Encode(map[string]string{"message": "pivotrl docker proxy: refused: " + why})
				return
			}
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		server.Close()
	}()
	log.Printf("docker-proxy: %s -> %s", listen, engine)
	if err := server.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatalf("docker-proxy: %v", err)
	}
	os.Remove(listen)
}
