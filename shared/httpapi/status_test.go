package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every stable code has a status here and the same status in README's error table: the
// table is the API's contract, and a code added without a row (or a status) would answer
// 500 unannounced.
func TestEveryCodeHasItsREADMEStatus(t *testing.T) {
	codes := errcodeValues(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]int{}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| (.+?) \\|")
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		status, _ := strconv.Atoi(m[1])
		for _, c := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[2], -1) {
			documented[c[1]] = status
		}
	}
	for _, code := range codes {
		got, ok := statuses[code]
		if !ok {
			t.Errorf("%s has no status in httpapi's table", code)
			continue
		}
		if documented[code] != got {
			t.Errorf("%s answers %d; README's error table says %d", code, got, documented[code])
		}
	}
	if len(statuses) != len(codes) {
		t.Errorf("the status table has %d codes, errcode declares %d", len(statuses), len(codes))
	}
}

// errcodeValues reads the string constants errcode declares.
func errcodeValues(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "../errcode/errcode.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				out = append(out, strings.Trim(lit.Value, `"`))
			}
		}
		return true
	})
	if len(out) < 30 {
		t.Fatalf("read %d codes from errcode.go", len(out))
	}
	return out
}
