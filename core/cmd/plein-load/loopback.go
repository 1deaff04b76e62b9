package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkLoopback refuses a server URL that is not http(s) on a loopback address: a load
// generator must never be pointed at someone else's server by accident. Host names
// other than localhost are refused rather than resolved, since a name can resolve
// elsewhere later.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: want http:// or https://", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("-url %q: want only scheme, host and port", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: plein-load only talks to loopback addresses (127.0.0.0/8, ::1, localhost)", raw)
}
