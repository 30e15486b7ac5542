// Package spool is the decouple processor's store: one file per item in a
// directory, an in-memory index of the items (never their payloads, so memory
// stays bounded whatever the backlog), a global size bound that drops the
// oldest items, and reload of what a previous process left.
package spool

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Route names the stream an item belongs to; items of one route are sent in
// order by one sender.
type Route uint8

// Reason says why records left the spool without being delivered.
type Reason uint8

const (
	// SpoolFull: the oldest items made room for newer ones.
	SpoolFull Reason = iota
	// Rejected: the backend refused the data for good.
	Rejected
	// Shutdown: still held when the environment ended.
	Shutdown
	// WriteFailed: the item could not be written to disk.
	WriteFailed
	// Corrupt: the item's file was truncated, damaged or unreadable.
	Corrupt
	// NumReasons is the number of reasons, for arrays indexed by Reason.
	NumReasons
)

var reasonNames = [NumReasons]string{"spool_full", "rejected", "shutdown", "write_failed", "corrupt"}

func (r Reason) String() string { return reasonNames[r] }

var (
	// ErrClosed is returned by Put after Close.
	ErrClosed = errors.New("spool is closed")
	// ErrTooLarge is returned by Put for an item larger than the whole spool.
	ErrTooLarge = errors.New("item larger than the spool")
	// ErrGone is returned by Read for an item that left the spool meanwhile
	// (dropped, or found damaged and dropped now).
	ErrGone = errors.New("item no longer in the spool")

	errLocked = errors.New("locked by another process")
)

const (
	itemExt = ".item"
	tmpExt  = ".tmp"
	// lockName is the file an open store holds an exclusive flock on.
	lockName = "lock"
)

// Options of a store.
type Options struct {
	// MaxSize bounds the bytes of all item files; Put drops the oldest items
	// to stay below it.
	MaxSize int64
	Logger  *zap.Logger
	Now     func() time.Time
	// OnDrop is told about every record dropped, with the store's lock held:
	// it must not call the store. The route is 0 for a file whose header
	// cannot be read.
	OnDrop func(route Route, reason Reason, records int)
	// OnRemove is called, with the store's lock held, after items left the
	// store (delivered or dropped), so waiters can look again.
	OnRemove func()
}

// Item is the index entry of a stored item.
type Item struct {
	Seq      uint64
	Route    Route
	Size     int // payload bytes
	Records  int
	Enqueued time.Time
}

type entry struct {
	Item
	inflight bool // taken by a sender, not yet acked, released or dropped
	removed  bool // left the store; still in a queue until trimmed
}

// queue is one route's items by sequence; removed entries are skipped and
// trimmed once they reach the front, so removal is O(1).
type queue struct {
	entries []*entry
	records int
}

func (q *queue) front() *entry {
	for len(q.entries) > 0 && q.entries[0].removed {
		q.entries[0] = nil
		q.entries = q.entries[1:]
	}
	if len(q.entries) == 0 {
		return nil
	}
	return q.entries[0]
}

// Store is a directory of items. All methods are safe for concurrent use.
type Store struct {
	dir     string
	private bool // a pid-<pid> fallback, removed at Close when empty
	lock    *os.File
	opts    Options
	// create writes a new file; tests replace it to fill the disk.
	create func(path string, chunks ...[]byte) error

	mu      sync.Mutex
	closed  bool
	next    uint64
	entries map[uint64]*entry
	routes  map[Route]*queue
	// evicted holds items dropped for room while a sender had them in flight:
	// whether they count as lost is known when the send ends.
	evicted map[uint64]Item
	bytes   int64
	records int
}

// Open opens the store in dir, creating it, and loads the items a previous
// process left. If another live process holds dir, the store uses a private
// subdirectory pid-<pid> instead.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: creating %s: %w", dir, err)
	}
	s := &Store{
		dir: dir, opts: opts, create: createFile, next: 1,
		entries: map[uint64]*entry{}, routes: map[Route]*queue{}, evicted: map[uint64]Item{},
	}
	lock, err := lockFile(filepath.Join(dir, lockName))
	if errors.Is(err, errLocked) {
		s.dir, s.private = filepath.Join(dir, fmt.Sprintf("pid-%d", os.Getpid())), true
		opts.Logger.Warn("Spool directory is in use by another process; using a private one (its data is not picked up by later processes)",
			zap.String("directory", dir), zap.String("private", s.dir))
		if err = os.MkdirAll(s.dir, 0o700); err == nil {
			lock, err = lockFile(filepath.Join(s.dir, lockName))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("spool: locking %s: %w", s.dir, err)
	}
	s.lock = lock
	if err := s.load(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// Dir is the directory the store uses (a private one after a fallback).
func (s *Store) Dir() string { return s.dir }

// load indexes the item files in the directory, oldest first, and deletes
// the ones that cannot be sent: unfinished writes and damaged files.
func (s *Store) load() error {
	files, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: reading %s: %w", s.dir, err)
	}
	var discarded, lost int
	for _, f := range files { // sorted by name, so by sequence
		name := f.Name()
		ext := filepath.Ext(name)
		seq, perr := strconv.ParseUint(strings.TrimSuffix(name, ext), 16, 64)
		if !f.Type().IsRegular() || (ext != itemExt && ext != tmpExt) || perr != nil {
			continue // not ours (the lock file, pid-* directories)
		}
		path := filepath.Join(s.dir, name)
		h, err := inspect(path)
		if ext == tmpExt || err != nil {
			route, records := h.route, int(h.records)
			if errors.Is(err, errUnreadable) {
				route, records = 0, 1
			}
			s.opts.Logger.Debug("Discarding damaged spool file", zap.String("file", path), zap.Error(err))
			s.unlink(path)
			s.opts.OnDrop(route, Corrupt, records)
			discarded++
			lost += records
			continue
		}
		s.add(&entry{Item: Item{Seq: seq, Route: h.route, Size: int(h.length), Records: int(h.records), Enqueued: time.Unix(0, h.enqueued)}})
		s.next = max(s.next, seq+1)
	}
	if discarded > 0 {
		s.opts.Logger.Warn("Discarded damaged spool files left by an earlier process",
			zap.Int("files", discarded), zap.Int("records", lost), zap.String("directory", s.dir))
	}
	if len(s.entries) > 0 {
		s.opts.Logger.Info("Spool holds data from an earlier process; sending it",
			zap.Int("records", s.records), zap.Int64("bytes", s.bytes), zap.String("directory", s.dir))
	}
	return nil
}

// inspect reads an item file's header and checks the file's length against
// it; the payload's checksum is checked when it is read for sending, so that
// a cold start does not read the whole backlog.
func inspect(path string) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, errors.Join(errUnreadable, err)
	}
	defer f.Close()
	var b [headerSize]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return header{}, errUnreadable
	}
	h, err := parseHeader(b[:])
	if err != nil {
		return h, err
	}
	info, err := f.Stat()
	if err != nil || info.Size() != headerSize+int64(h.length) {
		return h, errDamaged
	}
	return h, nil
}

// Put stores payload as the newest item of route, dropping the oldest items
// of any route when the spool would exceed MaxSize. A failed write (a full
// /tmp) drops the oldest items once more and retries; if it still fails the
// records are counted as WriteFailed. It returns the item's sequence number.
func (s *Store) Put(route Route, payload []byte, records int) (uint64, error) {
	size := int64(headerSize + len(payload))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.opts.OnDrop(route, Shutdown, records)
		return 0, ErrClosed
	}
	if size > s.opts.MaxSize || len(payload) >= math.MaxUint32 {
		s.opts.OnDrop(route, SpoolFull, records)
		return 0, fmt.Errorf("%w: %d bytes, max_size is %d", ErrTooLarge, size, s.opts.MaxSize)
	}
	s.evict(func() bool { return s.bytes+size <= s.opts.MaxSize })
	e := &entry{Item: Item{Seq: s.next, Route: route, Size: len(payload), Records: records, Enqueued: s.opts.Now()}}
	s.next++
	err := s.write(e.Item, payload)
	if err != nil && s.bytes > 0 {
		target := s.bytes - size
		s.evict(func() bool { return s.bytes <= target })
		err = s.write(e.Item, payload)
	}
	if err != nil {
		s.opts.OnDrop(route, WriteFailed, records)
		return 0, fmt.Errorf("spool: writing %d records: %w", records, err)
	}
	s.add(e)
	return e.Seq, nil
}

// write writes an item file atomically: a reader (or the next process) sees
// the whole file or none. There is no fsync: the spool must survive the
// process, not the machine, and /tmp ends with the Lambda environment anyway.
func (s *Store) write(it Item, payload []byte) error {
	hdr := newHeader(it.Route, it.Records, it.Enqueued.UnixNano(), payload).encode()
	tmp := s.path(it.Seq, tmpExt)
	err := s.create(tmp, hdr[:], payload)
	if err == nil {
		err = os.Rename(tmp, s.path(it.Seq, itemExt))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func createFile(path string, chunks ...[]byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if _, err = f.Write(c); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) path(seq uint64, ext string) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", seq, ext))
}

func (s *Store) add(e *entry) {
	q := s.routes[e.Route]
	if q == nil {
		q = &queue{}
		s.routes[e.Route] = q
	}
	q.entries = append(q.entries, e)
	q.records += e.Records
	s.entries[e.Seq] = e
	s.bytes += headerSize + int64(e.Size)
	s.records += e.Records
}

// remove deletes an item's file and its index entry.
func (s *Store) remove(e *entry) {
	s.unlink(s.path(e.Seq, itemExt))
	e.removed = true
	delete(s.entries, e.Seq)
	s.routes[e.Route].records -= e.Records
	s.bytes -= headerSize + int64(e.Size)
	s.records -= e.Records
}

func (s *Store) unlink(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		// The item would come back at the next start and be sent twice.
		s.opts.Logger.Warn("Cannot delete spool file", zap.Error(err))
	}
}

// evict drops the oldest items of any route until done reports true or the
// store is empty. Items in flight are settled when their send ends.
func (s *Store) evict(done func() bool) {
	removed := false
	for !done() {
		e := s.oldest()
		if e == nil {
			break
		}
		s.remove(e)
		removed = true
		if e.inflight {
			s.evicted[e.Seq] = e.Item
		} else {
			s.opts.OnDrop(e.Route, SpoolFull, e.Records)
		}
	}
	if removed {
		s.opts.OnRemove()
	}
}

func (s *Store) oldest() *entry {
	var old *entry
	for _, q := range s.routes {
		if e := q.front(); e != nil && (old == nil || e.Seq < old.Seq) {
			old = e
		}
	}
	return old
}

// Take marks the oldest waiting items of route as in flight and returns
// them: as many as fit in maxBytes of payload, and at least one.
func (s *Store) Take(route Route, maxBytes int) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.routes[route]
	if q == nil {
		return nil
	}
	var items []Item
	total := 0
	for _, e := range q.entries {
		if e.removed || e.inflight {
			continue
		}
		if len(items) > 0 && total+e.Size > maxBytes {
			break
		}
		e.inflight = true
		items = append(items, e.Item)
		total += e.Size
	}
	return items
}

// Read returns a taken item's payload. A file that is missing, damaged or
// does not match the index is dropped (counted Corrupt) and ErrGone returned.
func (s *Store) Read(it Item) ([]byte, error) {
	b, err := os.ReadFile(s.path(it.Seq, itemExt))
	var payload []byte
	if err == nil {
		var h header
		h, payload, err = decode(b)
		if err == nil && (h.route != it.Route || int(h.records) != it.Records) {
			err = errDamaged
		}
	}
	if err == nil {
		return payload, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settleEvicted(it.Seq) {
		return nil, ErrGone
	}
	e := s.entries[it.Seq]
	if e == nil {
		return nil, ErrGone
	}
	s.remove(e)
	s.opts.OnDrop(e.Route, Corrupt, e.Records)
	s.opts.OnRemove()
	s.opts.Logger.Warn("Dropped a damaged spool item", zap.Int("records", e.Records), zap.Error(err))
	return nil, fmt.Errorf("%w: %w", ErrGone, err)
}

// settleEvicted counts an item evicted in flight as lost, if it was.
func (s *Store) settleEvicted(seq uint64) bool {
	it, ok := s.evicted[seq]
	if ok {
		delete(s.evicted, seq)
		s.opts.OnDrop(it.Route, SpoolFull, it.Records)
	}
	return ok
}

// Ack removes delivered items.
func (s *Store) Ack(items []Item) {
	s.settle(items, func(e *entry) { s.remove(e) }, func(seq uint64) { delete(s.evicted, seq) })
}

// Release puts taken items back, to be taken again.
func (s *Store) Release(items []Item) {
	s.settle(items, func(e *entry) { e.inflight = false }, func(seq uint64) { s.settleEvicted(seq) })
}

// Drop removes items that will not be delivered and counts them.
func (s *Store) Drop(items []Item, reason Reason) {
	s.settle(items, func(e *entry) {
		s.remove(e)
		s.opts.OnDrop(e.Route, reason, e.Records)
	}, func(seq uint64) { s.settleEvicted(seq) })
}

// settle ends the flight of taken items: held ones go through held, ones
// evicted meanwhile through evicted.
func (s *Store) settle(items []Item, held func(*entry), evicted func(seq uint64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if e := s.entries[it.Seq]; e != nil {
			held(e)
		} else if _, ok := s.evicted[it.Seq]; ok {
			evicted(it.Seq)
		}
	}
	s.opts.OnRemove()
}

// DropAll drops every item of every route and returns the records dropped.
func (s *Store) DropAll(reason Reason) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		s.remove(e)
		s.opts.OnDrop(e.Route, reason, e.Records)
		n += e.Records
	}
	for seq, it := range s.evicted {
		delete(s.evicted, seq)
		s.opts.OnDrop(it.Route, reason, it.Records)
		n += it.Records
	}
	s.opts.OnRemove()
	return n
}

// Pending reports whether route has items waiting to be taken.
func (s *Store) Pending(route Route) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.routes[route]
	if q == nil {
		return false
	}
	for _, e := range q.entries {
		if !e.removed && !e.inflight {
			return true
		}
	}
	return false
}

// Oldest returns route's oldest item, waiting or in flight.
func (s *Store) Oldest(route Route) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.routes[route]; q != nil {
		if e := q.front(); e != nil {
			return e.Item, true
		}
	}
	return Item{}, false
}

// LastSeq is the sequence number of the newest item ever put (0 for none).
func (s *Store) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next - 1
}

// Stats describe what the store holds.
type Stats struct {
	Items   int
	Records int
	Bytes   int64
	// Oldest is the enqueue time of the oldest item; zero when empty.
	Oldest time.Time
}

// Stats returns what the store holds in all routes.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Items: len(s.entries), Records: s.records, Bytes: s.bytes}
	if e := s.oldest(); e != nil {
		st.Oldest = e.Enqueued
	}
	return st
}

// Records returns the records route holds.
func (s *Store) Records(route Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.routes[route]; q != nil {
		return q.records
	}
	return 0
}

// Close stops accepting items and releases the directory, leaving the items
// on disk for the next process. A private directory is removed if empty.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	empty := len(s.entries) == 0
	s.mu.Unlock()
	if s.private && empty {
		_ = os.Remove(filepath.Join(s.dir, lockName))
	}
	err := s.lock.Close()
	if s.private && empty {
		_ = os.Remove(s.dir) // fails, harmlessly, if something else is in it
	}
	return err
}
