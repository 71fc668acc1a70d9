package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log"
	"math"
	"os"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
)

func signPlan() *pdfcore.Plan {
	return &pdfcore.Plan{Signers: []pdfcore.Signer{{Label: "A", Name: "Jan Peeters", Method: pdfcore.MethodX509,
		Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 300, LLY: 20, URX: 540, URY: 55}}}}}
}

// oursSign is what a native signature costs: Open, Prepare, the CMS from the in-process
// key, and EmbedUpdate (the incremental update written after the original bytes).
func oursSign(k *keys, data []byte) (update []byte, p *pdfcore.Prepared) {
	doc, err := pdfcore.Open(data)
	must(err)
	p, err = pdfcore.Prepare(doc, signPlan(), "A", k.id.Chain, pdfcore.Options{Time: time.Unix(1795000000, 0)})
	must(err)
	der, err := cms.Sign(p.Digest, crypto.SHA256, k.id.Chain, k.id.Key)
	must(err)
	update, err = pdfcore.EmbedUpdate(p, der)
	must(err)
	return update, p
}

// signedBy checks, with our verifier, that a peer's output carries one intact signature
// made with the bench key, so that every column of a sign row did the same work.
func signedBy(k *keys, pdf []byte) error {
	rep, err := pdfcore.Verify(pdf, pdfcore.VerifyOptions{Roots: k.roots})
	if err != nil {
		return err
	}
	if len(rep.Signatures) != 1 {
		return fmt.Errorf("%d signatures, want 1", len(rep.Signatures))
	}
	s := rep.Signatures[0]
	if s.Integrity != "valid" || !s.CertificateTrusted || s.Signer.CommonName != k.id.Chain[0].Subject.CommonName {
		return fmt.Errorf("signature integrity %q, trusted %v, signer %q", s.Integrity, s.CertificateTrusted, s.Signer.CommonName)
	}
	return nil
}

// besideFloorRuns is how many times bestBesideFloor runs each side, at every size: with 3
// at 100 MB a full run still caught no quiet moment for ours (1.65× a floor that was
// 1.04× in the run before); the two more rounds at 50 and 100 MB cost under a second.
const besideFloorRuns = 5

// bestBesideFloor times fn and the floor (one SHA-256 pass over data) in alternation, n
// times each within budget, and returns the best of each in milliseconds. Timed back to
// back, both see the same load on a shared machine; timed one after the other, a busy
// moment for either made their ratio (and the scaling slopes) swing by 2× in a run.
func bestBesideFloor(data []byte, n int, budget time.Duration, fn func()) (floor, ours float64) {
	floor, ours = math.Inf(1), math.Inf(1)
	t0 := time.Now()
	for i := 0; i < n && (i == 0 || time.Since(t0) < budget); i++ {
		floor = math.Min(floor, best(1, budget, func() { sha256.Sum256(data) }))
		ours = math.Min(ours, best(1, budget, fn))
	}
	return floor, ours
}

func benchSign(k *keys, mb int, data []byte) (Row, []byte, float64) {
	log.Printf("sign %d MB", mb)
	upd, _ := oursSign(k, data) // warm up
	signed := append(append([]byte{}, data...), upd...)
	must(signedBy(k, signed))
	floor, ours := bestBesideFloor(data, besideFloorRuns, 5*time.Second, func() { oursSign(k, data) })
	peak := peakHeap(func() { oursSign(k, data) })
	r := Row{Measure: fmt.Sprintf("sign %d MB", mb), Unit: "ms", Ours: ours, Floor: f(floor),
		Peers: map[string]any{}, Ratio: map[string]float64{"x-floor": ours / floor},
		Goal: "≤ 1.5× floor; ≥ 3× faster than each peer"}
	pass := ours <= 1.5*floor
	// The in-process RSA signature is part of every column and of no floor; it is what
	// keeps small files far above 1.5× the floor.
	digest := sha256.Sum256(data[:min(len(data), 1<<10)])
	rsaMs := best(5, time.Second, func() {
		_, err := k.id.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
		must(err)
	})
	notes := []string{fmt.Sprintf("peak extra heap %.0f MB (%.2f× file)", peak/(1<<20), peak/float64(len(data))),
		fmt.Sprintf("RSA-2048 signing alone %.2f ms (%.2f× floor)", rsaMs, rsaMs/floor),
		"every implementation signs this file with the same " + k.describe() + ", no timestamp; each output verified by pdfcore.Verify"}

	// github.com/digitorus/pdfsign, in process, same file and key.
	pdfsignMs, err := pdfsignPeer(k, data, reps(data))
	if err != nil {
		r.Peers["digitorus/pdfsign"] = "failed: " + err.Error()
		notes = append(notes, "digitorus/pdfsign could not sign: "+err.Error())
	} else {
		r.Peers["digitorus/pdfsign"] = pdfsignMs
		r.Ratio["x-faster-than-pdfsign"] = pdfsignMs / ours
		pass = pass && pdfsignMs >= 3*ours
	}
	// @signpdf/signpdf with placeholder-plain in Node, same file and key.
	if k.p12 != "" && !*noPeers {
		res, err := nodeSignpdf(k, mb, reps(data))
		if err != nil {
			r.Peers["@signpdf/signpdf"] = "failed: " + err.Error()
			notes = append(notes, "@signpdf/signpdf could not sign: "+err.Error())
		} else {
			r.Peers["@signpdf/signpdf"] = res.Ms
			r.Peers["hash-wasm sha256 (Node)"] = res.HashWasmMs
			r.Ratio["x-faster-than-signpdf"] = res.Ms / ours
			pass = pass && res.Ms >= 3*ours
			notes = append(notes, fmt.Sprintf("@signpdf includes node-forge unlocking the PKCS#12 (%.1f ms alone, one PBE iteration) and its own SHA-256", res.P12Ms))
		}
	} else {
		r.Peers["@signpdf/signpdf"] = "not run"
	}
	r.Pass = b(pass)
	r.Note = strings.Join(notes, "; ")
	if !pass {
		profile(fmt.Sprintf("sign-%dMB", mb), func() { oursSign(k, data) })
	}
	return r, signed, peak
}

// checkPeerOutput reads a peer's signed file and checks it with signedBy.
func checkPeerOutput(k *keys, path string) error {
	out, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := signedBy(k, out); err != nil {
		return fmt.Errorf("its output %s: %w", path, err)
	}
	return nil
}
