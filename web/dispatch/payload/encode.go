package payload

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// EncodeJSON encodes fields as one compact JSON object with sorted keys,
// without HTML escaping (so & stays &, not \u0026) and without a trailing
// newline.
func EncodeJSON(fields map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, fmt.Errorf("encode JSON payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// EncodeForm flattens fields into application/x-www-form-urlencoded pairs,
// the same string used as a form body and as a GET query (docs/events.md,
// "Rendering", rules 1-7):
//
//   - keys are sorted at every level; keys and values are escaped as by
//     url.QueryEscape (space becomes +, + becomes %2B, brackets %5B and %5D);
//   - nil becomes "key=", booleans true/false, integers decimal, floats as
//     encoding/json writes them, json.Number as is, encoding.TextMarshaler
//     values (time.Time) as their text;
//   - objects become key[sub]=v, arrays of scalars key[]=v, arrays holding
//     any object or array key[0][sub]=v (indices);
//   - empty arrays and objects produce no pairs, while nil maps and slices
//     count as null.
//
// Values no rule covers (structs, byte slices, NaN, channels, ...) are written
// with fmt.Sprint here; Render refuses them instead.
func EncodeForm(fields map[string]any) string {
	e := formEncoder{}
	_ = e.top(fields) // cannot fail when not strict
	return e.b.String()
}

// encodeFormStrict is EncodeForm that fails on values no rule covers.
func encodeFormStrict(fields map[string]any) (string, error) {
	e := formEncoder{strict: true}
	if err := e.top(fields); err != nil {
		return "", fmt.Errorf("encode form payload: %w", err)
	}
	return e.b.String(), nil
}

type formEncoder struct {
	b      strings.Builder
	strict bool
}

func (e *formEncoder) top(fields map[string]any) error {
	for _, k := range sortedKeys(fields) {
		if err := e.encode(k, fields[k]); err != nil {
			return err
		}
	}
	return nil
}

func (e *formEncoder) pair(key, value string) {
	if e.b.Len() > 0 {
		e.b.WriteByte('&')
	}
	e.b.WriteString(url.QueryEscape(key))
	e.b.WriteByte('=')
	e.b.WriteString(url.QueryEscape(value))
}

func (e *formEncoder) unsupported(key string, v any, why string) error {
	if e.strict {
		return fmt.Errorf("field %q: %s (%T)", key, why, v)
	}
	e.pair(key, fmt.Sprint(v))
	return nil
}

// encode writes the pairs for one value; the common JSON shapes take the
// fast paths, everything else goes through reflection.
func (e *formEncoder) encode(key string, v any) error {
	switch x := v.(type) {
	case nil:
		e.pair(key, "")
	case string:
		e.pair(key, x)
	case bool:
		e.pair(key, strconv.FormatBool(x))
	case int:
		e.pair(key, strconv.Itoa(x))
	case int64:
		e.pair(key, strconv.FormatInt(x, 10))
	case json.Number:
		e.pair(key, x.String())
	case float64:
		s, ok := formatFloat(x, 64)
		if !ok {
			return e.unsupported(key, v, "not a finite number")
		}
		e.pair(key, s)
	case map[string]any:
		if x == nil {
			e.pair(key, "")
			return nil
		}
		for _, k := range sortedKeys(x) {
			if err := e.encode(key+"["+k+"]", x[k]); err != nil {
				return err
			}
		}
	case map[string]string:
		if x == nil {
			e.pair(key, "")
			return nil
		}
		for _, k := range sortedKeys(x) {
			e.pair(key+"["+k+"]", x[k])
		}
	case []any:
		if x == nil {
			e.pair(key, "")
			return nil
		}
		return e.array(key, reflect.ValueOf(x))
	case []string:
		if x == nil {
			e.pair(key, "")
			return nil
		}
		for _, s := range x {
			e.pair(key+"[]", s)
		}
	default:
		return e.reflect(key, v)
	}
	return nil
}

func (e *formEncoder) reflect(key string, v any) error {
	rv := reflect.ValueOf(v)
	if (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
		e.pair(key, "")
		return nil
	}
	if tm, ok := v.(encoding.TextMarshaler); ok {
		text, err := tm.MarshalText()
		if err != nil {
			if e.strict {
				return fmt.Errorf("field %q: marshal text: %w", key, err)
			}
			return e.unsupported(key, v, "marshal text failed")
		}
		e.pair(key, string(text))
		return nil
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return e.encode(key, rv.Elem().Interface())
	case reflect.String:
		e.pair(key, rv.String())
	case reflect.Bool:
		e.pair(key, strconv.FormatBool(rv.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.pair(key, strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.pair(key, strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		s, ok := formatFloat(rv.Float(), rv.Type().Bits())
		if !ok {
			return e.unsupported(key, v, "not a finite number")
		}
		e.pair(key, s)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return e.unsupported(key, v, "map keys are not strings")
		}
		if rv.IsNil() {
			e.pair(key, "")
			return nil
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()))
			if err := e.encode(key+"["+k+"]", sub.Interface()); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.unsupported(key, v, "byte slices have no form rule")
		}
		if rv.IsNil() {
			e.pair(key, "")
			return nil
		}
		return e.array(key, rv)
	case reflect.Array:
		return e.array(key, rv)
	default:
		return e.unsupported(key, v, "no form rule for this type")
	}
	return nil
}

// array writes key[]=v for arrays of scalars and key[i]... as soon as one
// element is an object or an array.
func (e *formEncoder) array(key string, rv reflect.Value) error {
	n := rv.Len()
	indexed := false
	for i := range n {
		if isComposite(rv.Index(i).Interface()) {
			indexed = true
			break
		}
	}
	for i := range n {
		sub := key + "[]"
		if indexed {
			sub = key + "[" + strconv.Itoa(i) + "]"
		}
		if err := e.encode(sub, rv.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

// isComposite reports whether v renders as an object or an array.
func isComposite(v any) bool {
	if v == nil {
		return false
	}
	if _, ok := v.(encoding.TextMarshaler); ok {
		return false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Array:
		return true
	case reflect.Slice:
		return rv.Type().Elem().Kind() != reflect.Uint8
	}
	return false
}

// formatFloat writes a float the way encoding/json does; ok is false for NaN
// and infinities.
func formatFloat(f float64, bits int) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(nil, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b), true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
