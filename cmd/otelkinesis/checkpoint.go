package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// checkpoints is forward's record of progress: per shard, the sequence number of the
// last Kinesis record whose telemetry was all delivered, or that the shard was read to
// its end. It is saved to its file (written to a temporary file, synced, then renamed
// over the old one) after every change, so a crash loses at most the batch in flight,
// which is sent again on restart.
type checkpoints struct {
	path string
	mu   sync.Mutex
	data checkpointFile
}

type checkpointFile struct {
	// Stream is the stream the checkpoints belong to.
	Stream string `json:"stream"`
	// Shards maps shard IDs to their checkpoints.
	Shards map[string]shardCheckpoint `json:"shards"`
}

type shardCheckpoint struct {
	SequenceNumber string    `json:"sequence_number,omitempty"`
	Done           bool      `json:"done,omitempty"`
	Updated        time.Time `json:"updated"`
}

// loadCheckpoints reads path, or starts empty when it does not exist. A file written for
// another stream is refused.
func loadCheckpoints(path string, stream streamRef) (*checkpoints, error) {
	c := &checkpoints{path: path, data: checkpointFile{Stream: stream.String(), Shards: map[string]shardCheckpoint{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint file: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("checkpoint file %s: not a checkpoint file: %w", path, err)
	}
	if f.Stream != stream.String() {
		return nil, fmt.Errorf("checkpoint file %s belongs to stream %q, not %q: use another --checkpoint", path, f.Stream, stream)
	}
	if f.Shards != nil {
		c.data.Shards = f.Shards
	}
	return c, nil
}

// resume returns where each shard resumes.
func (c *checkpoints) resume() map[string]resumePoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]resumePoint{}
	for id, s := range c.data.Shards {
		out[id] = resumePoint{after: s.SequenceNumber, done: s.Done}
	}
	return out
}

// advance records that everything up to seq in shard was delivered, and saves.
func (c *checkpoints) advance(shard, seq string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data.Shards[shard] = shardCheckpoint{SequenceNumber: seq, Updated: time.Now().UTC()}
	return c.save()
}

// finish records that shard was read to its end, and saves.
func (c *checkpoints) finish(shard string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.data.Shards[shard]
	s.Done, s.Updated = true, time.Now().UTC()
	c.data.Shards[shard] = s
	return c.save()
}

func (c *checkpoints) save() error {
	b, err := json.MarshalIndent(c.data, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), filepath.Base(c.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint file: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint file: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint file: %w", err)
	}
	return nil
}
