package otlphttp

import "github.com/otelkinesis/otelkinesis/consumer"

// DefaultMaxBodyBytes is the default largest body Pack builds: 4 MiB, under the usual
// limits of OTLP receivers (the Collector's is 20 MiB).
const DefaultMaxBodyBytes = 4 << 20

// Body is one OTLP/HTTP request to send: the protobuf requests of several user records
// of one signal, concatenated (which merges them: every field of an OTLP request is
// repeated).
type Body struct {
	Signal consumer.Signal
	Data   []byte
	// Records are the indexes, in the slice given to Pack, of the records in Data.
	Records []int
}

// Pack groups records by signal, keeping their order within a signal, into bodies of at
// most maxBytes (a record larger than that gets a body of its own). Protobuf payloads go
// as they were written; OTLP/JSON ones are converted to protobuf. A record that cannot
// be converted is left out and returned in failed, by index.
func Pack(records []consumer.Record, maxBytes int) (bodies []Body, failed map[int]error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	open := map[consumer.Signal]int{} // signal -> index in bodies of its open body
	for i, r := range records {
		data := r.Payload
		if r.Telemetry.Format.ContentType != consumer.ContentTypeProtobuf {
			var err error
			if data, err = r.Telemetry.MarshalProto(); err != nil {
				if failed == nil {
					failed = map[int]error{}
				}
				failed[i] = err
				continue
			}
		}
		s := r.Telemetry.Format.Signal
		j, ok := open[s]
		if !ok || len(bodies[j].Data)+len(data) > maxBytes {
			bodies = append(bodies, Body{Signal: s, Data: make([]byte, 0, min(maxBytes, max(len(data), 64<<10)))})
			j = len(bodies) - 1
			open[s] = j
		}
		bodies[j].Data = append(bodies[j].Data, data...)
		bodies[j].Records = append(bodies[j].Records, i)
	}
	return bodies, failed
}
