package kinesistest

import (
	"bytes"
	"encoding/json"
)

// peekStrings returns the string values of the top-level members of the JSON object in
// body whose names want accepts. It scans without validating, jumping over the contents
// of strings, so that a PutRecords body of megabytes costs little: the operation decodes
// and validates the body afterwards. On malformed input it returns what it found before
// losing its way. It never fails and never reads out of bounds.
func peekStrings(body []byte, want func(name string) bool) map[string]string {
	p := peeker{b: body}
	p.space()
	if !p.eat('{') {
		return nil
	}
	var found map[string]string
	for {
		p.space()
		if p.eat('}') {
			return found
		}
		name, ok := p.str()
		if !ok {
			return found
		}
		p.space()
		if !p.eat(':') {
			return found
		}
		p.space()
		if p.peek() == '"' {
			v, ok := p.str()
			if !ok {
				return found
			}
			if s, ok := unquote(name); ok && want(s) {
				if val, ok := unquote(v); ok {
					if found == nil {
						found = map[string]string{}
					}
					found[s] = val
				}
			}
		} else {
			if s, ok := unquote(name); ok {
				delete(found, s) // a later member of the same name wins, as in encoding/json
			}
			if !p.skipValue() {
				return found
			}
		}
		p.space()
		if !p.eat(',') {
			return found
		}
	}
}

type peeker struct {
	b []byte
	i int
}

func (p *peeker) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *peeker) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *peeker) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// str reads a string token, quotes included, and returns it raw.
func (p *peeker) str() ([]byte, bool) {
	start := p.i
	if !p.eat('"') {
		return nil, false
	}
	for {
		k := bytes.IndexByte(p.b[p.i:], '"')
		if k < 0 {
			p.i = len(p.b)
			return nil, false
		}
		end := p.i + k
		backslashes := 0
		for j := end - 1; j >= start+1 && p.b[j] == '\\'; j-- {
			backslashes++
		}
		p.i = end + 1
		if backslashes%2 == 0 {
			return p.b[start:p.i], true
		}
	}
}

// skipValue jumps over one value: a literal, or an array or object with all it holds.
func (p *peeker) skipValue() bool {
	depth := 0
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case '"':
			if _, ok := p.str(); !ok {
				return false
			}
			if depth == 0 {
				return true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return true // the end of the enclosing object: a literal just ended
			}
			depth--
			if depth == 0 {
				p.i++
				return true
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return true
			}
		}
		p.i++
	}
	return depth == 0
}

func unquote(raw []byte) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
