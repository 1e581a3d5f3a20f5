package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/actions"
)

// jsonNode is one compiled value of a json: body. Rendering writes JSON
// text produced by encoding/json, so no inserted value can break out of its
// string.
type jsonNode interface {
	write(buf *bytes.Buffer, env map[string]any) error
}

// jsonRaw is a value with no template in it, encoded once at load.
type jsonRaw []byte

func (n jsonRaw) write(buf *bytes.Buffer, _ map[string]any) error {
	buf.Write(n)
	return nil
}

// jsonTemplate is a string holding a template; its output is always a JSON
// string.
type jsonTemplate struct{ t *actions.Template }

func (n jsonTemplate) write(buf *bytes.Buffer, env map[string]any) error {
	s, err := n.t.Execute(env)
	if err != nil {
		return err
	}
	return writeJSONString(buf, s)
}

type jsonObject struct {
	keys []jsonRaw // encoded keys, sorted
	vals []jsonNode
}

func (n jsonObject) write(buf *bytes.Buffer, env map[string]any) error {
	buf.WriteByte('{')
	for i, k := range n.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(k)
		buf.WriteByte(':')
		if err := n.vals[i].write(buf, env); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

type jsonArray []jsonNode

func (n jsonArray) write(buf *bytes.Buffer, env map[string]any) error {
	buf.WriteByte('[')
	for i, v := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := v.write(buf, env); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// writeJSONString encodes s with encoding/json: quotes, backslashes and
// control characters are escaped, invalid UTF-8 becomes U+FFFD, and <, >, &
// are written as \u003c, \u003e, \u0026.
func writeJSONString(buf *bytes.Buffer, s string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// compileJSON turns a YAML-decoded value (maps, lists, scalars) into a
// jsonNode. Every string is a template; object keys are literal.
func compileJSON(ts *actions.Templates, path string, v any) (jsonNode, error) {
	switch v := v.(type) {
	case nil:
		return jsonRaw("null"), nil
	case string:
		if !strings.Contains(v, "{{") {
			var buf bytes.Buffer
			if err := writeJSONString(&buf, v); err != nil {
				return nil, err
			}
			return jsonRaw(buf.Bytes()), nil
		}
		t, err := ts.New("json"+path, v, nil)
		if err != nil {
			return nil, err
		}
		return jsonTemplate{t}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("json%s: %w", path, err)
		}
		return jsonRaw(b), nil
	case reflect.Float32, reflect.Float64:
		if f := rv.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("json%s: %v cannot be written in JSON", path, f)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("json%s: %w", path, err)
		}
		return jsonRaw(b), nil
	case reflect.Map:
		return compileObject(ts, path, rv)
	case reflect.Slice, reflect.Array:
		arr := make(jsonArray, rv.Len())
		for i := range arr {
			n, err := compileJSON(ts, fmt.Sprintf("%s[%d]", path, i), rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			arr[i] = n
		}
		return arr, nil
	}
	return nil, fmt.Errorf("json%s: unsupported value of type %T", path, v)
}

func compileObject(ts *actions.Templates, path string, rv reflect.Value) (jsonNode, error) {
	type entry struct {
		key string
		val any
	}
	entries := make([]entry, 0, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		k := iter.Key()
		if k.Kind() == reflect.Interface {
			k = k.Elem()
		}
		if !k.IsValid() || k.Kind() != reflect.String {
			return nil, fmt.Errorf("json%s: object key %v is not a string", path, iter.Key().Interface())
		}
		entries = append(entries, entry{k.String(), iter.Value().Interface()})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	obj := jsonObject{keys: make([]jsonRaw, len(entries)), vals: make([]jsonNode, len(entries))}
	for i, e := range entries {
		if i > 0 && entries[i-1].key == e.key {
			return nil, errors.New("json" + path + ": duplicate key " + e.key)
		}
		var buf bytes.Buffer
		if err := writeJSONString(&buf, e.key); err != nil {
			return nil, err
		}
		obj.keys[i] = buf.Bytes()
		n, err := compileJSON(ts, path+"."+e.key, e.val)
		if err != nil {
			return nil, err
		}
		obj.vals[i] = n
	}
	return obj, nil
}
