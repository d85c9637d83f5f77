package jobs

import (
	"io"
	"log/slog"
	"sync"
	"time"
)

// tailWriter writes a job's log to its file and keeps the last max bytes in
// memory, saving them to the store at most every flushEvery so status
// requests see recent lines without a write transaction per line.
type tailWriter struct {
	store Store
	id    string
	max   int
	log   *slog.Logger
	file  io.Writer

	mu        sync.Mutex
	buf       []byte
	dirty     bool
	lastFlush time.Time
}

const flushEvery = 250 * time.Millisecond

func newTailWriter(store Store, id string, max int, log *slog.Logger) *tailWriter {
	return &tailWriter{store: store, id: id, max: max, log: log}
}

// seed starts the tail with text kept from an earlier attempt.
func (t *tailWriter) seed(prev string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf[:0], prev...)
	t.trim()
}

func (t *tailWriter) trim() {
	over := len(t.buf) - t.max
	if over <= 0 {
		return
	}
	// Cut at a rune boundary so the stored text stays valid UTF-8.
	for over < len(t.buf) && t.buf[over]&0xC0 == 0x80 {
		over++
	}
	t.buf = append(t.buf[:0], t.buf[over:]...)
}

// Write never fails on a store error: losing a tail update must not fail
// the job, and the full log is in the file.
func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	if t.file != nil {
		if _, err := t.file.Write(p); err != nil {
			t.file = nil
			t.mu.Unlock()
			t.log.Error("write job log file; keeping the stored tail only", "err", err)
			t.mu.Lock()
		}
	}
	t.buf = append(t.buf, p...)
	t.trim()
	t.dirty = true
	due := time.Since(t.lastFlush) >= flushEvery
	t.mu.Unlock()
	if due {
		t.Flush()
	}
	return len(p), nil
}

// Flush saves the tail to the store when it changed.
func (t *tailWriter) Flush() {
	t.mu.Lock()
	if !t.dirty {
		t.mu.Unlock()
		return
	}
	text := string(t.buf)
	t.dirty = false
	t.lastFlush = time.Now()
	t.mu.Unlock()
	if err := t.store.SetLogTail(t.id, text); err != nil {
		t.log.Error("save job log tail", "err", err)
	}
}
