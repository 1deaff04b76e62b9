package sdk

import (
	"encoding/json"
	"strconv"
)

// FieldValues is where a host finds the values of declared Fields: a counter's value
// (0 when missing), and a KV key's value and whether it exists.
type FieldValues struct {
	Counter func(key string) int64
	KV      func(key string) ([]byte, bool)
}

// FieldsJSON is the decoration object that fields make for an item and a reader, with
// the members in the order the manifest lists them. The host and plugintest both build
// decorations with it, so a plugin's tests see what the host serves.
func FieldsJSON(fields []Field, itemID, userID string, v FieldValues) json.RawMessage {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.KeyFor(itemID, userID)
	}
	return FieldsJSONOfKeys(fields, keys, v)
}

// FieldsJSONOfKeys is FieldsJSON for a caller that built the keys already: keys[i]
// is fields[i].KeyFor(item, user). The host builds each key once per feed page.
func FieldsJSONOfKeys(fields []Field, keys []string, v FieldValues) json.RawMessage {
	obj := make([]byte, 0, 16*len(fields)+2)
	obj = append(obj, '{')
	for i, f := range fields {
		if i > 0 {
			obj = append(obj, ',')
		}
		obj = append(appendJSONString(obj, f.Name), ':')
		key := keys[i]
		switch f.From {
		case FromCounter:
			obj = strconv.AppendInt(obj, v.Counter(key), 10)
		case FromKVExists:
			_, ok := v.KV(key)
			obj = strconv.AppendBool(obj, ok)
		default:
			if val, ok := v.KV(key); ok && json.Valid(val) {
				obj = append(obj, val...)
			} else {
				obj = append(obj, "null"...)
			}
		}
	}
	return append(obj, '}')
}

// appendJSONString appends s as json.Marshal writes it: a feed page builds a
// decoration per item and field, and most names need no escaping.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}
