package main

import (
	"fmt"
	"log"
	"math"
	"strings"
)

// slope is the least-squares slope of log(y) over log(x).
func slope(x, y []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(x))
	for i := range x {
		lx, ly := math.Log(x[i]), math.Log(y[i])
		sx, sy, sxx, sxy = sx+lx, sy+ly, sxx+lx*lx, sxy+lx*ly
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

func scalingRows(sizes []int, mbs, signMs, signPeak, verifyMs, verifyPeak []float64) []Row {
	series := func(v []float64, scale float64, unit string) string {
		var parts []string
		for i := range v {
			parts = append(parts, fmt.Sprintf("%d MB: %.1f %s", sizes[i], v[i]/scale, unit))
		}
		return strings.Join(parts, ", ")
	}
	var rows []Row
	for _, s := range []struct {
		name  string
		v     []float64
		scale float64
		unit  string
	}{{"sign time", signMs, 1, "ms"}, {"sign peak extra heap", signPeak, 1 << 20, "MB"},
		{"verify time (1 signature)", verifyMs, 1, "ms"}, {"verify peak extra heap (1 signature)", verifyPeak, 1 << 20, "MB"}} {
		r := Row{Measure: "scaling: " + s.name, Unit: "log-log slope", Peers: map[string]any{}, Ratio: map[string]float64{},
			Goal: "linear: slope 0.85–1.15", Note: series(s.v, s.scale, s.unit)}
		if len(sizes) >= 2 {
			r.Ours = slope(mbs, s.v)
			r.Pass = b(r.Ours >= 0.85 && r.Ours <= 1.15)
			log.Printf("scaling %s: log-log slope %.3f (%s)", s.name, r.Ours, r.Note)
		} else {
			r.Note += " (one size: no slope)"
		}
		rows = append(rows, r)
	}
	return rows
}
