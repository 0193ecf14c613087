package uci

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// A uciSection is one `config TYPE 'NAME'` block of a UCI file, with its
// options in file order. Lists keep every value; options keep the last.
type Section struct {
	Type    string
	Name    string // empty for an anonymous section
	Line    int
	Options []Option
}

// A uciOption is one `option` or `list` line.
type Option struct {
	Name  string
	Value string
	List  bool
	Line  int
}

// parseUCI reads the UCI syntax OpenWrt's libuci writes and accepts: `package`,
// `config`, `option` and `list` statements, values bare, in single quotes or in
// double quotes (with backslash escapes), adjacent quoted parts joined, and `#`
// comments. file names the source in errors, which read "file:line: problem".
func Parse(file string, r io.Reader) ([]Section, error) {
	var sections []Section
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		words, err := uciWords(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, line, err)
		}
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "package":
			if len(words) != 2 {
				return nil, fmt.Errorf("%s:%d: package takes one name", file, line)
			}
		case "config":
			if len(words) < 2 || len(words) > 3 {
				return nil, fmt.Errorf("%s:%d: config takes a type and an optional name", file, line)
			}
			s := Section{Type: words[1], Line: line}
			if len(words) == 3 {
				s.Name = words[2]
			}
			sections = append(sections, s)
		case "option", "list":
			if len(words) != 3 {
				return nil, fmt.Errorf("%s:%d: %s takes a name and one value", file, line, words[0])
			}
			if len(sections) == 0 {
				return nil, fmt.Errorf("%s:%d: %s %q outside a config section", file, line, words[0], words[1])
			}
			s := &sections[len(sections)-1]
			s.Options = append(s.Options, Option{Name: words[1], Value: words[2], List: words[0] == "list", Line: line})
		default:
			return nil, fmt.Errorf("%s:%d: unknown statement %q", file, line, words[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sections, nil
}

// uciWords splits one line into words the way libuci does.
func uciWords(s string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i >= len(s) || s[i] == '#' {
			return words, nil
		}
		var w strings.Builder
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' {
			switch c := s[i]; c {
			case '\'':
				end := strings.IndexByte(s[i+1:], '\'')
				if end < 0 {
					return nil, fmt.Errorf("unterminated single quote")
				}
				w.WriteString(s[i+1 : i+1+end])
				i += end + 2
			case '"':
				i++
				closed := false
				for i < len(s) {
					if s[i] == '\\' && i+1 < len(s) {
						w.WriteByte(s[i+1])
						i += 2
						continue
					}
					if s[i] == '"' {
						closed = true
						i++
						break
					}
					w.WriteByte(s[i])
					i++
				}
				if !closed {
					return nil, fmt.Errorf("unterminated double quote")
				}
			case '#':
				// A '#' inside a bare word is part of it; libuci treats it the same.
				w.WriteByte(c)
				i++
			case '\\':
				if i+1 < len(s) {
					w.WriteByte(s[i+1])
					i += 2
				} else {
					i++
				}
			default:
				w.WriteByte(c)
				i++
			}
		}
		words = append(words, w.String())
	}
}
