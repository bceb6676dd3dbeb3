package consumer

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Message returns the decoded OTLP request: t.Traces, t.Metrics or t.Logs, whichever is
// set, or nil.
func (t Telemetry) Message() proto.Message {
	switch {
	case t.Traces != nil:
		return t.Traces
	case t.Metrics != nil:
		return t.Metrics
	case t.Logs != nil:
		return t.Logs
	}
	return nil
}

// MarshalProto returns the request as OTLP protobuf, the body of an OTLP/HTTP request
// with content type application/x-protobuf.
func (t Telemetry) MarshalProto() ([]byte, error) {
	m := t.Message()
	if m == nil {
		return nil, fmt.Errorf("consumer: empty Telemetry")
	}
	return proto.Marshal(m)
}

// MarshalJSON returns the request in the OTLP/JSON mapping, as an OTLP/HTTP JSON body:
// field names in lowerCamelCase, enums as numbers, 64-bit integers as strings, trace and
// span IDs in hex, on one line, with object members in a stable order.
func (t Telemetry) MarshalJSON() ([]byte, error) {
	m := t.Message()
	if m == nil {
		return nil, fmt.Errorf("consumer: empty Telemetry")
	}
	raw, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if err := convertIDs(v, base64ToHex); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// base64ToHex turns protojson's base64 ID into OTLP/JSON's hex.
func base64ToHex(s string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(raw), nil
}

// convertIDs rewrites, in place, every ID member of a decoded JSON tree with conv.
func convertIDs(v any, conv func(string) (string, error)) error {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if s, ok := child.(string); ok && idFields[k] {
				c, err := conv(s)
				if err != nil {
					return fmt.Errorf("%s %q: %w", k, s, err)
				}
				x[k] = c
				continue
			}
			if err := convertIDs(child, conv); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range x {
			if err := convertIDs(child, conv); err != nil {
				return err
			}
		}
	}
	return nil
}
