package main

import (
	"math"
	"testing"
)

func TestMeasureGrowth(t *testing.T) {
	sizes := []int{1, 10, 50, 100}
	mbs := []float64{1, 10, 50, 100}
	apply := func(fn func(x float64) float64) []float64 {
		v := make([]float64, len(mbs))
		for i, x := range mbs {
			v[i] = fn(x)
		}
		return v
	}
	for _, c := range []struct {
		name          string
		v             []float64
		minSlope, max float64
		fixed, per    float64
		passes        bool
		fromMB        int
	}{
		// A signature: 2 ms fixed plus one hash pass. Over all sizes the fixed cost bends the
		// slope well below 1; from 10 MB up it is close to linear.
		{"fixed plus linear", apply(func(x float64) float64 { return 2 + 0.9*x }), 0.9, 1.0, 2, 0.9, true, 10},
		{"constant memory", apply(func(float64) float64 { return 3 << 20 }), -0.01, 0.01, 3 << 20, 0, true, 10},
		{"nothing measurable", apply(func(float64) float64 { return 0 }), -0.01, 0.01, 0, 0, true, 10},
		{"quadratic", apply(func(x float64) float64 { return 1 + 0.01*x*x }), 1.5, 2.1, math.NaN(), math.NaN(), false, 10},
	} {
		g := measureGrowth(sizes, mbs, c.v, 0.01)
		if g.slope < c.minSlope || g.slope > c.max {
			t.Errorf("%s: slope %.3f, want %.2f–%.2f", c.name, g.slope, c.minSlope, c.max)
		}
		if pass := g.passes(false); pass != c.passes {
			t.Errorf("%s: pass %v, want %v", c.name, pass, c.passes)
		}
		if sizes[g.from] != c.fromMB {
			t.Errorf("%s: slope from %d MB, want %d", c.name, sizes[g.from], c.fromMB)
		}
		if !math.IsNaN(c.fixed) && (math.Abs(g.fixed-c.fixed) > 1e-6*math.Max(1, c.fixed) || math.Abs(g.per-c.per) > 1e-9) {
			t.Errorf("%s: fit %g + %g·MB, want %g + %g·MB", c.name, g.fixed, g.per, c.fixed, c.per)
		}
	}
	if g := measureGrowth(sizes, mbs, apply(func(x float64) float64 { return 2 + 0.9*x }), 0.01); g.allSlope > 0.9 {
		t.Errorf("fixed plus linear over all sizes: slope %.3f; the fixed cost should pull it under 0.9", g.allSlope)
	}
	// With two sizes only, both are used whatever they are.
	if g := measureGrowth([]int{1, 10}, []float64{1, 10}, []float64{1, 10}, 0.01); g.from != 0 || math.Abs(g.slope-1) > 1e-9 {
		t.Errorf("two sizes: from %d slope %.3f", g.from, g.slope)
	}
}

// A time series measured while the machine slowed down grows faster than a line, and so
// does the floor measured alongside it: compared with the floor it passes; a series that
// outgrows its floor does not.
func TestGrowthAgainstFloor(t *testing.T) {
	for _, c := range []struct {
		name              string
		slope, floorSlope float64
		timed, passes     bool
	}{
		{"linear", 1.0, 1.0, true, true},
		{"machine slowed down", 1.25, 1.2, true, true},
		{"outgrows its floor", 1.25, 1.0, true, false},
		{"memory has no floor", 1.25, 1.2, false, false},
	} {
		g := growth{slope: c.slope, floorSlope: c.floorSlope}
		if got := g.passes(c.timed); got != c.passes {
			t.Errorf("%s: passes %v, want %v", c.name, got, c.passes)
		}
	}
}
