package faultproxy_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/faultproxy"
)

// Put a proxy in front of an endpoint and refuse connections for a window that ends by
// itself; requests through the proxy fail during it and succeed after.
func ExampleProxy_Outage() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	defer backend.Close()
	p, err := faultproxy.Start(backend.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func() string {
		resp, err := client.Get(p.URL())
		if err != nil {
			return "failed"
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	fmt.Println("before:", get())
	if err := p.Outage(faultproxy.Refuse, 200*time.Millisecond); err != nil {
		log.Fatal(err)
	}
	fmt.Println("during:", get())
	for p.InOutage() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("after:", get())
	fmt.Println("connections cut:", p.Stats().Cut)
	// Output:
	// before: hello
	// during: failed
	// after: hello
	// connections cut: 1
}
