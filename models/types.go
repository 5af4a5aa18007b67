package models

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// StringList is a PostgreSQL text[] column.
type StringList []string

// Value encodes the list as an array literal with every element quoted.
func (l StringList) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for i := 0; i < len(s); i++ { // bytes, not runes: keep the text exactly
			if s[i] == '"' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// Scan decodes a one-dimensional array literal as PostgreSQL prints it.
func (l *StringList) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan text[]: unsupported type %T", src)
	}
	out, err := parseArray(s)
	if err != nil {
		return fmt.Errorf("scan text[] %q: %w", s, err)
	}
	*l = out
	return nil
}

func parseArray(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, errors.New("not an array literal")
	}
	body := s[1 : len(s)-1]
	out := []string{}
	if body == "" {
		return out, nil
	}
	for i := 0; i <= len(body); {
		var elem strings.Builder
		if i < len(body) && body[i] == '"' {
			i++
			closed := false
			for i < len(body) {
				c := body[i]
				if c == '\\' && i+1 < len(body) {
					elem.WriteByte(body[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				elem.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errors.New("unterminated quoted element")
			}
		} else {
			start := i
			for i < len(body) && body[i] != ',' {
				i++
			}
			raw := body[start:i]
			if raw == "NULL" {
				return nil, errors.New("NULL element")
			}
			elem.WriteString(raw)
		}
		out = append(out, elem.String())
		if i == len(body) {
			break
		}
		if body[i] != ',' {
			return nil, errors.New("expected ','")
		}
		i++
	}
	return out, nil
}

// JSON is a jsonb column holding a T.
type JSON[T any] struct{ V T }

// Value encodes V as JSON.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, fmt.Errorf("encode jsonb: %w", err)
	}
	return string(b), nil
}

// Scan decodes a jsonb value into V.
func (j *JSON[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		var zero T
		j.V = zero
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan jsonb: unsupported type %T", src)
	}
	if err := json.Unmarshal(b, &j.V); err != nil {
		return fmt.Errorf("scan jsonb: %w", err)
	}
	return nil
}

// MarshalJSON makes JSON[T] transparent in API output.
func (j JSON[T]) MarshalJSON() ([]byte, error) { return json.Marshal(j.V) }
