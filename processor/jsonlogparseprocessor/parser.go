package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambda-o11y/otelcol-lambda/internal/levelword"
	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"
)

// invocationIDAttribute receives the request id of a runtime text prefix
// (semantic conventions' faas.invocation_id, as the Lambda receivers use).
const invocationIDAttribute = "faas.invocation_id"

// outcome is what happened to one record.
type outcome uint8

const (
	parsed outcome = iota
	notJSON
	malformed
)

// counts accumulates one batch's internal metrics.
type counts struct {
	parsed, notJSON, malformed, invalidIDs, invalidTimestamps, attrsDropped, truncated int64
}

// parser is the compiled configuration, immutable and shared by all calls.
type parser struct {
	cfg *Config
	// fields maps a field path to the role slots it fills, laid out as
	// [body fields][severity fields][timestamp fields][implied level
	// markers][request id fields][3 per trace candidate], and marks the
	// proper dotted prefixes of those paths, so nested objects are only
	// searched when a path can lie inside them. The trace candidates'
	// paths also match in any ASCII case, through foldedFields, which is
	// only asked when fields has no trace entry for a key: loggers write
	// the same names as traceId, TraceId (.NET Activity, Serilog) or
	// traceID (Go), and no logger gives two spellings different meanings.
	fields, foldedFields fieldTable
	// shapes is the union of both tables' shapes, one test for most keys.
	shapes                                            [256]uint64
	sevBase, timeBase, impliedBase, idBase, traceBase int
	nSlots                                            int
	// zone is timestamp_zone, nil for UTC.
	zone *time.Location
	// notFound is found's reset value: every slot -1.
	notFound                     []int32
	maxDepth, maxAttrs, maxValue int
	flatten, skywalking          bool
	pool                         sync.Pool
}

func newParser(cfg *Config) *parser {
	p := &parser{
		cfg:        cfg,
		maxDepth:   cfg.Limits.MaxDepth,
		maxAttrs:   cfg.Limits.MaxAttributes,
		maxValue:   cfg.Limits.MaxValueBytes,
		flatten:    cfg.Flatten.Enabled || cfg.SkyWalking.Enabled,
		skywalking: cfg.SkyWalking.Enabled,
	}
	p.zone, _ = loadZone(cfg.TimestampZone) // Validate has checked it
	entries, folded := map[string]*fieldEntry{}, map[string]*fieldEntry{}
	entry := func(m map[string]*fieldEntry, key string) *fieldEntry {
		if m[key] == nil {
			m[key] = &fieldEntry{key: key}
		}
		return m[key]
	}
	// addTo files path's slot under path in m and marks its dotted prefixes.
	addTo := func(m map[string]*fieldEntry, path string) {
		e := entry(m, path)
		e.slots = append(e.slots, int32(p.nSlots))
		for i := strings.IndexByte(path, '.'); i > 0; i = nextDot(path, i) {
			entry(m, path[:i]).prefix = true
		}
	}
	add := func(path string) {
		if path != "" {
			addTo(entries, path)
		}
		p.nSlots++
	}
	// A trace path goes to folded; the exact table points its spelling
	// as configured (and its prefixes) there, saving the folded lookup.
	addTrace := func(path string) {
		if path != "" {
			f := foldASCII(path)
			addTo(folded, f)
			entry(entries, path).trace = folded[f]
			for i := strings.IndexByte(path, '.'); i > 0; i = nextDot(path, i) {
				entry(entries, path[:i]).trace = folded[f[:i]]
			}
		}
		p.nSlots++
	}
	for _, f := range cfg.BodyFields {
		add(f)
	}
	p.sevBase = p.nSlots
	for _, f := range cfg.Severity.Fields {
		add(f)
	}
	p.timeBase = p.nSlots
	for _, f := range cfg.TimestampFields {
		add(f)
	}
	p.impliedBase = p.nSlots
	for _, im := range cfg.Severity.Implied {
		add(im.Field)
	}
	p.idBase = p.nSlots
	for _, f := range cfg.RequestIDFields {
		add(f)
	}
	p.traceBase = p.nSlots
	for _, c := range cfg.TraceContext {
		addTrace(c.TraceID)
		addTrace(c.SpanID)
		addTrace(c.Flags)
	}
	p.fields = newFieldTable(entries, false)
	p.foldedFields = newFieldTable(folded, true)
	for c := range p.shapes {
		p.shapes[c] = p.fields.shapes[c] | p.foldedFields.shapes[c]
	}
	p.notFound = slices.Repeat([]int32{-1}, p.nSlots)
	p.pool.New = func() any {
		return &state{p: p, found: make([]int32, p.nSlots), foundPath: make([]string, p.nSlots)}
	}
	return p
}

// fieldTable finds role paths and prefixes. A small open-addressing table
// keyed on the length and three bytes beats a Go map here: most keys of a
// line are misses that stop at an empty slot, and a hit costs one compare.
type fieldTable struct {
	mask    uint32
	entries []fieldEntry
	// shapes has bit min(len, 63) of shapes[c] set when some key starts
	// with c (in either case in a folding table) and has that length:
	// most keys of a line fail this test and never touch the entries.
	shapes [256]uint64
	// fold makes lookups ignore ASCII case; keys are then stored folded.
	fold bool
}

type fieldEntry struct {
	key    string
	slots  []int32
	prefix bool
	// trace is the folded-table entry of a trace path (or a prefix of
	// one) spelled as configured.
	trace *fieldEntry
}

func newFieldTable(entries map[string]*fieldEntry, fold bool) fieldTable {
	size := 16
	for size < 4*len(entries) {
		size *= 2
	}
	t := fieldTable{mask: uint32(size - 1), entries: make([]fieldEntry, size), fold: fold}
	for _, e := range entries {
		i := t.hash(e.key) & t.mask
		for t.entries[i].key != "" {
			i = (i + 1) & t.mask
		}
		t.entries[i] = *e
		t.shapes[e.key[0]] |= shapeBit(e.key)
		if c := e.key[0]; fold && c >= 'a' && c <= 'z' {
			t.shapes[c-'a'+'A'] |= shapeBit(e.key)
		}
	}
	return t
}

// hash mixes the length and three bytes of k, folded to lower case in a
// folding table.
func (t *fieldTable) hash(k string) uint32 {
	n := len(k)
	a, b, c := k[0], k[n-1], k[n/2]
	if t.fold {
		a, b, c = lowerASCII[a], lowerASCII[b], lowerASCII[c]
	}
	return uint32(n)*0x9e3779b1 ^ uint32(a)*0x85ebca6b ^ uint32(b)*0xc2b2ae35 ^ uint32(c)*0x27d4eb2f
}

func shapeBit(k string) uint64 { return 1 << min(len(k), 63) }

// mayHold is the first test of a lookup, which most keys of a line fail;
// it inlines, probe does not. k is not empty.
func (t *fieldTable) mayHold(k string) bool { return t.shapes[k[0]]&shapeBit(k) != 0 }

// probe finds k's entry (in any ASCII case in a folding table), or nil.
func (t *fieldTable) probe(k string) *fieldEntry {
	for i := t.hash(k) & t.mask; ; i = (i + 1) & t.mask {
		e := &t.entries[i]
		switch {
		case e.key == "":
			return nil
		case e.key == k || t.fold && equalFoldASCII(e.key, k):
			return e
		}
	}
}

// lowerASCII maps A-Z to a-z and every other byte to itself.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c + 'a' - 'A')
	}
	return t
}()

// foldASCII is s with A-Z lowered; strings.ToLower would also fold
// non-ASCII letters, which a key can only match byte for byte.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII[c]
	}
	return string(b)
}

// equalFoldASCII reports whether folded (already lower case) equals k up
// to ASCII case.
func equalFoldASCII(folded, k string) bool {
	if len(folded) != len(k) {
		return false
	}
	for i := range len(k) {
		if folded[i] != lowerASCII[k[i]] {
			return false
		}
	}
	return true
}

func nextDot(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// state is one goroutine's scratch space, pooled so a batch allocates nothing
// but the pdata it produces.
type state struct {
	p     *parser
	sc    jsonscan.Scanner
	src   string
	buf   []byte
	key   []byte
	found []int32
	// foundPath is the path of the trace slots' tokens as written, to tell
	// a duplicate key (the last one wins) from another spelling (kept as
	// an attribute).
	foundPath []string
	skip      []int32
	// consumed marks the tokens in skip, so skipped answers in O(1) for
	// the scalar members that make up most of a line.
	consumed []bool
	// budget is the number of attributes this line may still add; -1 is unlimited.
	budget int
	c      counts
}

func (p *parser) getState() *state { return p.pool.Get().(*state) }

func (p *parser) putState(st *state) {
	// Keep the pool from pinning the scratch space of a huge line.
	if cap(st.sc.Tokens) > 1<<14 || cap(st.buf) > 1<<16 {
		return
	}
	st.src = ""
	p.pool.Put(st)
}

// parseRecord parses the record's source into the record. On any outcome
// other than parsed the record is left exactly as it was.
func (st *state) parseRecord(lr plog.LogRecord) outcome {
	p := st.p
	var src pcommon.Value
	if p.cfg.SourceAttribute != "" {
		v, ok := lr.Attributes().Get(p.cfg.SourceAttribute)
		if !ok {
			return notJSON
		}
		src = v
	} else {
		src = lr.Body()
	}
	if src.Type() != pcommon.ValueTypeStr {
		return notJSON
	}
	text := src.Str()
	var prefix runtimePrefix
	hasPrefix := false
	if i := skipSpace(text); i >= len(text) || text[i] != '{' {
		if !p.cfg.RuntimePrefixes {
			return notJSON
		}
		if prefix, hasPrefix = parseRuntimePrefix(text); !hasPrefix {
			return notJSON
		}
		text = text[prefix.jsonStart:]
	}
	if st.sc.Scan(text) != nil {
		return malformed
	}
	st.src = text
	st.skip = st.skip[:0]
	if n := len(st.sc.Tokens); cap(st.consumed) < n {
		st.consumed = make([]bool, n)
	} else {
		st.consumed = st.consumed[:n]
		clear(st.consumed)
	}
	copy(st.found, p.notFound)
	st.index(0, "")

	if p.cfg.SourceAttribute != "" {
		lr.Attributes().Remove(p.cfg.SourceAttribute)
	}
	if hasPrefix {
		lr.SetSeverityText(prefix.level)
		lr.SetSeverityNumber(levelword.Severity(prefix.level))
		lr.SetTimestamp(prefix.time)
		st.putInvocationID(lr, prefix.requestID)
	}
	body := st.pick(0, p.sevBase, func(int32) bool { return true })
	if st.pick(p.sevBase, p.timeBase, func(ti int32) bool { return st.applySeverity(lr, ti) }) < 0 {
		st.applyImpliedSeverity(lr)
	}
	st.pick(p.timeBase, p.impliedBase, func(ti int32) bool {
		if st.applyTimestamp(lr, ti) {
			return true
		}
		st.c.invalidTimestamps++
		return false
	})
	st.pick(p.idBase, p.traceBase, func(ti int32) bool {
		if st.sc.Tokens[ti].Kind != jsonscan.String {
			return false
		}
		st.putInvocationID(lr, st.str(ti))
		return true
	})
	st.applyTraceContext(lr)

	st.budget = -1
	if p.maxAttrs > 0 {
		st.budget = p.maxAttrs
	}
	attrs := lr.Attributes()
	dropped := st.c.attrsDropped
	if p.flatten {
		st.key = st.key[:0]
		st.flattenMembers(attrs, 0, 0)
	} else {
		st.putMembers(attrs, 0)
	}
	if d := st.c.attrsDropped - dropped; d > 0 {
		lr.SetDroppedAttributesCount(lr.DroppedAttributesCount() + uint32(d))
	}
	if body >= 0 {
		st.setBody(lr.Body(), body)
	}
	if p.skywalking {
		st.addSkyWalkingAttributes(lr)
	}
	return parsed
}

// index records, for every role path present, the token that holds it. A
// repeated key keeps its last occurrence, as encoding/json does, and the
// earlier one is skipped.
func (st *state) index(obj int32, path string) {
	toks := st.sc.Tokens
	for ci, n := obj+1, int32(0); n < toks[obj].Count; ci, n = toks[ci].Next, n+1 {
		key := st.keyOf(ci)
		if path != "" {
			key = path + "." + key
		}
		if key == "" || st.p.shapes[key[0]]&shapeBit(key) == 0 {
			continue // neither table can hold it: most keys
		}
		var e, te *fieldEntry
		if st.p.fields.mayHold(key) {
			e = st.p.fields.probe(key)
		}
		if e != nil {
			te = e.trace
		}
		if te == nil && st.p.foldedFields.mayHold(key) {
			te = st.p.foldedFields.probe(key)
		}
		if e == nil && te == nil {
			continue
		}
		prefix := false
		if e != nil {
			for _, slot := range e.slots {
				if prev := st.found[slot]; prev >= 0 {
					st.consume(prev) // a duplicate key: the last one wins
				}
				st.found[slot] = ci
			}
			prefix = e.prefix
		}
		if te != nil {
			st.fillTrace(te, ci, key)
			prefix = prefix || te.prefix
		}
		if prefix && toks[ci].Kind == jsonscan.Object {
			st.index(ci, key)
		}
	}
}

// fillTrace records token ti, at path key, for a trace entry's slots. As of
// a duplicate key the later of two spellings is used, but the earlier stays
// an attribute: it is not the same key.
func (st *state) fillTrace(e *fieldEntry, ti int32, key string) {
	for _, slot := range e.slots {
		if prev := st.found[slot]; prev >= 0 && st.foundPath[slot] == key {
			st.consume(prev)
		}
		st.found[slot], st.foundPath[slot] = ti, key
	}
}

// pick calls apply on the found tokens of slots [from, to) in order until one
// is applied, marks that one consumed and returns it (-1 if none).
func (st *state) pick(from, to int, apply func(int32) bool) int32 {
	for _, ti := range st.found[from:to] {
		if ti >= 0 && apply(ti) {
			st.consume(ti)
			return ti
		}
	}
	return -1
}

func (st *state) applySeverity(lr plog.LogRecord, ti int32) bool {
	switch t := &st.sc.Tokens[ti]; t.Kind {
	case jsonscan.String:
		text := st.str(ti)
		lr.SetSeverityText(text)
		lr.SetSeverityNumber(levelword.Severity(text))
		return true
	case jsonscan.Number:
		kind, v, _ := jsonscan.ParseNumber(st.raw(ti))
		if kind != jsonscan.Int {
			return false
		}
		n, ok := severityFromNumber(st.p.cfg.Severity.NumberScheme, v)
		if !ok {
			return false
		}
		lr.SetSeverityNumber(n)
		lr.SetSeverityText(severityName(n))
		return true
	}
	return false
}

// putInvocationID sets the request id of a runtime prefix or a request id
// field, sizing the attributes for the JSON members too so the map is
// allocated once.
func (st *state) putInvocationID(lr plog.LogRecord, id string) {
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrs.Len() + 1 + int(st.sc.Tokens[0].Count))
	attrs.PutStr(invocationIDAttribute, id)
}

// applyImpliedSeverity gives a line without a usable level the level its
// marker field implies, unless the record already has one (from a runtime
// prefix or upstream).
func (st *state) applyImpliedSeverity(lr plog.LogRecord) {
	if lr.SeverityNumber() != plog.SeverityNumberUnspecified || lr.SeverityText() != "" {
		return
	}
	for i, im := range st.p.cfg.Severity.Implied {
		if st.found[st.p.impliedBase+i] >= 0 {
			lr.SetSeverityText(im.Level)
			lr.SetSeverityNumber(levelword.Severity(im.Level))
			return
		}
	}
}

func (st *state) applyTimestamp(lr plog.LogRecord, ti int32) bool {
	var ts pcommon.Timestamp
	ok := false
	switch t := &st.sc.Tokens[ti]; t.Kind {
	case jsonscan.String:
		ts, ok = parseTimeText(st.str(ti), st.p.zone)
	case jsonscan.Number:
		switch kind, i, f := jsonscan.ParseNumber(st.raw(ti)); kind {
		case jsonscan.Int:
			ts, ok = epochTimestampInt(i)
		case jsonscan.Float:
			ts, ok = epochTimestamp(f)
		}
	}
	if ok {
		lr.SetTimestamp(ts)
	}
	return ok
}

// applyTraceContext takes the first candidate whose trace id is valid. Values
// that are not valid ids stay attributes and are counted.
//
// A span id and flags belong to the trace they came from: when the line
// names another trace than the record's (the invocation's, set by the
// receiver) and gives no span id or flags of its own, the record's are
// cleared rather than paired with a trace they are not part of.
func (st *state) applyTraceContext(lr plog.LogRecord) {
	for base := st.p.traceBase; base < st.p.nSlots; base += 3 {
		tiTrace, tiSpan, tiFlags := st.found[base], st.found[base+1], st.found[base+2]
		if tiTrace < 0 {
			continue
		}
		tv, ok := traceValue{}, false
		datadog := st.p.cfg.TraceContext[(base-st.p.traceBase)/3].Encoding == encodingDatadog
		switch {
		case datadog:
			id, low, full, valid := parseDatadogTraceID(st.idText(tiTrace))
			if valid && !full {
				// Only the low half: defined only for the record's own trace.
				own := lr.TraceID()
				if own.IsEmpty() || binary.BigEndian.Uint64(own[8:]) != low {
					continue // another trace, unknown: it stays an attribute
				}
				id = own
			}
			tv.traceID, ok = id, valid
		case st.sc.Tokens[tiTrace].Kind == jsonscan.String:
			tv, ok = parseTraceValue(st.str(tiTrace))
		}
		if !ok {
			st.c.invalidIDs++
			continue
		}
		if lr.TraceID() != tv.traceID {
			lr.SetTraceID(tv.traceID)
			lr.SetSpanID(pcommon.SpanID{})
			lr.SetFlags(0)
		}
		st.consume(tiTrace)
		switch {
		case tv.hasSpan:
			lr.SetSpanID(tv.spanID)
		case tiSpan >= 0:
			if id, ok := st.spanID(tiSpan, datadog); ok {
				lr.SetSpanID(id)
				st.consume(tiSpan)
			} else {
				st.c.invalidIDs++
			}
		}
		switch {
		case tv.hasFlags:
			lr.SetFlags(plog.LogRecordFlags(tv.flags))
		case tiFlags >= 0:
			if f, ok := st.flags(tiFlags); ok {
				lr.SetFlags(plog.LogRecordFlags(f))
				st.consume(tiFlags)
			} else {
				st.c.invalidIDs++
			}
		}
		return
	}
}

// spanID reads a span id field: 16 hex digits, or Datadog's decimal.
func (st *state) spanID(ti int32, datadog bool) (pcommon.SpanID, bool) {
	if datadog {
		return parseDatadogSpanID(st.idText(ti))
	}
	return parseSpanID(st.strOf(ti))
}

// flags reads trace flags written as a hex byte ("01"), a number or a bool
// (Python's otelTraceSampled).
func (st *state) flags(ti int32) (uint32, bool) {
	switch st.sc.Tokens[ti].Kind {
	case jsonscan.String:
		return parseFlagsText(st.str(ti))
	case jsonscan.Number:
		if kind, v, _ := jsonscan.ParseNumber(st.raw(ti)); kind == jsonscan.Int && v >= 0 && v <= 0xff {
			return uint32(v), true
		}
	case jsonscan.True:
		return 1, true
	case jsonscan.False:
		return 0, true
	}
	return 0, false
}

func (st *state) setBody(body pcommon.Value, ti int32) {
	switch t := &st.sc.Tokens[ti]; {
	case t.Kind == jsonscan.String:
		body.SetStr(st.str(ti))
	case st.p.skywalking:
		// SkyWalking keeps only string bodies: carry the JSON text.
		body.SetStr(st.raw(ti))
	default:
		st.setValue(body, ti)
	}
}

func (st *state) addSkyWalkingAttributes(lr plog.LogRecord) {
	addSkyWalkingAttributes(lr, st.p.cfg.SkyWalking)
}

// shapeForSkyWalking makes a record this processor did not parse meet
// SkyWalking's contract too: a string body and the correlation attributes.
func shapeForSkyWalking(lr plog.LogRecord, sw SkyWalkingConfig) {
	if body := lr.Body(); body.Type() != pcommon.ValueTypeStr && body.Type() != pcommon.ValueTypeEmpty {
		body.SetStr(body.AsString())
	}
	addSkyWalkingAttributes(lr, sw)
}

func addSkyWalkingAttributes(lr plog.LogRecord, sw SkyWalkingConfig) {
	attrs := lr.Attributes()
	if text := lr.SeverityText(); text != "" {
		attrs.PutStr(sw.LevelAttribute, text)
	} else if n := lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
		attrs.PutStr(sw.LevelAttribute, severityName(n))
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		attrs.PutStr(sw.TraceIDAttribute, hex.EncodeToString(id[:]))
	}
	if id := lr.SpanID(); !id.IsEmpty() && sw.SpanIDAttribute != "" {
		attrs.PutStr(sw.SpanIDAttribute, hex.EncodeToString(id[:]))
	}
}

// putMembers adds the object's members to m, keeping nested objects as maps.
func (st *state) putMembers(m pcommon.Map, obj int32) {
	toks := st.sc.Tokens
	n := int(toks[obj].Count)
	for _, ti := range st.skip {
		if toks[ti].Depth == toks[obj].Depth+1 && ti > obj && ti < toks[obj].Next {
			n--
		}
	}
	m.EnsureCapacity(m.Len() + n)
	for ci, n := obj+1, int32(0); n < toks[obj].Count; ci, n = toks[ci].Next, n+1 {
		if st.skipped(ci) || !st.takeBudget() {
			continue
		}
		st.putValue(m, st.keyOf(ci), ci)
	}
}

// flattenMembers adds the object's leaves to m under keys joined with the
// separator; st.key[:prefixLen] holds the path so far.
func (st *state) flattenMembers(m pcommon.Map, obj int32, prefixLen int) {
	toks := st.sc.Tokens
	sep := st.p.cfg.Flatten.Separator
	for ci, n := obj+1, int32(0); n < toks[obj].Count; ci, n = toks[ci].Next, n+1 {
		if st.skipped(ci) {
			continue
		}
		c := &toks[ci]
		if c.Kind == jsonscan.Object && c.Count > 0 && !st.tooDeep(c) {
			st.key = append(st.appendKey(st.key[:prefixLen], ci), sep...)
			st.flattenMembers(m, ci, len(st.key))
			continue
		}
		if !st.takeBudget() {
			continue
		}
		var name string
		if prefixLen == 0 {
			name = st.keyOf(ci)
		} else {
			st.key = st.appendKey(st.key[:prefixLen], ci)
			name = string(st.key)
		}
		st.putValue(m, name, ci)
	}
}

// putValue is setValue for a map member; it takes the Put* shortcuts, which
// skip creating and then replacing an empty value.
func (st *state) putValue(m pcommon.Map, key string, ti int32) {
	switch t := &st.sc.Tokens[ti]; t.Kind {
	case jsonscan.Null:
		m.PutEmpty(key)
	case jsonscan.True, jsonscan.False:
		m.PutBool(key, t.Kind == jsonscan.True)
	case jsonscan.String:
		m.PutStr(key, st.limit(st.str(ti)))
	case jsonscan.Number:
		switch kind, i, f, text := st.number(ti); kind {
		case jsonscan.Int:
			m.PutInt(key, i)
		case jsonscan.Float:
			m.PutDouble(key, f)
		default:
			m.PutStr(key, text)
		}
	case jsonscan.Object:
		if st.keepAsText(t) {
			m.PutStr(key, st.limit(st.raw(ti)))
			return
		}
		st.putMembers(m.PutEmptyMap(key), ti)
	case jsonscan.Array:
		if st.keepAsText(t) {
			m.PutStr(key, st.limit(st.raw(ti)))
			return
		}
		st.appendElements(m.PutEmptySlice(key), ti)
	}
}

// setValue stores token ti in v.
func (st *state) setValue(v pcommon.Value, ti int32) {
	t := &st.sc.Tokens[ti]
	switch t.Kind {
	case jsonscan.Null:
		// An empty value is pdata's null.
	case jsonscan.True:
		v.SetBool(true)
	case jsonscan.False:
		v.SetBool(false)
	case jsonscan.Number:
		switch kind, i, f, text := st.number(ti); kind {
		case jsonscan.Int:
			v.SetInt(i)
		case jsonscan.Float:
			v.SetDouble(f)
		default:
			v.SetStr(text)
		}
	case jsonscan.String:
		v.SetStr(st.limit(st.str(ti)))
	case jsonscan.Object:
		if st.keepAsText(t) {
			v.SetStr(st.limit(st.raw(ti)))
			return
		}
		st.putMembers(v.SetEmptyMap(), ti)
	case jsonscan.Array:
		if st.keepAsText(t) {
			v.SetStr(st.limit(st.raw(ti)))
			return
		}
		st.appendElements(v.SetEmptySlice(), ti)
	}
}

// appendElements adds the array's elements to s.
func (st *state) appendElements(s pcommon.Slice, arr int32) {
	t := &st.sc.Tokens[arr]
	s.EnsureCapacity(int(t.Count))
	for ci, n := arr+1, int32(0); n < t.Count; ci, n = st.sc.Tokens[ci].Next, n+1 {
		st.setValue(s.AppendEmpty(), ci)
	}
}

// keepAsText reports that a container is kept as its JSON text: deeper than
// limits::max_depth, or any container in SkyWalking mode.
func (st *state) keepAsText(t *jsonscan.Token) bool {
	return st.p.skywalking || st.tooDeep(t)
}

// tooDeep reports whether a container would nest attribute maps deeper than
// limits::max_depth; the root is depth 1, so its members' maps are level 1.
func (st *state) tooDeep(t *jsonscan.Token) bool {
	return st.p.maxDepth > 0 && int(t.Depth)-1 > st.p.maxDepth
}

func (st *state) takeBudget() bool {
	switch {
	case st.budget < 0:
		return true
	case st.budget == 0:
		st.c.attrsDropped++
		return false
	}
	st.budget--
	return true
}

// skipped reports that a member was consumed (or shadowed by a later
// duplicate), or is an object that only held consumed members, such as the
// {"trace":{"id":...}} left after taking trace.id.
func (st *state) skipped(ti int32) bool {
	if st.consumed[ti] {
		return true
	}
	t := &st.sc.Tokens[ti]
	if t.Kind != jsonscan.Object {
		return false
	}
	holds := false
	for _, s := range st.skip {
		holds = holds || s > ti && s < t.Next
	}
	if !holds {
		return false
	}
	for ci, n := ti+1, int32(0); n < t.Count; ci, n = st.sc.Tokens[ci].Next, n+1 {
		if !st.skipped(ci) {
			return false
		}
	}
	return true
}

// consume marks token ti as taken by a role (or shadowed), so it is not
// also added as an attribute.
func (st *state) consume(ti int32) {
	st.skip = append(st.skip, ti)
	st.consumed[ti] = true
}

// limit truncates s to limits::max_value_bytes at a UTF-8 boundary.
func (st *state) limit(s string) string {
	n := st.p.maxValue
	if n == 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	st.c.truncated++
	return s[:n]
}

// number converts a number token; text is its source, kept when the value
// is beyond float64.
func (st *state) number(ti int32) (jsonscan.NumberKind, int64, float64, string) {
	text := st.raw(ti)
	kind, i, f := jsonscan.ParseNumber(text)
	return kind, i, f, text
}

// raw is the token's source text (for strings, without the quotes).
func (st *state) raw(ti int32) string {
	t := &st.sc.Tokens[ti]
	return st.src[t.Start:t.End]
}

// str is a string token's decoded value; it aliases the source unless the
// string has escapes or non-ASCII bytes that need checking.
func (st *state) str(ti int32) string {
	t := &st.sc.Tokens[ti]
	if !t.Raw {
		return st.src[t.Start:t.End]
	}
	return st.decode(st.src[t.Start:t.End])
}

// strOf is str for string tokens and "" for anything else.
func (st *state) strOf(ti int32) string {
	if st.sc.Tokens[ti].Kind != jsonscan.String {
		return ""
	}
	return st.str(ti)
}

// idText is an id field's text: a string's value or a number's digits
// (Datadog ids may be written as numbers), "" for anything else.
func (st *state) idText(ti int32) string {
	switch st.sc.Tokens[ti].Kind {
	case jsonscan.String:
		return st.str(ti)
	case jsonscan.Number:
		return st.raw(ti)
	}
	return ""
}

func (st *state) keyOf(ti int32) string {
	t := &st.sc.Tokens[ti]
	if !t.KeyRaw {
		return st.src[t.KeyStart:t.KeyEnd]
	}
	return st.decode(st.src[t.KeyStart:t.KeyEnd])
}

func (st *state) appendKey(dst []byte, ti int32) []byte {
	t := &st.sc.Tokens[ti]
	q := st.src[t.KeyStart:t.KeyEnd]
	if !t.KeyRaw || isPlainUTF8(q) {
		return append(dst, q...)
	}
	return jsonscan.Unquote(dst, q)
}

// decode is the slow path of str and keyOf, for strings the scanner marked
// as having escapes or non-ASCII bytes.
func (st *state) decode(q string) string {
	if isPlainUTF8(q) {
		return q
	}
	st.buf = jsonscan.Unquote(st.buf[:0], q)
	return string(st.buf)
}

// isPlainUTF8 reports that a string body without escapes is valid UTF-8 and
// so equals its decoded form.
func isPlainUTF8(q string) bool {
	return strings.IndexByte(q, '\\') < 0 && utf8.ValidString(q)
}

func skipSpace(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
