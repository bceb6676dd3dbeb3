package kinesistest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"testing"
)

// FuzzPeekStrings checks the scan that finds a request's stream without decoding the body:
// it never panics, and on a valid JSON object it finds exactly the top-level string members
// encoding/json finds.
func FuzzPeekStrings(f *testing.F) {
	for _, s := range []string{
		`{"StreamName":"a","Records":[{"Data":"eA==","PartitionKey":"k\"}"}]}`,
		`{"Records":[{"x":[1,{"y":"]"}]}],"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s"}`,
		`{"StreamName":"\u0061\\","Limit":10,"ok":true,"n":null}`,
		`{"a":{"b":"c"},"StreamName":"x"`,
		`[{"StreamName":"x"}]`,
		`{"StreamName":1}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := peekStrings(body, func(string) bool { return true })
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		want := map[string]string{}
		for k, v := range obj {
			var s string
			if json.Unmarshal(v, &s) == nil && bytes.HasPrefix(bytes.TrimSpace(v), []byte(`"`)) {
				want[k] = s
			}
		}
		// encoding/json keeps the last of duplicate names; so does peekStrings.
		if len(got) != len(want) {
			t.Fatalf("%q: peek found %v, encoding/json %v", body, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%q: member %q: peek %q, encoding/json %q", body, k, got[k], v)
			}
		}
	})
}

// FuzzServe sends arbitrary bodies to every operation of a server holding a stream: the
// server never panics, always answers JSON with the status it declares, with Content-Length,
// and an error answer always carries __type and message.
func FuzzServe(f *testing.F) {
	seeds := map[string][]string{
		"PutRecords":       {`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"eA=="},{"PartitionKey":"j","ExplicitHashKey":"0","Data":""}]}`, `{"StreamName":"s","Records":[]}`},
		"PutRecord":        {`{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","PartitionKey":"k","Data":"eA=="}`},
		"CreateStream":     {`{"StreamName":"t","ShardCount":3}`, `{"StreamName":"u","StreamModeDetails":{"StreamMode":"ON_DEMAND"}}`},
		"ListShards":       {`{"StreamName":"s","MaxResults":1}`, `{"NextToken":"bHMxfDF8c3x8fHwwfDA="}`, `{"StreamName":"s","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":1.5}}`},
		"GetShardIterator": {`{"StreamName":"s","ShardId":"0","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"49000000000000000000000000000000000000000000000000000001"}`},
		"GetRecords":       {`{"ShardIterator":"aXQxfDF8c3xzaGFyZElkLTAwMDAwMDAwMDAwMHwxfDA=","Limit":5}`},
		"SplitShard":       {`{"StreamName":"s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"12345"}`},
		"MergeShards":      {`{"StreamName":"s","ShardToMerge":"shardId-000000000000","AdjacentShardToMerge":"shardId-000000000001"}`},
		"UpdateShardCount": {`{"StreamName":"s","TargetShardCount":3,"ScalingType":"UNIFORM_SCALING"}`},
		"DescribeStream":   {`{"StreamName":"s","Limit":1,"ExclusiveStartShardId":"shardId-000000000000"}`},
	}
	ops := make([]string, 0, len(operations)+1)
	for op := range operations {
		ops = append(ops, op)
	}
	sort.Strings(ops) // so that a corpus entry always means the same operation
	ops = append(ops, "Unknown")
	for i, op := range ops {
		for _, s := range seeds[op] {
			f.Add(uint8(i), []byte(s))
		}
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		srv := NewServer(WithRequestSizeLimit(1 << 16))
		defer srv.Close()
		if _, err := srv.CreateStream("s", 2); err != nil {
			t.Fatal(err)
		}
		op := ops[int(opIndex)%len(ops)]
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", targetPrefix+op)
		req.Header.Set("Content-Type", contentType)
		rr := httptest.NewRecorder()
		srv.serveHTTP(rr, req)
		res := rr.Result()
		if res.Header.Get("Content-Length") != strconv.Itoa(rr.Body.Len()) {
			t.Fatalf("%s %q: Content-Length %q for %d bytes", op, body, res.Header.Get("Content-Length"), rr.Body.Len())
		}
		var fields map[string]any
		if err := json.Unmarshal(rr.Body.Bytes(), &fields); err != nil {
			t.Fatalf("%s %q: answer %q is not a JSON object: %v", op, body, rr.Body.Bytes(), err)
		}
		if res.StatusCode == http.StatusOK {
			return
		}
		if _, ok := fields["__type"].(string); !ok || fields["message"] == nil || res.StatusCode < 400 {
			t.Fatalf("%s %q: error answer %d %q", op, body, res.StatusCode, rr.Body.Bytes())
		}
	})
}

// FuzzTokens checks that decoding shard iterators and ListShards tokens never panics and
// that what the server writes reads back the same.
func FuzzTokens(f *testing.F) {
	f.Add("aXQxfDF8c3xzaGFyZElkLTAwMDAwMDAwMDAwMHwxfDA=", "s", uint64(3))
	f.Add("bHMxfDF8c3x8fHwwfDA=", "stream.name-1", uint64(1<<63))
	f.Add("", "", uint64(0))
	f.Fuzz(func(t *testing.T, token, name string, n uint64) {
		_, _ = decodeIterator(token)
		_, _ = decodeShardsToken(token)
		if !validStreamName(name) || name == "" {
			return
		}
		it := iterator{gen: n, stream: name, shard: shardID(int(n % 1000)), pos: n}
		back, err := decodeIterator(encodeIterator(it))
		if err != nil || back.gen != it.gen || back.stream != it.stream || back.shard != it.shard || back.pos != it.pos {
			t.Fatalf("iterator %+v read back as %+v, %v", it, back, err)
		}
		tok := shardsToken{gen: n, stream: name, after: shardID(1), filterType: "AT_LATEST"}
		tb, err := decodeShardsToken(encodeShardsToken(tok))
		if err != nil || tb.gen != tok.gen || tb.stream != tok.stream || tb.after != tok.after || tb.filterType != tok.filterType {
			t.Fatalf("token %+v read back as %+v, %v", tok, tb, err)
		}
	})
}
