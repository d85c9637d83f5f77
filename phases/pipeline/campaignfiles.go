package pipeline

import (
	"container/list"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultCampaignFileSets is the default number of file sets that an
// Optimizer keeps in the campaigns folder of the latest run. A set is the
// outputs of one split, model and budget: the CRM export, report, summary
// and segment deep-dive, plus the charts when POST
// /phase4/campaigns/:id/plots drew them. Without charts, a set took 76 KB
// (84 KB of disk blocks) for the 1,057-customer Telco test split in a run
// of 2026-12-04. The CRM export has a row per customer, so a set of the
// train split is an estimated 300 KB. At the default limit the folder
// therefore holds an estimated 80-300 MB, plus the charts of the sets
// that have them.
const DefaultCampaignFileSets = 1000

// campaignStemPattern matches the stem at the start of a file name in a
// campaigns folder. A stem, built by Stem, ends in "_<budget in cents>c",
// and the split and model names contain no digits, so the shortest match
// is the stem.
var campaignStemPattern = regexp.MustCompile(`^(.+?_[0-9]+c)_`)

// campaignFileIndex tracks the file sets in the campaigns folder of one
// run, oldest write first, and deletes the oldest sets beyond a limit.
// The index is built from the folder on first use and then kept in
// memory, so a write does not scan the folder.
//
// Lock order: a caller may hold mu and then take Optimizer.mu, never the
// reverse.
type campaignFileIndex struct {
	dir string

	mu     sync.Mutex
	loaded bool
	sets   map[string]*list.Element // values are *campaignFileSet
	order  *list.List               // oldest write first
}

// campaignFileSet is the group of files that share one stem.
type campaignFileSet struct {
	stem    string
	written time.Time
	names   map[string]bool // file names inside dir
	writers int             // writes in progress, which keep the set
	key     resultKey       // the result cache key, when hasKey is set
	hasKey  bool
}

func newCampaignFileIndex(dir string) *campaignFileIndex {
	return &campaignFileIndex{dir: dir, sets: map[string]*list.Element{}, order: list.New()}
}

// load reads the folder on first use, and ix.mu must be held. A missing
// folder is an empty index.
func (ix *campaignFileIndex) load() error {
	if ix.loaded {
		return nil
	}
	entries, err := os.ReadDir(ix.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var found []*campaignFileSet
	byStem := map[string]*campaignFileSet{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		m := campaignStemPattern.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		set := byStem[m[1]]
		if set == nil {
			set = &campaignFileSet{stem: m[1], names: map[string]bool{}}
			byStem[m[1]] = set
			found = append(found, set)
		}
		set.names[name] = true
		if info.ModTime().After(set.written) {
			set.written = info.ModTime()
		}
	}
	// Oldest first; ties keep the folder's name order.
	slices.SortStableFunc(found, func(a, b *campaignFileSet) int { return a.written.Compare(b.written) })
	for _, set := range found {
		ix.sets[set.stem] = ix.order.PushBack(set)
	}
	ix.loaded = true
	return nil
}

// begin marks the set of stem as being written now, which makes it the
// newest set and keeps it from deletion until end. It blocks while a
// deletion is in progress, so a deletion never removes files that a write
// has just made.
func (ix *campaignFileIndex) begin(stem string) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.load(); err != nil {
		return err
	}
	el, ok := ix.sets[stem]
	if !ok {
		el = ix.order.PushBack(&campaignFileSet{stem: stem, names: map[string]bool{}})
		ix.sets[stem] = el
	} else {
		ix.order.MoveToBack(el)
	}
	set := el.Value.(*campaignFileSet)
	set.writers++
	set.written = time.Now()
	return nil
}

// end records the files a write made (file names or paths inside dir)
// and, when key is not nil, the result cache key of the set, and releases
// the mark of begin. Then it deletes the oldest sets beyond limit: it
// first passes their cache keys to forget, so the result cache drops them
// before their files go, and then removes their files. A limit of 0 or
// less keeps every set. It returns the number of sets deleted and the
// first removal error.
func (ix *campaignFileIndex) end(stem string, names []string, key *resultKey, limit int, forget func([]resultKey)) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	el, ok := ix.sets[stem]
	if !ok {
		return 0, nil // begin failed to read the folder
	}
	set := el.Value.(*campaignFileSet)
	set.writers--
	for _, n := range names {
		set.names[filepath.Base(n)] = true
	}
	if key != nil {
		set.key, set.hasKey = *key, true
	}
	if limit <= 0 {
		return 0, nil
	}

	var victims []*campaignFileSet
	var keys []resultKey
	for el := ix.order.Front(); el != nil && ix.order.Len() > limit; {
		next := el.Next()
		if v := el.Value.(*campaignFileSet); v.writers == 0 {
			ix.order.Remove(el)
			delete(ix.sets, v.stem)
			victims = append(victims, v)
			if v.hasKey {
				keys = append(keys, v.key)
			}
		}
		el = next
	}
	if len(victims) == 0 {
		return 0, nil
	}
	if len(keys) > 0 {
		forget(keys)
	}
	// The files go while ix.mu is held, so a begin for one of these
	// stems waits until its old files are gone.
	var first error
	for _, v := range victims {
		for name := range v.names {
			if err := os.Remove(filepath.Join(ix.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = err
			}
		}
	}
	return len(victims), first
}
