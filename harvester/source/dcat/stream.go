package dcat

// Streaming assembly of datasets, with flat memory on large catalogues.
//
// An unpaged catalogue (an ODS export of 100k datasets is ~1.6 M triples)
// must not be held whole. Datasets are emitted as soon as they are provably
// complete, in two passes:
//
//  1. The parser streams triples. Only the predicates the mapper reads are
//     kept (mapperPredicates); they are appended to a compact binary spool
//     (memory, then a temporary file past spoolMemLimit). For each node the
//     pass records the index of its last triple as subject and the number of
//     kept triples that point at it (a 16-byte entry per node, by hash).
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

// spoolMemLimit is the spool size kept in memory before it moves to a file.
const spoolMemLimit = 8 << 20

type nodeMeta struct {
	last uint32 // index+1 of the node's last kept triple as subject (0: none)
	refs uint32 // kept triples whose object is the node
}

// spooler is pass 1.
type spooler struct {
	seed    maphash.Seed
	h       maphash.Hash
	meta    map[uint64]nodeMeta
	n       uint32 // kept triples
	mem     bytes.Buffer
	file    *os.File
	w       *bufio.Writer
	prevS   rdf.Term
	strings map[string]uint32 // interned langs and datatypes
	strtab  []string
	scratch []byte
	err     error
}

func newSpooler() *spooler {
	sp := &spooler{seed: maphash.MakeSeed(), meta: map[uint64]nodeMeta{}, strings: map[string]uint32{"": 0}, strtab: []string{""}}
	sp.h.SetSeed(sp.seed)
	return sp
}

func (sp *spooler) hash(t rdf.Term) uint64 {
	sp.h.Reset()
	sp.h.WriteByte(byte(t.Kind))
	sp.h.WriteString(t.Value)
	return sp.h.Sum64()
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

// add is the rdf.Handler of pass 1.
func (sp *spooler) add(t rdf.Triple) error {
	pid, ok := predicateID[t.P.Value]
	if !ok {
		return nil
	}
	if sp.n == 1<<32-2 {
		return errors.New("dcat: more than 4 billion triples in one document")
	}
	sp.n++
	hs := sp.hash(t.S)
	m := sp.meta[hs]
	m.last = sp.n
	sp.meta[hs] = m
	if isNode(t.O) && pid != 0 { // rdf:type objects are classes, not read as nodes
		ho := sp.hash(t.O)
		mo := sp.meta[ho]
		mo.refs++
		sp.meta[ho] = mo
	}
	b := sp.scratch[:0]
	same := t.S == sp.prevS
	flags := byte(t.S.Kind) | byte(t.O.Kind)<<2
	if same {
		flags |= 0x80
	}
	b = append(b, flags)
	if !same {
		b = binary.AppendUvarint(b, uint64(len(t.S.Value)))
		b = append(b, t.S.Value...)
		sp.prevS = t.S
	}
	b = binary.AppendUvarint(b, uint64(pid))
	b = binary.AppendUvarint(b, uint64(len(t.O.Value)))
	b = append(b, t.O.Value...)
	if t.O.Kind == rdf.Literal {
		b = binary.AppendUvarint(b, uint64(sp.intern(t.O.Lang)))
		b = binary.AppendUvarint(b, uint64(sp.intern(t.O.Datatype)))
	}
	sp.scratch = b
	return sp.write(b)
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
	key    string
	need   uint32
	seq    int
	hashed uint64
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

// replay is pass 2: it emits each dataset once complete, and returns the
// paging of the document.
func (sp *spooler) replay(base string, fn func(source.Record) error, problem func(id, msg string)) (Paging, error) {
	br, err := sp.reader()
	if err != nil {
		return Paging{TotalItems: -1}, err
	}
	g := newGraph()
	g.streaming = true
	var (
		pend     pendingHeap
		inPend   = map[uint64]bool{}
		consumed = map[uint64]uint32{}
		seq      int
		idx      uint32
		subj     rdf.Term
		buf      []byte
	)
	termHash := func(k string) uint64 { // k is a graph key
		sp.h.Reset()
		if len(k) > 2 && k[0] == '_' && k[1] == ':' {
			sp.h.WriteByte(byte(rdf.BlankNode))
			sp.h.WriteString(k[2:])
		} else {
			sp.h.WriteByte(byte(rdf.IRI))
			sp.h.WriteString(k)
		}
		return sp.h.Sum64()
	}
	// free drops the triples of a node whose triples were all replayed and
	// whose referrers were all dropped, then what it pointed at.
	var free func(k string, h uint64)
	free = func(k string, h uint64) {
		m := sp.meta[h]
		if m.last > idx || consumed[h] < m.refs || inPend[h] {
			return
		}
		pos, ok := g.bySubject[k]
		if !ok {
			return
		}
		delete(g.bySubject, k)
		delete(consumed, h)
		for _, x := range pos {
			if isNode(x.o) && x.p != rdf.RDFType {
				ck := key(x.o)
				ch := termHash(ck)
				if sp.meta[ch].last == 0 {
					continue // never a subject: nothing held
				}
				consumed[ch]++
				free(ck, ch)
			}
		}
	}
	// need tells the index after which the record of k cannot change.
	need := func(k string) uint32 {
		var max uint32
		level := []string{k}
		seen := map[string]bool{k: true}
		for depth := 0; depth <= 2 && len(level) > 0; depth++ {
			var next []string
			for _, s := range level {
				if m := sp.meta[termHash(s)]; m.last > max {
					max = m.last
				}
				if depth == 2 {
					continue
				}
				for _, x := range g.bySubject[s] {
					if isNode(x.o) && x.p != rdf.RDFType {
						if ck := key(x.o); !seen[ck] {
							seen[ck] = true
							next = append(next, ck)
						}
					}
				}
			}
			level = next
		}
		return max
	}
	emitReady := func(final bool) error {
		for pend.Len() > 0 && (final || pend[0].need <= idx) {
			p := heap.Pop(&pend).(pendingDS)
			if !final {
				if n := need(p.key); n > idx {
					p.need = n
					heap.Push(&pend, p)
					continue
				}
			}
			delete(inPend, p.hashed)
			rec, perr := g.dataset(p.key)
			if perr != nil {
				if problem != nil {
					problem(p.key, perr.Error())
				}
			} else if err := fn(rec); err != nil {
				return err
			}
			free(p.key, p.hashed)
		}
		return nil
	}
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
			if buf, err = readChunk(br, buf); err != nil {
				return Paging{TotalItems: -1}, err
			}
			subj = rdf.Term{Kind: rdf.TermKind(flags & 3), Value: string(buf)}
		}
		pid, err := binary.ReadUvarint(br)
		if err != nil || pid >= uint64(len(mapperPredicates)) {
			return Paging{TotalItems: -1}, errors.New("dcat: spool: corrupt record")
		}
		if buf, err = readChunk(br, buf); err != nil {
			return Paging{TotalItems: -1}, err
		}
		o := rdf.Term{Kind: rdf.TermKind(flags >> 2 & 3), Value: string(buf)}
		if o.Kind == rdf.Literal {
			l, err1 := binary.ReadUvarint(br)
			d, err2 := binary.ReadUvarint(br)
			if err1 != nil || err2 != nil || l >= uint64(len(sp.strtab)) || d >= uint64(len(sp.strtab)) {
				return Paging{TotalItems: -1}, errors.New("dcat: spool: corrupt record")
			}
			o.Lang, o.Datatype = sp.strtab[l], sp.strtab[d]
		}
		p := mapperPredicates[pid]
		g.addPO(subj, p, o)
		if pid == 0 && o.Kind == rdf.IRI && o.Value == nsDCAT+"Dataset" {
			k := key(subj)
			h := termHash(k)
			if !inPend[h] {
				inPend[h] = true
				seq++
				heap.Push(&pend, pendingDS{key: k, need: sp.meta[h].last, seq: seq, hashed: h})
			}
		}
		if pend.Len() > 0 && pend[0].need <= idx {
			if err := emitReady(false); err != nil {
				return Paging{TotalItems: -1}, err
			}
		}
	}
	if err := emitReady(true); err != nil {
		return Paging{TotalItems: -1}, err
	}
	return g.paging(base), nil
}

func readChunk(br *bufio.Reader, buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<30 {
		return buf, errors.New("dcat: spool: corrupt record")
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return buf, errors.New("dcat: spool: corrupt record")
	}
	return buf, nil
}
