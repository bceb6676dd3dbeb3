package recordtag

import (
	"reflect"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestRoundTrip(t *testing.T) {
	for _, d := range []Description{
		{SignalTraces, ContentTypeProtobuf, ""},
		{SignalMetrics, ContentTypeJSON, EncodingGzip},
		{SignalLogs, ContentTypeProtobuf, EncodingZstd},
	} {
		got, ok, err := Parse(d.Tags())
		if err != nil || !ok || got != d {
			t.Errorf("Parse(%v.Tags()) = %v, %v, %v", d, got, ok, err)
		}
	}
	want := []aggregation.Tag{{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/x-protobuf"}}
	if got := (Description{SignalTraces, ContentTypeProtobuf, ""}).Tags(); !reflect.DeepEqual(got, want) {
		t.Errorf("Tags() = %v, want %v", got, want)
	}
}

func TestParseForeignAndBad(t *testing.T) {
	if _, ok, err := Parse(nil); ok || err != nil {
		t.Errorf("no tags: ok=%v err=%v", ok, err)
	}
	if _, ok, err := Parse([]aggregation.Tag{{Key: "other", Value: "x"}}); ok || err != nil {
		t.Errorf("foreign tags: ok=%v err=%v", ok, err)
	}
	for _, tags := range [][]aggregation.Tag{
		{{Key: KeySignal, Value: "profiles"}, {Key: KeyContentType, Value: ContentTypeProtobuf}},
		{{Key: KeySignal, Value: SignalLogs}, {Key: KeyContentType, Value: "text/plain"}},
		{{Key: KeySignal, Value: SignalLogs}, {Key: KeyContentType, Value: ContentTypeJSON}, {Key: KeyContentEncoding, Value: "br"}},
	} {
		if _, ok, err := Parse(tags); !ok || err == nil {
			t.Errorf("Parse(%v): ok=%v err=%v, want an error", tags, ok, err)
		}
	}
}
