package dcat

// Streaming assembly of datasets, with flat memory on large catalogues.
//
// An unpaged catalogue (an ODS export of 100k datasets is ~1.6 M triples)
// must not be held whole. Datasets are emitted as soon as they are provably
// complete, in two passes:
//
//  1. The parser streams triples. Only the predicates the mapper reads are
//     kept (mapperPredicates); they are appended to a compact binary spool
//     (memory, then a temporary file past spoolMemLimit). Each node gets a
//     number on first sight (a hash index, 8 bytes of key and 4 of number per
//     node, for pass 1 only) and the pass records, by number, the index of
//     its last triple as subject and the number of kept triples that point
//     at it (8 bytes per node). The spool carries the numbers, so pass 2
//     never hashes a node again; repeated short values go through a small
//     dictionary (appendValue).
//  2. The spool is replayed into a graph. A dcat:Dataset D is emitted when
//     every node the mapper may read for it (D and the nodes within two
//     links of it) has had its last triple replayed: no later triple can
//     change the record. So a dataset is never emitted before all its
//     triples are read, whatever the layout of the document; a document
//     that groups each dataset's description (ckanext-dcat, ODS, udata
//     nested exports) is assembled and flushed one dataset at a time, and
//     one that describes distributions after all datasets degrades to the
//     full graph, as before.
//  3. A node's triples are dropped once all its triples were replayed and
//     every node pointing at it was dropped (emitted datasets first), so
//     shared nodes (publisher, licence, themes) stay while needed.

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"

	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
)

// mapperPredicates lists every predicate dataset(), distribution(), label()
// and paging() read. A predicate the mapper starts reading must be added here.
var mapperPredicates = []string{
	nsRDF + "type", nsRDF + "value",
	nsDCT + "identifier", nsADMS + "identifier", nsDCT + "title", nsDCT + "description",
	nsDCAT + "keyword", nsDCAT + "theme", nsDCAT + "landingPage", nsFOAF + "page",
	nsSchema + "url", nsFOAF + "homepage", nsDCT + "language", nsDCT + "publisher",
	nsDCAT + "contactPoint", nsVCARD + "fn", nsVCARD + "organization-name", nsFOAF + "name",
	nsVCARD + "hasEmail", nsFOAF + "mbox", nsVCARD + "hasURL", nsDCT + "issued", nsDCT + "modified",
	nsDCT + "accrualPeriodicity", nsDCT + "temporal", nsDCAT + "startDate", nsSchema + "startDate",
	nsDCAT + "endDate", nsSchema + "endDate", nsDCT + "spatial", nsDCT + "conformsTo",
	nsDCT + "license", nsDCT + "rights", nsDCAT + "distribution", nsDCAT + "accessURL",
	nsDCAT + "downloadURL", nsDCAT + "mediaType", nsDCT + "format", nsDCAT + "byteSize",
	nsSKOS + "prefLabel", nsRDFS + "label", nsSchema + "name",
	nsHydra + "next", nsHydra + "nextPage", nsHydra + "totalItems",
	nsOWL + "sameAs", nsSKOS + "notation",
}

var predicateID = func() map[string]uint32 {
	m := make(map[string]uint32, len(mapperPredicates))
	for i, p := range mapperPredicates {
		m[p] = uint32(i)
	}
	return m
}()

// spoolMemLimit is the spool size kept in memory before it moves to a file
// (a variable for the tests).
var spoolMemLimit = 8 << 20

// nodeMeta is what the two passes know of a node (an IRI or blank node
// seen as a subject, or as the object of a kept triple). Nodes are numbered
// from 1 in pass 1, and the spool carries the numbers, so that pass 2 finds
// a node's entry by index rather than by hashing its name again.
type nodeMeta struct {
	last uint32 // index+1 of the node's last kept triple as subject (0: none)
	refs uint32 // kept triples whose object is the node; pass 2: those not yet dropped
}

// metaTable holds the nodeMeta of every node, in chunks: growing it never
// copies it, and it takes no more than it holds (it is, with the hash
// index of pass 1, what grows with the document).
type metaTable struct {
	chunks [][]nodeMeta
	n      uint32 // entries, the unused index 0 included
}

const metaChunk = 1 << 14

func newMetaTable() metaTable {
	return metaTable{chunks: [][]nodeMeta{make([]nodeMeta, metaChunk)}, n: 1}
}

func (m *metaTable) at(id uint32) *nodeMeta { return &m.chunks[id/metaChunk][id%metaChunk] }

// add returns the index of a new entry.
func (m *metaTable) add() uint32 {
	if int(m.n/metaChunk) == len(m.chunks) {
		m.chunks = append(m.chunks, make([]nodeMeta, metaChunk))
	}
	m.n++
	return m.n - 1
}

// pendingBit marks a dataset waiting in the heap of pass 2 (in marks, by
// node index, beside the visit stamps of need).
const pendingBit = 1 << 31

// bnodeHashMix tells a blank node's hash from the hash of an IRI spelt
// like its label.
const bnodeHashMix = 0x9e3779b97f4a7c15

// spooler is pass 1.
type spooler struct {
	seed    maphash.Seed
	ids     map[uint64]uint32 // node hash -> index in meta (pass 1 only)
	meta    metaTable         // by node index
	n       uint32            // kept triples
	mem     bytes.Buffer
	file    *os.File
	w       *bufio.Writer
	prevS   rdf.Term
	prevSID uint32 // the node index of prevS
	lastSID uint32 // the subject of the last record written
	// recent and shared drop a triple given again: a node shared by the
	// datasets is often described again with each of them (the same
	// dct:Location under every dataset of an ODS export, a publisher), and
	// RDF is a set of triples. Without them, such a node gathers one copy
	// of its description per dataset (reading its label gets linear in
	// the catalogue, the whole read quadratic), and its last triple moves
	// to the end of the document, so that no dataset can be emitted before
	// it. shared holds the hashes of the triples of shared nodes (that two
	// kept triples point at): few, and kept to the end, so that a shared
	// node's last triple stays at its first description. recent, of fixed
	// size, holds the hashes of the other triples kept lately, which
	// catches a repeat made before its node is known to be shared (RDF/XML
	// types a node before linking it); a repeat it forgot is kept, which
	// is harmless.
	recent  *[recentSlots]uint64
	shared  map[uint64]struct{}
	strings map[string]uint32 // interned langs and datatypes
	strtab  []string
	lastStr [2]struct { // the last lang and datatype interned
		s  string
		id uint32
	}
	preds    [64]predSlot // cache of predicateID
	subjects [subjectSlots]uint32
	dict     [dictSlots]string
	scratch  []byte
	err      error
	// What pass 2 held at most, for the tests: subjects in the graph, and
	// triples of one subject.
	peakSubjects, peakTriples int
}

type predSlot struct {
	p  string
	id int32 // -1: not a mapper predicate
}

// The spool's dictionary: object values of at most dictMaxLen bytes
// (class and vocabulary IRIs, licences, formats, keywords, dates...) go
// through a direct-mapped table of dictSlots entries, written once and then
// referred to by slot while they stay there. It makes the spool smaller and
// saves pass 2 a string per repeated value.
const (
	dictSlots  = 4096
	dictMaxLen = 128
)

func newSpooler() *spooler {
	return &spooler{seed: maphash.MakeSeed(), ids: map[uint64]uint32{}, meta: newMetaTable(), recent: new([recentSlots]uint64), shared: map[uint64]struct{}{},
		strings: map[string]uint32{"": 0}, strtab: []string{""}}
}

// predicate returns the index of a mapper predicate, or -1. Parsers
// usually hand out the same string for a predicate all along a document:
// a small cache compared by value (cheap when the strings are the same)
// spares most map lookups.
func (sp *spooler) predicate(p string) int32 {
	if len(p) < 2 {
		return -1
	}
	slot := &sp.preds[(len(p)*7^int(p[len(p)-1])^int(p[len(p)-2])<<3)&63]
	if slot.p == p {
		return slot.id
	}
	id, ok := predicateID[p]
	slot.p, slot.id = p, int32(id)
	if !ok {
		slot.id = -1
	}
	return slot.id
}

// appendValue appends an object value (h its maphash with sp.seed):
// uvarint(slot<<1|1) when it is in the dictionary, else uvarint(len<<1),
// the slot to keep it in for a short value, and its bytes.
func (sp *spooler) appendValue(b []byte, s string, h uint64) []byte {
	if len(s) == 0 || len(s) > dictMaxLen {
		b = binary.AppendUvarint(b, uint64(len(s))<<1)
		return append(b, s...)
	}
	slot := h & (dictSlots - 1)
	if sp.dict[slot] == s {
		return binary.AppendUvarint(b, slot<<1|1)
	}
	sp.dict[slot] = s
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	b = binary.AppendUvarint(b, slot)
	return append(b, s...)
}

// readValue reads what appendValue wrote, keeping dict in step.
func readValue(br *bufio.Reader, dict *[dictSlots]string, buf []byte) (string, []byte, error) {
	v, err := binary.ReadUvarint(br)
	if err != nil {
		return "", buf, errCorrupt
	}
	if v&1 == 1 {
		if v>>1 >= dictSlots {
			return "", buf, errCorrupt
		}
		return dict[v>>1], buf, nil
	}
	n := v >> 1
	slot := uint64(dictSlots)
	if n > 0 && n <= dictMaxLen {
		if slot, err = binary.ReadUvarint(br); err != nil || slot >= dictSlots {
			return "", buf, errCorrupt
		}
	}
	if buf, err = readBytes(br, buf, n); err != nil {
		return "", buf, err
	}
	s := string(buf)
	if slot < dictSlots {
		dict[slot] = s
	}
	return s, buf, nil
}

var errCorrupt = errors.New("dcat: spool: corrupt record")

// internLast interns a lang (i 0) or datatype (i 1), the last one first.
func (sp *spooler) internLast(i int, s string) uint32 {
	if l := &sp.lastStr[i]; l.s == s {
		return l.id
	}
	id := sp.intern(s)
	sp.lastStr[i].s, sp.lastStr[i].id = s, id
	return id
}

// nodeID returns the index of a node, numbering it on first sight.
func (sp *spooler) nodeID(t rdf.Term) (uint32, error) {
	h := maphash.String(sp.seed, t.Value)
	if t.Kind == rdf.BlankNode {
		h ^= bnodeHashMix
	}
	id, ok := sp.ids[h]
	if !ok {
		if sp.meta.n >= 1<<31-1 {
			return 0, errors.New("dcat: more than 2 billion nodes in one document")
		}
		id = sp.meta.add()
		sp.ids[h] = id
	}
	return id, nil
}

func (sp *spooler) intern(s string) uint32 {
	if id, ok := sp.strings[s]; ok {
		return id
	}
	id := uint32(len(sp.strtab))
	sp.strings[s] = id
	sp.strtab = append(sp.strtab, s)
	return id
}

func isNode(t rdf.Term) bool { return t.Kind == rdf.IRI || t.Kind == rdf.BlankNode }

// Spool records: a flags byte (subject kind, object kind << 2, 0x80 when
// the subject is the previous record's, 0x40 when its key is in the
// subject cache); unless 0x80, the subject's node index and, unless 0x40,
// its key (graph key: "_:label" for a blank node); the predicate index; for
// a node object (not an rdf:type class), its node index; the object's value
// (appendValue); for a literal, its interned language and datatype.

// subjectSlots is the size of the subject cache: nested documents come
// back to a subject after describing a node inside it (a dataset after
// each distribution), so its key is written once. Pass 2 keeps the keys in
// a cache of the same shape, where need and free also find them.
const subjectSlots = 256

// add is the rdf.Handler of pass 1.
func (sp *spooler) add(t rdf.Triple) error {
	pid := sp.predicate(t.P.Value)
	if pid < 0 {
		return nil
	}
	if sp.n == 1<<32-2 {
		return errors.New("dcat: more than 4 billion triples in one document")
	}
	if sp.prevSID == 0 || t.S != sp.prevS {
		id, err := sp.nodeID(t.S)
		if err != nil {
			return err
		}
		sp.prevS, sp.prevSID = t.S, id
	}
	hv := maphash.String(sp.seed, t.O.Value)
	var lang, dt uint32
	if t.O.Kind == rdf.Literal {
		lang, dt = sp.internLast(0, t.O.Lang), sp.internLast(1, t.O.Datatype)
	}
	if sp.repeated(pid, t, hv, lang, dt) {
		return nil
	}
	sp.n++
	same := sp.lastSID == sp.prevSID
	sp.lastSID = sp.prevSID
	sp.meta.at(sp.prevSID).last = sp.n
	var oid uint32
	if isNode(t.O) && pid != 0 { // rdf:type objects are classes, not read as nodes
		var err error
		if oid, err = sp.nodeID(t.O); err != nil {
			return err
		}
		if oid != sp.prevSID {
			// A node naming itself (a dataset whose landing page is its
			// own IRI) holds nothing: counted, it would never be dropped.
			sp.meta.at(oid).refs++
		}
	}
	b := sp.scratch[:0]
	flags := byte(t.S.Kind) | byte(t.O.Kind)<<2
	known := false
	if same {
		flags |= 0x80
	} else if slot := &sp.subjects[sp.prevSID%subjectSlots]; *slot == sp.prevSID {
		known = true
		flags |= 0x40
	} else {
		*slot = sp.prevSID
	}
	b = append(b, flags)
	if !same {
		b = binary.AppendUvarint(b, uint64(sp.prevSID))
	}
	if !same && !known {
		if t.S.Kind == rdf.BlankNode {
			b = binary.AppendUvarint(b, uint64(len(t.S.Value)+2))
			b = append(b, "_:"...)
		} else {
			b = binary.AppendUvarint(b, uint64(len(t.S.Value)))
		}
		b = append(b, t.S.Value...)
	}
	b = binary.AppendUvarint(b, uint64(pid))
	if oid != 0 {
		b = binary.AppendUvarint(b, uint64(oid))
	}
	b = sp.appendValue(b, t.O.Value, hv)
	if t.O.Kind == rdf.Literal {
		b = binary.AppendUvarint(b, uint64(lang))
		b = binary.AppendUvarint(b, uint64(dt))
	}
	sp.scratch = b
	return sp.write(b)
}

// recentSlots is the size of the table of triples kept lately (8 bytes
// each): about the triples of the last 2 000 datasets.
const recentSlots = 1 << 16

// pass1 runs parse, its triples going to add on a goroutine of their own,
// in batches: parsing and spooling overlap.
func (sp *spooler) pass1(parse func(rdf.Handler) error) error {
	const batch = 512
	batches := make(chan []rdf.Triple, 8)
	free := make(chan []rdf.Triple, 10)
	failed := make(chan struct{})
	done := make(chan struct{})
	var addErr error
	go func() {
		defer close(done)
		for b := range batches {
			if addErr == nil {
				for _, t := range b {
					if err := sp.add(t); err != nil {
						addErr = err
						close(failed)
						break
					}
				}
			}
			clear(b) // drop the references to the terms
			select {
			case free <- b[:0]:
			default:
			}
		}
	}()
	buf := make([]rdf.Triple, 0, batch)
	hand := func() bool {
		select {
		case batches <- buf:
		case <-failed:
			return false
		}
		select {
		case buf = <-free:
		default:
			buf = make([]rdf.Triple, 0, batch)
		}
		return true
	}
	err := parse(func(t rdf.Triple) error {
		buf = append(buf, t)
		if len(buf) == batch && !hand() {
			return errSpoolStopped
		}
		return nil
	})
	if err == nil && len(buf) > 0 {
		hand()
	}
	close(batches)
	<-done
	if addErr != nil {
		return addErr
	}
	return err
}

var errSpoolStopped = errors.New("dcat: spool stopped")

// repeated tells whether the triple (of subject prevSID) was kept already,
// and remembers it otherwise. hv is the object value's hash (valueHash),
// lang and dt its interned language and datatype.
func (sp *spooler) repeated(pid int32, t rdf.Triple, hv uint64, lang, dt uint32) bool {
	// The value's keyed hash, xor a hash of the other fields.
	k := hv ^ mix64(mix64(uint64(sp.prevSID)<<32|uint64(uint32(pid))<<8|uint64(t.O.Kind))^(uint64(lang)<<32|uint64(dt)))
	k |= 1 // never 0, the empty slot
	slot := &sp.recent[k%recentSlots]
	seen := *slot == k
	if !seen {
		_, seen = sp.shared[k]
	}
	if sp.meta.at(sp.prevSID).refs >= 2 {
		sp.shared[k] = struct{}{}
	} else {
		*slot = k
	}
	return seen
}

// mix64 is a bijection of 64-bit words that spreads every input bit over
// the output (the finaliser of MurmurHash3).
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (sp *spooler) write(b []byte) error {
	if sp.file == nil && sp.mem.Len()+len(b) > spoolMemLimit {
		f, err := os.CreateTemp("", "moisson-dcat-*.spool")
		if err != nil {
			return fmt.Errorf("dcat: spool: %w", err)
		}
		sp.file = f
		sp.w = bufio.NewWriterSize(f, 256<<10)
		if _, err := sp.w.Write(sp.mem.Bytes()); err != nil {
			return fmt.Errorf("dcat: spool: %w", err)
		}
		sp.mem = bytes.Buffer{}
	}
	if sp.w != nil {
		if _, err := sp.w.Write(b); err != nil {
			return fmt.Errorf("dcat: spool: %w", err)
		}
		return nil
	}
	sp.mem.Write(b)
	return nil
}

func (sp *spooler) close() {
	if sp.file != nil {
		name := sp.file.Name()
		sp.file.Close()
		os.Remove(name)
		sp.file = nil
	}
}

func (sp *spooler) reader() (*bufio.Reader, error) {
	if sp.file == nil {
		return bufio.NewReader(bytes.NewReader(sp.mem.Bytes())), nil
	}
	if err := sp.w.Flush(); err != nil {
		return nil, fmt.Errorf("dcat: spool: %w", err)
	}
	if _, err := sp.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("dcat: spool: %w", err)
	}
	return bufio.NewReaderSize(sp.file, 256<<10), nil
}

// pending datasets, by the index their record may be complete at.
type pendingDS struct {
	key  string
	need uint32
	seq  int
	id   uint32
}

type pendingHeap []pendingDS

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if h[i].need != h[j].need {
		return h[i].need < h[j].need
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pendingDS)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// push and pop are heap.Push and heap.Pop without boxing the element.
func (h *pendingHeap) push(x pendingDS) {
	*h = append(*h, x)
	heap.Fix(h, len(*h)-1)
}

func (h *pendingHeap) pop() pendingDS {
	old := *h
	x := old[0]
	n := len(old) - 1
	old[0] = old[n]
	old[n] = pendingDS{}
	*h = old[:n]
	if n > 0 {
		heap.Fix(h, 0)
	}
	return x
}

// visit is a node reached by need: its key is computed only to follow its
// own links.
type visit struct {
	t  rdf.Term
	k  string
	id uint32
}

// replay is pass 2: it emits each dataset once complete, and returns the
// paging of the document.
func (sp *spooler) replay(base string, fn func(source.Record) error, problem func(id, msg string)) (Paging, error) {
	sp.ids, sp.recent, sp.shared = nil, nil, nil // numbering is over: the spool carries the indexes
	br, err := sp.reader()
	if err != nil {
		return Paging{TotalItems: -1}, err
	}
	g := newGraph()
	g.streaming = true
	mp := startMapper(fn, problem)
	defer mp.stop()
	meta := &sp.meta
	marks := make([]uint32, meta.n)
	var (
		pend        pendingHeap
		seq         int
		idx         uint32
		subj        rdf.Term
		skey        string
		sid         uint32
		buf         []byte
		stamp       uint32
		level, next []visit
		dict        [dictSlots]string
		keys        [subjectSlots]struct {
			id  uint32
			key string
		}
		run []po // the triples of the current subject not yet in g
	)
	// keyOf is key(t) for the node of index id, without building it when
	// the node was a subject lately.
	keyOf := func(t rdf.Term, id uint32) string {
		if c := &keys[id%subjectSlots]; c.id == id {
			return c.key
		}
		return key(t)
	}
	// flush adds the current run of triples to the graph, which must be
	// whole before anything reads it.
	flush := func() {
		if len(run) > 0 {
			sp.peakTriples = max(sp.peakTriples, g.addRun(skey, run))
			clear(run) // drop the references to the terms
			run = run[:0]
		}
	}
	// free drops the triples of a node whose triples were all replayed and
	// whose referrers were all dropped, then what it pointed at.
	var free func(k string, id uint32)
	free = func(k string, id uint32) {
		if m := meta.at(id); m.last > idx || m.refs > 0 || marks[id]&pendingBit != 0 {
			return
		}
		pos, ok := g.bySubject[k]
		if !ok {
			return
		}
		delete(g.bySubject, k)
		for _, x := range pos {
			c := meta.at(x.oid)
			if x.oid == 0 || x.oid == id || c.last == 0 {
				continue // not a node, itself (not counted), or never a subject: nothing held
			}
			if c.refs > 0 {
				c.refs--
			}
			if c.refs == 0 && c.last <= idx {
				free(keyOf(x.o, x.oid), x.oid)
			}
		}
	}
	// need tells the index after which the record of a dataset cannot
	// change: the last triple of the nodes within two links of it.
	need := func(k string, id uint32) uint32 {
		if stamp++; stamp == pendingBit {
			for i := range marks {
				marks[i] &= pendingBit
			}
			stamp = 1
		}
		max := meta.at(id).last
		marks[id] = marks[id]&pendingBit | stamp
		level = append(level[:0], visit{k: k, id: id})
		for depth := 0; depth < 2 && len(level) > 0; depth++ {
			next = next[:0]
			for _, v := range level {
				if depth > 0 {
					if meta.at(v.id).last == 0 {
						continue // never a subject: no links
					}
					v.k = keyOf(v.t, v.id)
				}
				for _, x := range g.bySubject[v.k] {
					if x.oid == 0 {
						continue
					}
					if marks[x.oid]&^pendingBit == stamp {
						continue
					}
					marks[x.oid] = marks[x.oid]&pendingBit | stamp
					if l := meta.at(x.oid).last; l > max {
						max = l
					}
					next = append(next, visit{t: x.o, id: x.oid})
				}
			}
			level, next = next, level
		}
		return max
	}
	// snapshot is the part of the graph the record of a dataset is made
	// from (the dataset and the nodes within two links of it, as need
	// walks them), for the mapper to read while the replay goes on.
	var seen []uint32
	snapshot := func(k string, id uint32) *graph {
		sub := &graph{bySubject: map[string][]po{k: g.bySubject[k]}, m: mp.memo}
		seen = append(seen[:0], id)
		level = append(level[:0], visit{k: k, id: id})
		for depth := 0; depth <= 2 && len(level) > 0; depth++ {
			next = next[:0]
			for _, v := range level {
				if depth > 0 {
					if meta.at(v.id).last == 0 {
						continue
					}
					v.k = keyOf(v.t, v.id)
					if list, ok := g.bySubject[v.k]; ok {
						sub.bySubject[v.k] = list
					}
				}
				if depth == 2 {
					continue // read, not followed
				}
				for _, x := range g.bySubject[v.k] {
					if x.oid == 0 || slices.Contains(seen, x.oid) {
						continue
					}
					seen = append(seen, x.oid)
					next = append(next, visit{t: x.o, id: x.oid})
				}
			}
			level, next = next, level
		}
		return sub
	}
	emitReady := func(final bool) error {
		for pend.Len() > 0 && (final || pend[0].need <= idx) {
			p := pend.pop()
			if !final {
				if n := need(p.key, p.id); n > idx {
					p.need = n
					pend.push(p)
					continue
				}
			}
			marks[p.id] &^= pendingBit
			if err := mp.send(snapshot(p.key, p.id), p.key); err != nil {
				return err
			}
			sp.peakSubjects = max(sp.peakSubjects, len(g.bySubject))
			free(p.key, p.id)
		}
		return nil
	}
	corrupt := func() (Paging, error) { return Paging{TotalItems: -1}, errCorrupt }
	for {
		flags, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Paging{TotalItems: -1}, fmt.Errorf("dcat: spool: %w", err)
		}
		idx++
		if flags&0x80 == 0 {
			flush()
			id, err := binary.ReadUvarint(br)
			if err != nil || id == 0 || id >= uint64(meta.n) {
				return corrupt()
			}
			sid = uint32(id)
			c := &keys[sid%subjectSlots]
			if flags&0x40 != 0 {
				if c.id != sid {
					return corrupt()
				}
				skey = c.key
			} else {
				if buf, err = readChunk(br, buf); err != nil {
					return Paging{TotalItems: -1}, err
				}
				skey = string(buf)
				c.id, c.key = sid, skey
			}
			subj = rdf.Term{Kind: rdf.TermKind(flags & 3), Value: skey}
			if subj.Kind == rdf.BlankNode {
				if len(skey) < 2 {
					return corrupt()
				}
				subj.Value = skey[2:]
			}
		}
		pid, err := binary.ReadUvarint(br)
		if err != nil || pid >= uint64(len(mapperPredicates)) {
			return corrupt()
		}
		o := rdf.Term{Kind: rdf.TermKind(flags >> 2 & 3)}
		var oid uint64
		if isNode(o) && pid != 0 {
			if oid, err = binary.ReadUvarint(br); err != nil || oid == 0 || oid >= uint64(meta.n) {
				return corrupt()
			}
		}
		if o.Value, buf, err = readValue(br, &dict, buf); err != nil {
			return Paging{TotalItems: -1}, err
		}
		if o.Kind == rdf.Literal {
			l, err1 := binary.ReadUvarint(br)
			d, err2 := binary.ReadUvarint(br)
			if err1 != nil || err2 != nil || l >= uint64(len(sp.strtab)) || d >= uint64(len(sp.strtab)) {
				return corrupt()
			}
			o.Lang, o.Datatype = sp.strtab[l], sp.strtab[d]
		}
		run = append(run, po{p: mapperPredicates[pid], o: o, oid: uint32(oid)})
		if pid == 0 && o.Kind == rdf.IRI && o.Value == nsDCAT+"Dataset" && marks[sid]&pendingBit == 0 {
			marks[sid] |= pendingBit
			seq++
			pend.push(pendingDS{key: skey, need: meta.at(sid).last, seq: seq, id: sid})
		}
		if pend.Len() > 0 && pend[0].need <= idx {
			flush()
			if err := emitReady(false); err != nil {
				return Paging{TotalItems: -1}, err
			}
		}
	}
	flush()
	if err := emitReady(true); err != nil {
		return Paging{TotalItems: -1}, err
	}
	if err := mp.stop(); err != nil {
		return Paging{TotalItems: -1}, err
	}
	return g.paging(base), nil
}

// mapper makes the records of the datasets the replay hands it, in order,
// on a goroutine of its own: mapping and normalising a dataset (and what
// fn does with it) overlap with the replay of the next ones.
type mapper struct {
	jobs    chan mapJob
	failed  chan struct{} // closed when fn failed
	done    chan struct{}
	err     error
	memo    *graphMemo // the mapper's own: it alone reads and writes it
	stopped bool
}

type mapJob struct {
	g   *graph
	key string
}

func startMapper(fn func(source.Record) error, problem func(id, msg string)) *mapper {
	m := &mapper{jobs: make(chan mapJob, 128), failed: make(chan struct{}), done: make(chan struct{}), memo: &graphMemo{}}
	go func() {
		defer close(m.done)
		for j := range m.jobs {
			if m.err != nil {
				continue // drain
			}
			rec, perr := j.g.dataset(j.key)
			if perr != nil {
				if problem != nil {
					problem(j.key, perr.Error())
				}
				continue
			}
			if err := fn(rec); err != nil {
				m.err = err
				close(m.failed)
			}
		}
	}()
	return m
}

// send hands a dataset over; the error is fn's, once it failed.
func (m *mapper) send(g *graph, key string) error {
	select {
	case m.jobs <- mapJob{g, key}:
		return nil
	case <-m.failed:
		<-m.done
		return m.err
	}
}

// stop waits for the datasets handed over, and returns fn's error.
func (m *mapper) stop() error {
	if !m.stopped {
		m.stopped = true
		close(m.jobs)
	}
	<-m.done
	return m.err
}

func readChunk(br *bufio.Reader, buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return buf, errCorrupt
	}
	return readBytes(br, buf, n)
}

func readBytes(br *bufio.Reader, buf []byte, n uint64) ([]byte, error) {
	if n > 1<<30 {
		return buf, errCorrupt
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return buf, errCorrupt
	}
	return buf, nil
}
