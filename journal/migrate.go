package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Journals written before the segmented log were one bbolt file,
// <dir>/journal.db, with buckets "log" (8-byte big-endian seq -> record),
// "meta" (snapshot, snapshot_seq) and "cursors" (key -> 8-byte offset).
var (
	oldBucketLog  = []byte("log")
	oldBucketMeta = []byte("meta")
	oldBucketCur  = []byte("cursors")
)

// migrateBolt copies the old bbolt journal into walDir (which has no
// segments) and the snapshot file, then renames journal.db to
// journal.db.migrated. A crash part way leaves either no segment (the
// migration is redone) or the segment and journal.db (Open then only
// renames journal.db).
func migrateBolt(dir, walDir string, noSync bool) error {
	path := filepath.Join(dir, "journal.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("journal: %s is locked by another process (is another sift running on this data dir?)", path)
		}
		return fmt.Errorf("journal: open old journal %s for migration: %w", path, err)
	}
	defer db.Close()
	var records int
	err = db.View(func(tx *bolt.Tx) error {
		var lastSeq uint64
		cursors := map[string]int64{}
		if b := tx.Bucket(oldBucketCur); b != nil {
			b.ForEach(func(k, v []byte) error {
				if len(v) == 8 {
					cursors[string(k)] = int64(binary.BigEndian.Uint64(v))
				}
				return nil
			})
		}
		var c *bolt.Cursor
		if b := tx.Bucket(oldBucketLog); b != nil {
			lastSeq = b.Sequence()
			c = b.Cursor()
		}
		if m := tx.Bucket(oldBucketMeta); m != nil {
			if state := m.Get([]byte("snapshot")); state != nil {
				var seq uint64
				if v := m.Get([]byte("snapshot_seq")); len(v) == 8 {
					seq = binary.BigEndian.Uint64(v)
				}
				if err := writeSnapshot(dir, seq, bytesState(state), noSync); err != nil {
					return fmt.Errorf("write snapshot: %w", err)
				}
			}
		}
		first := lastSeq + 1
		var k, v []byte
		if c != nil {
			if k, v = c.First(); k != nil {
				first = binary.BigEndian.Uint64(k)
			}
		}
		segPath := filepath.Join(walDir, segName(first))
		f, err := os.OpenFile(segPath+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		if len(cursors) > 0 {
			if _, err := w.Write(appendFrame(nil, frameCursors, first-1, appendCursors(nil, cursors))); err != nil {
				return err
			}
		}
		var buf []byte
		want := first
		for ; k != nil; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if len(k) != 8 || seq != want {
				return fmt.Errorf("old journal has record key %x where seq %d was expected", k, want)
			}
			buf = appendFrame(buf[:0], frameRecord, seq, v)
			if _, err := w.Write(buf); err != nil {
				return err
			}
			want++
			records++
		}
		// Commit the copied records (see scan).
		if _, err := w.Write(appendFrame(buf[:0], frameCursors, want-1, appendCursors(nil, nil))); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if !noSync {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		if err := os.Rename(segPath+".tmp", segPath); err != nil {
			return err
		}
		if !noSync {
			return syncDir(walDir)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: migrate %s: %w", path, err)
	}
	db.Close()
	if err := finishMigration(dir, noSync); err != nil {
		return err
	}
	slog.Info("journal: migrated the bbolt journal to the segmented log", "from", path, "records", records)
	return nil
}

func finishMigration(dir string, noSync bool) error {
	path := filepath.Join(dir, "journal.db")
	if err := os.Rename(path, path+".migrated"); err != nil {
		return fmt.Errorf("journal: migrate: %w", err)
	}
	if !noSync {
		return syncDir(dir)
	}
	return nil
}
