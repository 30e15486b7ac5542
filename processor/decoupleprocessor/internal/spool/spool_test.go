package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// drops records what a store reports through OnDrop.
type drops struct {
	mu sync.Mutex
	n  map[string]int // "route/reason" -> records
}

func (d *drops) add(route Route, reason Reason, records int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[fmt.Sprintf("%d/%s", route, reason)] += records
}

func (d *drops) get() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for k, v := range d.n {
		out[k] = v
	}
	return out
}

var t0 = time.Unix(1_700_000_000, 0)

func open(t *testing.T, dir string, maxSize int64, d *drops) *Store {
	t.Helper()
	s, err := Open(dir, Options{MaxSize: maxSize, Now: func() time.Time { return t0 }, OnDrop: d.add, OnRemove: func() {}})
	require.NoError(t, err)
	return s
}

// payload of n bytes; its first byte tells items apart.
func payload(tag byte, n int) []byte {
	p := bytes.Repeat([]byte{'.'}, n)
	p[0] = tag
	return p
}

func itemFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+itemExt))
	require.NoError(t, err)
	return names
}

func readAll(t *testing.T, s *Store, items []Item) []byte {
	t.Helper()
	var tags []byte
	for _, it := range items {
		p, err := s.Read(it)
		require.NoError(t, err)
		tags = append(tags, p[0])
	}
	return tags
}

func TestPutTakeAckOldestFirstPerRoute(t *testing.T) {
	dir := t.TempDir()
	d := &drops{}
	s := open(t, dir, 1<<20, d)
	mustPut(t, s, 1, payload('a', 10), 1)
	mustPut(t, s, 2, payload('x', 10), 5)
	mustPut(t, s, 1, payload('b', 10), 2)
	assert.Equal(t, Stats{Items: 3, Records: 8, Bytes: 3 * (headerSize + 10), Oldest: t0}, s.Stats())
	assert.Len(t, itemFiles(t, dir), 3)

	items := s.Take(1, 1<<20)
	assert.Equal(t, []byte("ab"), readAll(t, s, items))
	assert.Empty(t, s.Take(1, 1<<20), "items in flight are not taken twice")
	assert.False(t, s.Pending(1))
	assert.True(t, s.Pending(2))
	s.Release(items[1:])
	assert.True(t, s.Pending(1))
	s.Ack(items[:1])
	assert.Equal(t, 7, s.Stats().Records)
	assert.Len(t, itemFiles(t, dir), 2)
	oldestItem, ok := s.Oldest(1)
	oldest := oldestItem.Seq
	assert.True(t, ok)
	assert.Equal(t, items[1].Seq, oldest)
	assert.Equal(t, uint64(3), s.LastSeq())
	require.NoError(t, s.Close())
	assert.Empty(t, d.get())
	_, err := s.Put(1, payload('c', 1), 1)
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, map[string]int{"1/shutdown": 1}, d.get(), "a write after the close is counted")
}

// Take merges consecutive items up to maxBytes of payload, and always takes
// at least one.
func TestTakeUpToMaxBytes(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20, &drops{})
	defer s.Close()
	for _, tag := range []byte("abcde") {
		mustPut(t, s, 1, payload(tag, 100), 1)
	}
	mustPut(t, s, 1, payload('L', 500), 1)
	var batches []string
	for s.Pending(1) {
		items := s.Take(1, 250)
		batches = append(batches, string(readAll(t, s, items)))
		s.Ack(items)
	}
	assert.Equal(t, []string{"ab", "cd", "e", "L"}, batches)
}

// A new process finds the items a previous one left (taken or not), in
// order, with their route, records and enqueue time; new items follow them.
func TestReloadAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20, &drops{})
	mustPut(t, s, 1, payload('a', 10), 1)
	mustPut(t, s, 3, payload('b', 20), 2)
	mustPut(t, s, 1, payload('c', 30), 3)
	inflight := s.Take(1, 1<<20)
	require.Len(t, inflight, 2)
	// The process dies: nothing is acked; the kernel drops the flock.
	require.NoError(t, s.lock.Close())

	d := &drops{}
	r := open(t, dir, 1<<20, d)
	defer r.Close()
	assert.Equal(t, dir, r.Dir(), "the lock is free: the same directory")
	assert.Equal(t, Stats{Items: 3, Records: 6, Bytes: 3*headerSize + 60, Oldest: t0}, r.Stats())
	mustPut(t, r, 1, payload('d', 1), 1)
	got := r.Take(1, 1<<20)
	assert.Equal(t, []byte("acd"), readAll(t, r, got))
	assert.Equal(t, []Item{
		{Seq: 1, Route: 1, Size: 10, Records: 1, Enqueued: t0},
		{Seq: 3, Route: 1, Size: 30, Records: 3, Enqueued: t0},
		{Seq: 4, Route: 1, Size: 1, Records: 1, Enqueued: t0},
	}, got)
	assert.Equal(t, []byte("b"), readAll(t, r, r.Take(3, 1<<20)))
	assert.Empty(t, d.get())
}

// writeRaw leaves a file as a crashed or foreign process might.
func writeRaw(t *testing.T, dir string, seq uint64, ext string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("%016x%s", seq, ext))
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func itemBytes(route Route, records int, p []byte) []byte {
	h := newHeader(route, records, t0.UnixNano(), p).encode()
	return append(h[:], p...)
}

// Files that cannot be sent are deleted at open and counted: by their
// header's records when it is readable, else as one.
func TestReloadDiscardsDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := itemBytes(3, 7, payload('g', 40))
	writeRaw(t, dir, 1, itemExt, good)
	truncated := writeRaw(t, dir, 2, itemExt, good[:len(good)-1])
	short := writeRaw(t, dir, 3, itemExt, good[:headerSize-1])
	newer := append([]byte(nil), good...)
	newer[4] = version + 1
	unknownVersion := writeRaw(t, dir, 4, itemExt, newer)
	unfinished := writeRaw(t, dir, 5, tmpExt, good)
	longer := writeRaw(t, dir, 6, itemExt, append(append([]byte(nil), good...), 'x'))
	foreign := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(foreign, []byte("not ours"), 0o600))

	d := &drops{}
	s := open(t, dir, 1<<20, d)
	defer s.Close()
	assert.Equal(t, map[string]int{"3/corrupt": 7 + 7 + 7, "0/corrupt": 2}, d.get(),
		"truncated, unfinished, longer: 7 records each; short and unknown version: 1 each")
	for _, p := range []string{truncated, short, unknownVersion, unfinished, longer} {
		assert.NoFileExists(t, p)
	}
	assert.FileExists(t, foreign)
	assert.Equal(t, 7, s.Stats().Records)
}

// A payload that no longer matches its checksum is found when read, dropped
// and counted.
func TestReadDropsCorruptPayload(t *testing.T) {
	dir := t.TempDir()
	d := &drops{}
	s := open(t, dir, 1<<20, d)
	defer s.Close()
	mustPut(t, s, 2, payload('a', 50), 4)
	mustPut(t, s, 2, payload('b', 50), 1)
	files := itemFiles(t, dir)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	b[headerSize+10] ^= 0xff
	require.NoError(t, os.WriteFile(files[0], b, 0o600))

	items := s.Take(2, 1<<20)
	_, err = s.Read(items[0])
	require.ErrorIs(t, err, ErrGone)
	p, err := s.Read(items[1])
	require.NoError(t, err)
	assert.Equal(t, byte('b'), p[0])
	s.Ack(items)
	assert.Equal(t, map[string]int{"2/corrupt": 4}, d.get())
	assert.Zero(t, s.Stats().Items)
	assert.Empty(t, itemFiles(t, dir))
}

// A Put that would exceed MaxSize drops the oldest items of any route,
// counted exactly; an item larger than the spool is refused and counted.
func TestDropOldestWhenFull(t *testing.T) {
	d := &drops{}
	const item = headerSize + 100
	s := open(t, t.TempDir(), 3*item, d)
	defer s.Close()
	mustPut(t, s, 1, payload('a', 100), 10)
	mustPut(t, s, 2, payload('b', 100), 20)
	mustPut(t, s, 1, payload('c', 100), 30)
	assert.Empty(t, d.get(), "exactly full")
	mustPut(t, s, 2, payload('d', 100), 40)
	assert.Equal(t, map[string]int{"1/spool_full": 10}, d.get())
	mustPut(t, s, 1, payload('e', 150), 50) // needs two slots: b and c go
	assert.Equal(t, map[string]int{"1/spool_full": 10 + 30, "2/spool_full": 20}, d.get())
	assert.Equal(t, Stats{Items: 2, Records: 90, Bytes: 2*headerSize + 250, Oldest: t0}, s.Stats())
	assert.Equal(t, []byte("e"), readAll(t, s, s.Take(1, 1<<20)))

	_, err := s.Put(3, payload('z', 3*item), 9)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Equal(t, 9, d.get()["3/spool_full"])
	assert.Equal(t, 2, s.Stats().Items, "a refused item drops nothing else")
}

// An item evicted while in flight counts as lost only if its send fails.
func TestEvictedInFlightSettlesWhenTheSendEnds(t *testing.T) {
	d := &drops{}
	const item = headerSize + 10
	s := open(t, t.TempDir(), 2*item, d)
	defer s.Close()
	mustPut(t, s, 1, payload('a', 10), 1)
	mustPut(t, s, 1, payload('b', 10), 2)
	delivered := s.Take(1, 10)
	_, err := s.Read(delivered[0])
	require.NoError(t, err)
	mustPut(t, s, 2, payload('c', 10), 4) // evicts a, in flight
	assert.Empty(t, d.get(), "not yet known")
	s.Ack(delivered)
	assert.Empty(t, d.get(), "a was delivered after all")

	failed := s.Take(1, 10)               // b, in flight
	mustPut(t, s, 2, payload('d', 10), 8) // evicts b
	s.Release(failed)
	assert.Equal(t, map[string]int{"1/spool_full": 2}, d.get())

	unread := s.Take(2, 10)                // c, in flight
	mustPut(t, s, 3, payload('e', 10), 16) // evicts c before it was read
	_, err = s.Read(unread[0])
	require.ErrorIs(t, err, ErrGone)
	s.Ack(unread) // nothing more: Read settled it
	assert.Equal(t, map[string]int{"1/spool_full": 2, "2/spool_full": 4}, d.get())
}

// A failed write (a full /tmp) drops the oldest items once and retries;
// when that fails too, the item is counted as write_failed.
func TestWriteFailureDropsOldestOnceThenGivesUp(t *testing.T) {
	d := &drops{}
	dir := t.TempDir()
	s := open(t, dir, 1<<20, d)
	defer s.Close()
	for _, tag := range []byte("abc") {
		mustPut(t, s, 1, payload(tag, 100), 1)
	}
	fails := 1
	s.create = func(path string, chunks ...[]byte) error {
		if fails > 0 {
			fails--
			return syscall.ENOSPC
		}
		return createFile(path, chunks...)
	}
	mustPut(t, s, 1, payload('d', 150), 5)
	assert.Equal(t, map[string]int{"1/spool_full": 2}, d.get(), "a and b made room for 150 bytes")
	items := s.Take(1, 1<<20)
	assert.Equal(t, []byte("cd"), readAll(t, s, items))
	s.Release(items)

	fails = 2
	_, err := s.Put(2, payload('e', 10), 7)
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Equal(t, map[string]int{"1/spool_full": 2 + 1, "2/write_failed": 7}, d.get(), "c was dropped for the retry")
	tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tmpExt))
	assert.Empty(t, tmps)
}

// A directory held by another live process is not shared: the store uses a
// private pid-<pid> subdirectory and removes it at a clean close when empty.
func TestLockFallbackToPrivateDirectory(t *testing.T) {
	dir := t.TempDir()
	owner := open(t, dir, 1<<20, &drops{})
	defer owner.Close()
	private := filepath.Join(dir, fmt.Sprintf("pid-%d", os.Getpid()))

	second := open(t, dir, 1<<20, &drops{})
	assert.Equal(t, private, second.Dir())
	mustPut(t, second, 1, payload('a', 10), 1)
	require.NoError(t, second.Close())
	assert.DirExists(t, private, "unsent data stays")

	third := open(t, dir, 1<<20, &drops{})
	assert.Equal(t, private, third.Dir())
	items := third.Take(1, 1<<20)
	assert.Equal(t, []byte("a"), readAll(t, third, items))
	third.Ack(items)
	require.NoError(t, third.Close())
	assert.NoDirExists(t, private)
	assert.Equal(t, 0, owner.Stats().Items, "the owner does not see the private items")
}

func TestDropAll(t *testing.T) {
	d := &drops{}
	s := open(t, t.TempDir(), 1<<20, d)
	defer s.Close()
	mustPut(t, s, 1, payload('a', 10), 1)
	mustPut(t, s, 2, payload('b', 10), 2)
	s.Take(1, 10)
	assert.Equal(t, 3, s.DropAll(Shutdown))
	assert.Equal(t, map[string]int{"1/shutdown": 1, "2/shutdown": 2}, d.get())
	assert.Equal(t, Stats{}, s.Stats())
}

func FuzzDecode(f *testing.F) {
	f.Add(itemBytes(1, 3, []byte("payload")))
	f.Add(itemBytes(3, 0, nil))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := decode(b)
		if err != nil {
			return
		}
		enc := newHeader(h.route, int(h.records), h.enqueued, p).encode()
		want := append([]byte(nil), b[:headerSize]...)
		want[6], want[7] = 0, 0 // reserved: ignored when read
		require.Equal(t, want, enc[:])
		require.Equal(t, b[headerSize:], p)
	})
}

func mustPut(t *testing.T, s *Store, route Route, payload []byte, records int) {
	t.Helper()
	_, err := s.Put(route, payload, records)
	require.NoError(t, err)
}
