// trivydb writes a BoltDB file in the layout Trivy reads its vulnerability
// database from (trivy.db), from records on stdin: a JSON array of entries
// [bucket, [sub-bucket, ...], key, value]; every element but the last two
// names a nested bucket, the value is stored as its JSON encoding.
// Used by tests/integration/test_scan_trivy.py; built with Debian's golang
// and golang-github-coreos-bbolt-dev (GOPATH mode, no network).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

func put(tx *bolt.Tx, entry []json.RawMessage) error {
	if len(entry) < 3 {
		return fmt.Errorf("an entry needs a bucket, a key and a value")
	}
	names := make([]string, len(entry)-1)
	for i := range names {
		if err := json.Unmarshal(entry[i], &names[i]); err != nil {
			return err
		}
	}
	b, err := tx.CreateBucketIfNotExists([]byte(names[0]))
	if err != nil {
		return err
	}
	for _, n := range names[1 : len(names)-1] {
		if b, err = b.CreateBucketIfNotExists([]byte(n)); err != nil {
			return err
		}
	}
	return b.Put([]byte(names[len(names)-1]), entry[len(entry)-1])
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trivydb OUT.db < entries.json")
		os.Exit(2)
	}
	var entries [][]json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&entries); err != nil {
		fmt.Fprintln(os.Stderr, "trivydb:", err)
		os.Exit(1)
	}
	os.Remove(os.Args[1])
	db, err := bolt.Open(os.Args[1], 0644, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trivydb:", err)
		os.Exit(1)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, e := range entries {
			if err := put(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trivydb:", err)
		os.Exit(1)
	}
}
