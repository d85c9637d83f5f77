package store

import (
	bolt "go.etcd.io/bbolt"
)

// Dump calls fn for every key of every bucket inside one read transaction:
// buckets in name order, keys in byte order. A nested bucket is named
// "parent/child" and its own key in the parent is skipped. The key and
// value slices are valid only until fn returns, so fn must copy what it
// keeps. An error from fn stops the walk and is returned.
func (s *Store) Dump(fn func(bucket string, key, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return dumpBucket(string(name), b, fn)
		})
	})
}

func dumpBucket(name string, b *bolt.Bucket, fn func(bucket string, key, value []byte) error) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			// A nil value marks a nested bucket, but an empty value may
			// also read as nil, so look the bucket up to tell them apart.
			if child := b.Bucket(k); child != nil {
				return dumpBucket(name+"/"+string(k), child, fn)
			}
		}
		return fn(name, k, v)
	})
}
