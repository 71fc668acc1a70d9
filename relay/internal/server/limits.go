package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps token buckets per client address and per session token. The maps are
// bounded: idle entries are dropped, so a flood of addresses cannot grow them forever.
type limiter struct {
	mu      sync.Mutex
	perTok  rate.Limit
	perIP   rate.Limit
	perTokF rate.Limit
	tokens  map[string]*bucket
	fetches map[string]*bucket
	ips     map[string]*bucket
	lastGC  time.Time
	maxKeys int
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perToken, perIP, perTokenFetch float64) *limiter {
	return &limiter{perTok: rate.Limit(perToken), perIP: rate.Limit(perIP), perTokF: rate.Limit(perTokenFetch),
		tokens: map[string]*bucket{}, ips: map[string]*bucket{}, fetches: map[string]*bucket{}, maxKeys: 100000}
}

// allowFetch bounds the requests that make the relay call out (OCSP, CRL, TSA) per token.
func (l *limiter) allowFetch(key string) bool {
	return l.allow(l.fetches, key, l.perTokF, int(l.perTokF)*5+1)
}

func (l *limiter) allowIP(ip string) bool { return l.allow(l.ips, ip, l.perIP, int(l.perIP)*2+1) }

func (l *limiter) allowToken(key string) bool {
	return l.allow(l.tokens, key, l.perTok, int(l.perTok)*2+1)
}

func (l *limiter) allow(m map[string]*bucket, key string, r rate.Limit, burst int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastGC) > time.Minute || len(m) > l.maxKeys {
		for k, b := range m {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(m, k)
			}
		}
		l.lastGC = now
	}
	b, ok := m[key]
	if !ok {
		if len(m) > l.maxKeys {
			return false
		}
		b = &bucket{l: rate.NewLimiter(r, burst)}
		m[key] = b
	}
	b.seen = now
	return b.l.Allow()
}
