package pdfcore_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
)

// TestAttackPeers runs the attack suite's forgeries through pdfsig and pdfcpu's signature
// validation next to ours and logs which of them each tool was fooled by ("fooled": it
// calls every signature valid and reports no change). Ours must never be fooled; the
// peers' answers are recorded, not asserted — they are what the comparison is for.
func TestAttackPeers(t *testing.T) {
	pdfsig := testtool.Require(t, "pdfsig")
	signed, forgeries := pdfcore.Forgeries(t)
	dir := t.TempDir()
	if keep := os.Getenv("VEILSIGN_ATTACK_KEEP"); keep != "" {
		dir = keep // to run other validators (pyHanko) on the forgeries by hand
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-50s %-10s %-10s %-10s\n", "forgery", "veilsign", "pdfsig", "pdfcpu")
	fooled := map[string]int{}
	for _, f := range append([]pdfcore.Forgery{{Name: "(untouched signed file)", PDF: signed}}, forgeries...) {
		ours := "caught"
		rep, err := pdfcore.Verify(f.PDF, pdfcore.VerifyOptions{})
		if err == nil && rep.Valid {
			ours = "FOOLED"
		}
		path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(f.Name)+".pdf")
		os.WriteFile(path, f.PDF, 0o644)
		out, _ := exec.Command(pdfsig, path).CombinedOutput()
		ps := "caught"
		if n := strings.Count(string(out), "Signature #"); n > 0 && strings.Count(string(out), "Signature is Valid.") == n {
			ps = "FOOLED"
		}
		pc := "caught"
		if res, err := pdfcpuValidate(f.PDF); err == nil && len(res) > 0 {
			ok := true
			for _, r := range res {
				if pdfcpuIntegrityProblem(r) != "" || !r.Signed {
					ok = false
				}
			}
			if ok {
				pc = "FOOLED"
			}
		}
		if f.Name == "(untouched signed file)" {
			if ours != "FOOLED" {
				t.Fatalf("the untouched signed file is not valid for us")
			}
			ours, ps, pc = "valid", map[string]string{"FOOLED": "valid", "caught": "INVALID"}[ps], map[string]string{"FOOLED": "valid", "caught": "INVALID"}[pc]
		} else {
			if ours == "FOOLED" {
				t.Errorf("veilsign was fooled by %q", f.Name)
			}
			for tool, v := range map[string]string{"pdfsig": ps, "pdfcpu": pc} {
				if v == "FOOLED" {
					fooled[tool]++
				}
			}
		}
		fmt.Fprintf(&table, "%-50s %-10s %-10s %-10s\n", f.Name, ours, ps, pc)
	}
	fmt.Fprintf(&table, "fooled: veilsign 0, pdfsig %d, pdfcpu %d of %d forgeries", fooled["pdfsig"], fooled["pdfcpu"], len(forgeries))
	t.Log(table.String())
}
