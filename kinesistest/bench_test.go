package kinesistest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServePutRecords measures the server's own cost for one PutRecords request of
// 500 records of 1 KiB (the body a producer sends at the entry limit), from the HTTP
// request to the written answer, without the network or a client.
func BenchmarkServePutRecords(b *testing.B) {
	for _, keep := range []bool{true, false} {
		b.Run(fmt.Sprintf("keep=%v", keep), func(b *testing.B) {
			srv := NewServer(WithRequestLog(keep), WithRecordData(keep))
			defer srv.Close()
			if _, err := srv.CreateStream("bench", 4); err != nil {
				b.Fatal(err)
			}
			data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, 1024))
			var body bytes.Buffer
			body.WriteString(`{"StreamName":"bench","Records":[`)
			for i := 0; i < 500; i++ {
				if i > 0 {
					body.WriteByte(',')
				}
				fmt.Fprintf(&body, `{"PartitionKey":"key-%d","Data":"%s"}`, i, data)
			}
			body.WriteString(`]}`)
			payload := body.Bytes()
			b.SetBytes(500 * 1024)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(payload))
				req.Header.Set("X-Amz-Target", targetPrefix+"PutRecords")
				req.Header.Set("Content-Type", contentType)
				rr := httptest.NewRecorder()
				srv.serveHTTP(rr, req)
				if rr.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rr.Code, rr.Body.Bytes())
				}
				if !keep {
					continue
				}
				// Keep memory flat across iterations: forget what was stored.
				srv.ResetRequests()
				srv.mu.Lock()
				for _, sh := range srv.streams["bench"].shards {
					sh.records = sh.records[:0]
				}
				srv.mu.Unlock()
			}
		})
	}
}
