// Command bench measures veilsign against its floor (one SHA-256 pass over the same bytes)
// and against peer implementations, all in the same run on the same files and key, and
// writes results.md and results.json. See bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
)

var (
	outDir   = flag.String("out", "out", "directory for generated documents, keys and profiles")
	resDir   = flag.String("results", ".", "directory for results.md and results.json")
	repo     = flag.String("repo", "..", "repository root (for the go test steps)")
	smoke    = flag.Bool("smoke", false, "1 MB documents, short relay run, timings not enforced")
	noPeers  = flag.Bool("no-node", false, "skip the Node peer")
	deadline = flag.Duration("budget", 9*time.Minute, "stop starting optional steps after this long")
)

var start = time.Now()

func main() {
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	must(os.MkdirAll(*outDir, 0o755))
	sizes := []int{1, 10, 50, 100}
	fiveMB := 50
	if *smoke {
		sizes, fiveMB = []int{1}, 1
	}
	docs := generate(sizes)

	k := newKeys()
	var rows []Row

	// 1 and 5: native sign against the floor and the peers, with time and peak memory.
	var signMs, signPeak, verifyMs, verifyPeak, mbs, signFloors, verifyFloors []float64
	for _, mb := range sizes {
		data := docs[mb]
		r, signed, peak := benchSign(k, mb, data)
		rows = append(rows, r)
		// A single-signature document of this size for the verify scaling series.
		vfloor, vms, vpeak := benchVerifyOne(k, signed)
		mbs = append(mbs, float64(len(data))/(1<<20))
		signMs, signPeak, signFloors = append(signMs, r.Ours), append(signPeak, peak), append(signFloors, *r.Floor)
		verifyMs, verifyPeak, verifyFloors = append(verifyMs, vms), append(verifyPeak, vpeak), append(verifyFloors, vfloor)
	}
	rows = append(rows, scalingRows(sizes, mbs, signFloors, signMs, signPeak, verifyFloors, verifyMs, verifyPeak)...)

	// 2: native verify of a 5-signature document.
	rows = append(rows, benchVerifyFive(k, docs[fiveMB], fiveMB))

	// 4: relay load on loopback (a go test benchmark inside relay/internal/server).
	rows = append(rows, relayRows()...)

	// 3: browser: the WASM size, then the Playwright run in Chromium (browser.go) on the
	// 50 MB document (1 MB in smoke mode).
	browserMB := 50
	if *smoke {
		browserMB = 1
	}
	rows = append(rows, wasmRows()...)
	rows = append(rows, browserRows(k, browserMB, docs[browserMB])...)

	if *smoke {
		for i := range rows {
			rows[i].Note = strings.TrimSpace("smoke run, timings not enforced. " + rows[i].Note)
		}
	}
	writeResults(rows)
	log.Printf("done in %s", time.Since(start).Round(time.Second))
}

// Row is one line of results.json.
type Row struct {
	Measure string             `json:"measure"`
	Unit    string             `json:"unit"`
	Ours    float64            `json:"ours"`
	Floor   *float64           `json:"floor"`
	Peers   map[string]any     `json:"peers"`
	Ratio   map[string]float64 `json:"ratio"`
	Goal    string             `json:"goal"`
	Pass    *bool              `json:"pass"`
	Note    string             `json:"note,omitempty"`
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// ---- documents ----

// The signing identity every implementation uses is made in keys.go.

func generate(sizes []int) map[int][]byte {
	dir, _ := filepath.Abs(filepath.Join(*outDir, "docs"))
	var list []string
	for _, s := range sizes {
		list = append(list, strconv.Itoa(s))
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestBenchDocuments$", "./pdfcore/")
	cmd.Dir = *repo
	cmd.Env = append(os.Environ(), "VEILSIGN_BENCH_DOCS="+dir, "VEILSIGN_BENCH_SIZES="+strings.Join(list, ","))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	must(cmd.Run())
	docs := map[int][]byte{}
	for _, s := range sizes {
		d, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("doc-%dMB.pdf", s)))
		must(err)
		docs[s] = d
	}
	return docs
}

// ---- timing helpers ----

// best runs fn n times (at least once, and no more once budget is spent) and returns the
// fastest run in milliseconds.
func best(n int, budget time.Duration, fn func()) float64 {
	bestD := time.Duration(math.MaxInt64)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		s := time.Now()
		fn()
		if d := time.Since(s); d < bestD {
			bestD = d
		}
		if time.Since(t0) > budget {
			break
		}
	}
	return float64(bestD) / 1e6
}

func floorMs(data []byte) float64 {
	return best(5, 2*time.Second, func() { sha256.Sum256(data) })
}

// peakHeap runs fn and returns how far the live heap rose above what was live before
// (sampled every millisecond): the memory a call needs beyond the document already held.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak, base := ms.HeapAlloc, ms.HeapAlloc
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak {
					peak = m.HeapAlloc
				}
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > peak {
		peak = ms.HeapAlloc
	}
	return float64(peak - base)
}

func reps(data []byte) int {
	if len(data) > 40<<20 {
		return 3
	}
	return 5
}

// ---- verify ----

func oursVerify(k *keys, data []byte, want int) {
	rep, err := pdfcore.Verify(data, pdfcore.VerifyOptions{Roots: k.roots})
	must(err)
	if !rep.Valid || len(rep.Signatures) != want {
		log.Fatalf("verify: valid=%v signatures=%d (want %d): %s", rep.Valid, len(rep.Signatures), want, rep.Summary)
	}
}

// benchVerifyOne times the verification of a one-signature document beside its floor,
// for the scaling rows.
func benchVerifyOne(k *keys, signed []byte) (floor, ms, peak float64) {
	oursVerify(k, signed, 1)
	floor, ms = bestBesideFloor(signed, besideFloorRuns, 5*time.Second, func() { oursVerify(k, signed, 1) })
	peak = peakHeap(func() { oursVerify(k, signed, 1) })
	return floor, ms, peak
}

func fiveSignatures(k *keys, data []byte) []byte {
	plan := &pdfcore.Plan{}
	for i := 0; i < 5; i++ {
		plan.Signers = append(plan.Signers, pdfcore.Signer{Label: pdfcore.Label(i), Name: fmt.Sprintf("Signer %d", i+1), Method: pdfcore.MethodX509,
			Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 40 + float64(i)*105, LLY: 20, URX: 140 + float64(i)*105, URY: 50}}})
	}
	for i := 0; i < 5; i++ {
		doc, err := pdfcore.Open(data)
		must(err)
		p, err := pdfcore.Prepare(doc, plan, pdfcore.Label(i), k.id.Chain, pdfcore.Options{Time: time.Unix(1795000000+int64(i), 0)})
		must(err)
		der, err := cms.Sign(p.Digest, crypto.SHA256, k.id.Chain, k.id.Key)
		must(err)
		data, err = pdfcore.Embed(p, der)
		must(err)
	}
	return data
}

func benchVerifyFive(k *keys, base []byte, mb int) Row {
	log.Printf("verify 5 signatures, %d MB", mb)
	data := fiveSignatures(k, base)
	path := filepath.Join(*outDir, fmt.Sprintf("five-%dMB.pdf", mb))
	must(os.WriteFile(path, data, 0o644))
	oursVerify(k, data, 5)
	floor := floorMs(data)
	ours := best(reps(data), 5*time.Second, func() { oursVerify(k, data, 5) })
	peak := peakHeap(func() { oursVerify(k, data, 5) })
	r := Row{Measure: fmt.Sprintf("verify 5 signatures, %d MB", mb), Unit: "ms", Ours: ours, Floor: f(floor),
		Peers: map[string]any{}, Ratio: map[string]float64{"x-floor": ours / floor},
		Goal: "≤ 2× floor; ≥ 3× faster than each peer"}
	pass := ours <= 2*floor
	notes := []string{fmt.Sprintf("peak extra heap %.0f MB (%.2f× file)", peak/(1<<20), peak/float64(len(data)))}
	if pdfsig, err := exec.LookPath("pdfsig"); err == nil {
		var out []byte
		ms := best(3, 20*time.Second, func() { out, _ = exec.Command(pdfsig, path).CombinedOutput() })
		n := strings.Count(string(out), "Signature is Valid")
		r.Peers["pdfsig"] = ms
		r.Ratio["x-faster-than-pdfsig"] = ms / ours
		pass = pass && ms >= 3*ours
		notes = append(notes, fmt.Sprintf("pdfsig (a process, file read included) says %d of 5 signatures valid", n))
	} else {
		r.Peers["pdfsig"] = "not installed"
	}
	var res int
	var perr error
	ms := best(3, 30*time.Second, func() { res, perr = pdfcpuValidate(data) })
	if perr != nil {
		r.Peers["pdfcpu 0.15"] = "failed: " + perr.Error()
	} else {
		r.Peers["pdfcpu 0.15"] = ms
		r.Ratio["x-faster-than-pdfcpu"] = ms / ours
		pass = pass && ms >= 3*ours
		notes = append(notes, fmt.Sprintf("pdfcpu (in process) reports %d signatures", res))
	}
	r.Pass, r.Note = b(pass), strings.Join(notes, "; ")
	if !pass && !*smoke {
		profile(fmt.Sprintf("verify-five-%dMB", mb), func() { oursVerify(k, data, 5) })
	}
	return r
}

// ---- relay ----

var metricRE = regexp.MustCompile(`([0-9.e+-]+) ([A-Za-z0-9/_-]+)`)

func relayRows() []Row {
	log.Printf("relay load (go test -bench in relay/internal/server)")
	args := []string{"test", "-count=1", "-run", "^$", "-bench", "^BenchmarkRelay", "-benchtime", "1x", "-timeout", "4m"}
	env := []string{}
	// The store goes on a tmpfs when there is one, so the figures are the relay's own cost;
	// on this machine's disk every SQLite commit waits for an fsync (see README).
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && os.Getenv("VEILSIGN_LOAD_STOREDIR") == "" {
		env = append(env, "VEILSIGN_LOAD_STOREDIR=/dev/shm")
	}
	if *smoke {
		env = append(env, "VEILSIGN_BENCH_SMOKE=1")
	} else {
		prof, _ := filepath.Abs(filepath.Join(*outDir, "relay-cpu.prof"))
		args = append(args, "-cpuprofile", prof, "-o", filepath.Join(mustAbs(*outDir), "server.test"))
	}
	args = append(args, "./relay/internal/server/")
	cmd := exec.Command("go", args...)
	cmd.Dir = *repo
	cmd.Env = append(os.Environ(), env...)
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&outb, os.Stderr), os.Stderr
	err := cmd.Run()
	m := map[string]float64{}
	sc := bufio.NewScanner(&outb)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "BenchmarkRelay") {
			continue
		}
		for _, g := range metricRE.FindAllStringSubmatch(line, -1) {
			if v, e := strconv.ParseFloat(g[1], 64); e == nil {
				m[g[2]] = v
			}
		}
	}
	failed := ""
	if err != nil {
		failed = "relay benchmark failed: " + err.Error()
	}
	row := func(measure, key, unit, goal string, ok func(v float64) bool, note string) Row {
		r := Row{Measure: measure, Unit: unit, Peers: map[string]any{}, Ratio: map[string]float64{}, Goal: goal, Note: note}
		v, found := m[key]
		if !found {
			r.Note = strings.TrimSpace(failed + " no " + key + " reported")
			return r
		}
		r.Ours, r.Pass = v, b(ok(v))
		return r
	}
	rate := row("relay: sign round trips per second (ECDSA P-256, no TSA, loopback)", "signs/s", "1/s", "≥ 5,000/s",
		func(v float64) bool { return v >= 5000 }, fmt.Sprintf("%.0f concurrent clients in the same process; SQLite store on /dev/shm; %.0f out-of-order answers retried; %.0f round trips lost (no answer in 3 s); CPU per round trip (relay and clients) %.0f µs, the floor's %.0f µs; load average at the start %s", m["clients"], m["out-of-order-retries"], m["lost"], m["cpu-us/sign"], m["floor-cpu-us/rt"], loadAverage()))
	// The floor (BenchmarkRelayFloor, same run): websocket round trips of the same sizes
	// with one ECDSA signature each and nothing of the relay between them.
	if fl, ok := m["floor-rt/s"]; ok && rate.Pass != nil {
		rate.Floor = f(fl)
		rate.Ratio["x-floor-rate"] = rate.Ours / fl
	}
	return []Row{
		rate,
		row("relay: p50 round trip at a fixed 1,000/s", "p50-ms", "ms", "p99 ≤ 5 ms", func(v float64) bool { return v <= 5 }, ""),
		row("relay: p99 round trip at a fixed 1,000/s", "p99-ms", "ms", "≤ 5 ms", func(v float64) bool { return v <= 5 }, ""),
		row("relay: memory per idle pending session", "KB/session", "KB", "≤ 64 KB",
			func(v float64) bool { return v <= 64 }, fmt.Sprintf("RSS growth over %.0f open sessions (identified, idle), server and client sides of each socket in one process; heap alone %.1f KB/session", m["sessions"], m["heapKB/session"])),
	}
}

// loadAverage is the one-minute load average, to read a rate measured on a shared machine.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	must(err)
	return a
}

// ---- browser / wasm ----

func wasmRows() []Row {
	wasm := filepath.Join(*repo, "js", "dist", "veilsign.wasm")
	raw, err := os.ReadFile(wasm)
	if err != nil {
		return []Row{{Measure: "browser: WASM size", Unit: "bytes", Peers: map[string]any{}, Ratio: map[string]float64{},
			Goal: "≤ 3 MB brotli", Note: "js/dist/veilsign.wasm missing: run `cd js && npm ci && npm run build`"}}
	}
	r := Row{Measure: "browser: WASM size (brotli -q 11)", Unit: "MB", Peers: map[string]any{}, Ratio: map[string]float64{}, Goal: "≤ 3 MB brotli"}
	// Node's zlib has both gzip -9 and brotli 11; the driver needs Node for the peer anyway.
	js := `const z=require('zlib'),fs=require('fs');const b=fs.readFileSync(process.argv[1]);` +
		`console.log(JSON.stringify({gzip:z.gzipSync(b,{level:9}).length,brotli:z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11,[z.constants.BROTLI_PARAM_SIZE_HINT]:b.length}}).length}))`
	out, err := exec.Command("node", "-e", js, wasm).Output()
	var sz struct{ Gzip, Brotli int }
	if err == nil {
		err = json.Unmarshal(out, &sz)
	}
	if err != nil {
		r.Note = "node zlib failed: " + err.Error()
		return []Row{r}
	}
	r.Ours = float64(sz.Brotli) / 1e6
	r.Pass = b(sz.Brotli <= 3e6)
	r.Note = fmt.Sprintf("raw %.2f MB, gzip -9 %.2f MB, brotli %.2f MB", float64(len(raw))/1e6, float64(sz.Gzip)/1e6, float64(sz.Brotli)/1e6)
	return []Row{r}
}

// ---- profiles ----

func profile(name string, fn func()) {
	p := filepath.Join(*outDir, name+"-cpu.prof")
	fh, err := os.Create(p)
	must(err)
	must(pprof.StartCPUProfile(fh))
	t0 := time.Now()
	for time.Since(t0) < 3*time.Second {
		fn()
	}
	pprof.StopCPUProfile()
	fh.Close()
	log.Printf("profile %s (go tool pprof -top %s)", p, p)
}

// ---- output ----

func writeResults(rows []Row) {
	j, err := json.MarshalIndent(rows, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(*resDir, "results.json"), append(j, '\n'), 0o644))
	var md strings.Builder
	fmt.Fprintf(&md, "# veilsign benchmark results\n\n%s, %s/%s, %d CPUs, %s%s. Times are the best of several runs, in ms; every row's figures come from this one run.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		map[bool]string{true: ", smoke mode (timings not enforced)", false: ""}[*smoke])
	md.WriteString("| measure | ours | floor | peer(s) | ratios | goal | pass | note |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fl := "—"
		if r.Floor != nil {
			fl = num(*r.Floor)
		}
		fmt.Fprintf(&md, "| %s | %s %s | %s | %s | %s | %s | %s | %s |\n", r.Measure, num(r.Ours), r.Unit, fl,
			kv(r.Peers), kvf(r.Ratio), r.Goal, passStr(r.Pass), strings.ReplaceAll(r.Note, "|", "/"))
	}
	must(os.WriteFile(filepath.Join(*resDir, "results.md"), []byte(md.String()), 0o644))
	fmt.Print(md.String())
}

func num(v float64) string {
	switch {
	case v == 0:
		return "—"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func kv(m map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case float64:
			parts = append(parts, fmt.Sprintf("%s %s", k, num(v)))
		default:
			parts = append(parts, fmt.Sprintf("%s: %v", k, v))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.ReplaceAll(strings.Join(parts, "; "), "|", "/")
}

func kvf(m map[string]float64) string {
	a := map[string]any{}
	for k, v := range m {
		a[k] = fmt.Sprintf("%.2f", v)
	}
	s := kv(a)
	return strings.ReplaceAll(s, ": ", " ")
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func passStr(p *bool) string {
	switch {
	case p == nil:
		return "n/a"
	case *p:
		return "pass"
	default:
		return "**FAIL**"
	}
}

var _ = context.Background
