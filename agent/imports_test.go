package agent_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// layers orders the module's packages: each may import only packages of a
// lower layer (the code map: each package's job is its package comment). A package not listed fails the test,
// so a new one has to take its place here.
var layers = map[string]int{
	"store":                         0,
	"store/fstest":                  0,
	"agent/units":                   1,
	"agent/uci":                     1,
	"agent/netlink":                 1,
	"agent/netlink/netlinktest":     1,
	"agent/netfilter":               2,
	"agent/nlbwmon":                 2,
	"agent/netfilter/netfiltertest": 3, // test helpers sit just above what they fake
	"agent/hosts":                   6,
	"agent/config":                  8,
	"agent/account":                 10,
	"agent/account/accounttest":     11,
	"agent/report":                  12,
	"agent/mail":                    14,
	"agent/control":                 16,
	"agent/web":                     18,
	"agent":                         20,
	"agent/daemon":                  21,
	"agent/agenttest":               22,
	"agent/doctor":                  22,
	"cmd/netmon-agent":              24,
}

const module = "github.com/netmon-agent/netmon-agent/"

// TestImports_PointDown reads the imports of every non-test file under
// agent/, store/ and cmd/ and fails on an import that points up or
// sideways, or on production code importing a test helper package.
func TestImports_PointDown(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, top := range []string{"agent", "store", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkg := filepath.ToSlash(rel)
			seen[pkg] = true
			from, ok := layers[pkg]
			if !ok {
				t.Errorf("%s: package %s has no layer in imports_test.go", path, pkg)
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				dep, ours := strings.CutPrefix(p, module)
				if !ours {
					continue
				}
				to, ok := layers[dep]
				switch {
				case !ok:
					t.Errorf("%s imports %s, which has no layer", path, dep)
				case to >= from:
					t.Errorf("%s (%s, layer %d) imports %s (layer %d): imports point down only", path, pkg, from, dep, to)
				case strings.HasSuffix(dep, "test") && !strings.HasSuffix(pkg, "test"):
					t.Errorf("%s imports the test helper package %s", path, dep)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !seen["agent/account"] || !seen["cmd/netmon-agent"] {
		t.Fatalf("walked the wrong tree: %v", seen)
	}
}
