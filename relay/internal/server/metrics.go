package server

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics is the relay's Prometheus exposition (text format 0.0.4), written here rather
// than pulling in a client library for a handful of series.
type Metrics struct {
	connections gauge
	// storeWritable is 1 while the store takes writes, 0 while it cannot (new sessions
	// are refused); storeWriteFailures counts the writes that failed for that reason.
	storeWritable      gauge
	storeWriteFailures counterVec
	// held is how many signatures this process holds because the store did not take them
	// (held.go); heldStored counts those written later, heldLost those given up.
	held       gauge
	heldStored counterVec
	heldLost   counterVec
	sweeps     counterVec
	sessions   counterVec
	signatures counterVec
	errors     counterVec
	latency    histVec
}

func newMetrics() *Metrics {
	return &Metrics{
		storeWriteFailures: counterVec{name: "veilsign_relay_store_write_failures_total", help: "Store writes that failed because the store cannot take writes (full disk, I/O error).", label: ""},
		heldStored:         counterVec{name: "veilsign_relay_held_signatures_stored_total", help: "Signatures held in memory after a failed store write, then stored.", label: ""},
		heldLost:           counterVec{name: "veilsign_relay_held_signatures_lost_total", help: "Signatures delivered but neither stored nor held (the bound was reached), or dropped from memory because the store will never take them.", label: ""},
		sweeps:             counterVec{name: "veilsign_relay_store_sweeps_total", help: "Completed sweeps of expired sessions from the store.", label: ""},
		sessions:           counterVec{name: "veilsign_relay_sessions_total", help: "Sessions opened.", label: ""},
		signatures:         counterVec{name: "veilsign_relay_signatures_total", help: "Signatures delivered, by method.", label: "method"},
		errors:             counterVec{name: "veilsign_relay_errors_total", help: "Errors sent to clients, by code.", label: "code"},
		latency:            histVec{name: "veilsign_relay_sign_seconds", help: "Time from sign request to CMS, by method (signer approval included).", label: "method"},
	}
}

type gauge struct{ v atomic.Int64 }

func (g *gauge) add(d int64) { g.v.Add(d) }
func (g *gauge) set(v int64) { g.v.Store(v) }

type counterVec struct {
	name, help, label string
	mu                sync.Mutex
	v                 map[string]float64
}

func (c *counterVec) inc(l string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v == nil {
		c.v = map[string]float64{}
	}
	c.v[l]++
}

// Value returns a counter's or gauge's value (for tests).
func (m *Metrics) Value(series, label string) float64 {
	switch series {
	case "veilsign_relay_store_writable":
		return float64(m.storeWritable.v.Load())
	case "veilsign_relay_held_signatures":
		return float64(m.held.v.Load())
	case "veilsign_relay_connections":
		return float64(m.connections.v.Load())
	}
	for _, c := range m.counters() {
		if c.name == series {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.v[label]
		}
	}
	return 0
}

func (m *Metrics) counters() []*counterVec {
	return []*counterVec{&m.sessions, &m.signatures, &m.errors, &m.storeWriteFailures, &m.heldStored, &m.heldLost, &m.sweeps}
}

var buckets = []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300}

type histVec struct {
	name, help, label string
	mu                sync.Mutex
	v                 map[string]*hist
}

type hist struct {
	counts []uint64
	sum    float64
	n      uint64
}

func (h *histVec) observe(l string, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.v == nil {
		h.v = map[string]*hist{}
	}
	x := h.v[l]
	if x == nil {
		x = &hist{counts: make([]uint64, len(buckets))}
		h.v[l] = x
	}
	s := d.Seconds()
	for i, b := range buckets {
		if s <= b {
			x.counts[i]++
		}
	}
	x.sum += s
	x.n++
}

func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP veilsign_relay_connections Open websocket connections.\n# TYPE veilsign_relay_connections gauge\nveilsign_relay_connections %d\n", m.connections.v.Load())
	fmt.Fprintf(w, "# HELP veilsign_relay_store_writable 1 while the store takes writes, 0 while new sessions are refused because it cannot.\n# TYPE veilsign_relay_store_writable gauge\nveilsign_relay_store_writable %d\n", m.storeWritable.v.Load())
	fmt.Fprintf(w, "# HELP veilsign_relay_held_signatures Signatures held in memory because the store did not take them; written once it does, lost if the process dies first.\n# TYPE veilsign_relay_held_signatures gauge\nveilsign_relay_held_signatures %d\n", m.held.v.Load())
	for _, c := range m.counters() {
		c.mu.Lock()
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		for _, k := range sortedKeys(c.v) {
			if c.label == "" {
				fmt.Fprintf(w, "%s %g\n", c.name, c.v[k])
			} else {
				fmt.Fprintf(w, "%s{%s=%q} %g\n", c.name, c.label, k, c.v[k])
			}
		}
		c.mu.Unlock()
	}
	h := &m.latency
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	for _, k := range sortedKeys(h.v) {
		x := h.v[k]
		for i, b := range buckets {
			fmt.Fprintf(w, "%s_bucket{%s=%q,le=\"%g\"} %d\n", h.name, h.label, k, b, x.counts[i])
		}
		fmt.Fprintf(w, "%s_bucket{%s=%q,le=\"+Inf\"} %d\n%s_sum{%s=%q} %g\n%s_count{%s=%q} %d\n", h.name, h.label, k, x.n, h.name, h.label, k, x.sum, h.name, h.label, k, x.n)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
