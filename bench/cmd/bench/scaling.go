package main

import (
	"fmt"
	"log"
	"math"
	"strings"
)

// maxScalingSlope is the pass mark of the scaling rows: growth no worse than linear (a
// log-log slope of 1), with room for timing noise. A smaller slope is better, not worse:
// memory that stays flat as documents grow passes.
const maxScalingSlope = 1.1

// maxSlopeOverFloor is the other way a time row passes: its slope at most this much above
// the floor's, one SHA-256 pass over the same documents timed just before. The floor is
// linear work by construction, so where its own slope is far from 1 the machine's speed
// changed during the run (other jobs on a shared machine), and the times are compared
// with it rather than with a line.
const maxSlopeOverFloor = 0.1

// slopeFromMB is the smallest size the slope is computed from. At 1 MB a signature's fixed
// cost (RSA signing, the signature page's fonts) is most of the time, so a slope that
// includes it says "sublinear" about a cost that is linear from 10 MB up.
const slopeFromMB = 10

// growth says how a measure grows with the document size.
type growth struct {
	slope      float64 // log-log slope over sizes[from:]
	floorSlope float64 // the floor's log-log slope over the same sizes (time rows)
	from       int     // index of the first size in the slope
	allSlope   float64 // log-log slope over every size
	fixed, per float64 // least-squares fit value = fixed + per·MB over every size
}

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

// linearFit is the least-squares line y = a + b·x.
func linearFit(x, y []float64) (a, b float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(x))
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return (sy - b*sx) / n, b
}

// measureGrowth fits v over mbs (at least two sizes). Values under resolution count as
// resolution: a logarithm needs a positive value, and below it the measure is noise.
func measureGrowth(sizes []int, mbs, v []float64, resolution float64) growth {
	y := make([]float64, len(v))
	for i := range v {
		y[i] = math.Max(v[i], resolution)
	}
	g := growth{allSlope: slope(mbs, y)}
	g.fixed, g.per = linearFit(mbs, v)
	for g.from < len(sizes)-2 && sizes[g.from] < slopeFromMB {
		g.from++
	}
	g.slope = slope(mbs[g.from:], y[g.from:])
	return g
}

// passes reports whether g is growth no worse than linear (see maxSlopeOverFloor).
func (g growth) passes(timed bool) bool {
	return g.slope <= maxScalingSlope || timed && g.slope-g.floorSlope <= maxSlopeOverFloor
}

// scalingRows makes the scaling rows; the floors are the SHA-256 times of the documents
// timed beside each time series.
func scalingRows(sizes []int, mbs, signFloors, signMs, signPeak, verifyFloors, verifyMs, verifyPeak []float64) []Row {
	series := func(v []float64, scale float64, unit string) string {
		var parts []string
		for i := range v {
			parts = append(parts, fmt.Sprintf("%d MB: %.1f %s", sizes[i], v[i]/scale, unit))
		}
		return strings.Join(parts, ", ")
	}
	goal := fmt.Sprintf("no worse than linear: log-log slope ≤ %.1f from %d MB up", maxScalingSlope, slopeFromMB)
	timeGoal := goal + fmt.Sprintf(", or ≤ the floor's slope + %.1f", maxSlopeOverFloor)
	var rows []Row
	for _, s := range []struct {
		name       string
		v          []float64
		floors     []float64 // nil for memory
		scale      float64
		unit       string
		resolution float64 // in the units of v
	}{
		{"sign time", signMs, signFloors, 1, "ms", 0.01},
		{"sign peak extra heap", signPeak, nil, 1 << 20, "MB", 64 << 10},
		{"verify time (1 signature)", verifyMs, verifyFloors, 1, "ms", 0.01},
		{"verify peak extra heap (1 signature)", verifyPeak, nil, 1 << 20, "MB", 64 << 10},
	} {
		timed := s.floors != nil
		r := Row{Measure: "scaling: " + s.name, Unit: "log-log slope", Peers: map[string]any{}, Ratio: map[string]float64{},
			Goal: goal, Note: series(s.v, s.scale, s.unit)}
		if timed {
			r.Goal = timeGoal
		}
		if len(sizes) < 2 {
			r.Note += " (one size: no slope)"
			rows = append(rows, r)
			continue
		}
		g := measureGrowth(sizes, mbs, s.v, s.resolution)
		r.Ours = g.slope
		floorNote := ""
		if timed {
			g.floorSlope = slope(mbs[g.from:], s.floors[g.from:])
			floorNote = fmt.Sprintf("; the floor's slope over the same sizes %.2f", g.floorSlope)
		}
		r.Pass = b(g.passes(timed))
		r.Note = fmt.Sprintf("slope over %d–%d MB (%d sizes)%s; over %d–%d MB %.2f; least-squares fit over all sizes: %.3g %s + %.3g %s per MB; %s",
			sizes[g.from], sizes[len(sizes)-1], len(sizes)-g.from, floorNote, sizes[0], sizes[len(sizes)-1], g.allSlope,
			g.fixed/s.scale, s.unit, g.per/s.scale, s.unit, r.Note)
		log.Printf("scaling %s: %s", s.name, r.Note)
		rows = append(rows, r)
	}
	return rows
}
