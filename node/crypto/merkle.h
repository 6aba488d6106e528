/* RFC 9162 Merkle trees over SHA-256: leaf and node hashes, inclusion and consistency
 * proofs (verify and prove), and the tree hash of any prefix of an append-only log.
 * No I/O: the tree's nodes are read through struct merkle_nodes, which the store provides.
 *
 * Hashes are fixed MERKLE_HASH_LEN-byte arrays. A hash received from outside (a protobuf
 * bytes field, an export file) must be checked to be exactly MERKLE_HASH_LEN bytes by its
 * decoder, which returns ERR_PROTO otherwise; proofs are at most MERKLE_MAX_PROOF hashes. */
#ifndef COEX_CRYPTO_MERKLE_H
#define COEX_CRYPTO_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
/* Longest proof of either kind for a tree of at most MERKLE_MAX_SIZE leaves. */
#define MERKLE_MAX_PROOF 64
/* Most nodes one append completes (levels 0..63). */
#define MERKLE_MAX_NODES 64
/* Largest tree this module builds or proves (2^63 leaves). Verifiers take any uint64_t. */
#define MERKLE_MAX_SIZE (UINT64_C(1) << 63)

/* Read access to a tree's stored nodes. (level, index) names the root of the perfect
 * subtree over leaves [index << level, (index + 1) << level); level 0 holds leaf hashes.
 * Only complete subtrees exist (see merkle_append). get writes the hash and returns 0, or
 * returns a negative error (ERR_NOTFOUND, ERR_STORE...), which the caller passes through. */
struct merkle_nodes {
	int (*get)(void *arg, uint32_t level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);
	void *arg;
};

/* One stored node, as produced by merkle_append. */
struct merkle_node {
	uint32_t level;
	uint64_t index;
	uint8_t hash[MERKLE_HASH_LEN];
};

/* out = SHA-256(0x00 || entry[0..len)). entry may be NULL if len is 0. */
void merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN]);
/* out = SHA-256(0x01 || l || r). out may alias l or r. */
void merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
		      uint8_t out[MERKLE_HASH_LEN]);

/* One step of RFC 9162's inclusion-proof check (2.1.3.2): folds the sibling hash into r and
 * moves the indices fn, sn up the tree. For verifiers that walk a proof themselves. */
void merkle_inclusion_step(uint64_t *fn, uint64_t *sn, const uint8_t sibling[MERKLE_HASH_LEN],
			   uint8_t r[MERKLE_HASH_LEN]);
/* Verifies that leaf_hash is leaf `index` of the tree of `size` leaves whose hash is root,
 * given the audit path proof[0..n) (RFC 9162 §2.1.3.2).
 * Returns 0; ERR_PROTO if index >= size or n is not the path length for (index, size);
 * ERR_CRYPTO if the path does not lead to root. */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n,
			    const uint8_t root[MERKLE_HASH_LEN]);

/* Verifies that the tree of size1 leaves with hash root1 is a prefix of the tree of size2
 * leaves with hash root2, given the consistency proof proof[0..n) (RFC 9162 §2.1.4.2).
 * Beyond the RFC (which needs 0 < size1 < size2):
 *   size1 == size2: the proof must be empty and root1 == root2;
 *   size1 == 0:     the proof must be empty and root1 must be the empty tree's hash (every
 *                   tree extends the empty tree, so nothing is proven about root2).
 * Returns 0; ERR_PROTO if size1 > size2 or n is wrong for (size1, size2); ERR_CRYPTO if the
 * proof does not match root1 and root2. */
int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH_LEN],
			      const uint8_t root2[MERKLE_HASH_LEN],
			      const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n);

/* Appends the leaf with hash leaf_hash at position `size` (the tree's current size) to the
 * tree t: writes to out[0..*n) every node this append completes, level 0 (the leaf itself)
 * first, each with its hash. The store inserts them, in the same transaction as the entry;
 * t itself is only read: one get per completed level above 0 (O(log n), 1 on average).
 * Returns 0; ERR_INVAL if size >= MERKLE_MAX_SIZE; or the getter's error. */
int merkle_append(const struct merkle_nodes *t, uint64_t size,
		  const uint8_t leaf_hash[MERKLE_HASH_LEN], struct merkle_node out[MERKLE_MAX_NODES],
		  size_t *n);

/* Writes MTH of the first `size` leaves of t (any size up to the tree's current size, so
 * historic roots too; size 0 gives SHA-256 of the empty string). One get per set bit of size.
 * Returns 0; ERR_INVAL if size > MERKLE_MAX_SIZE; or the getter's error. */
int merkle_root(const struct merkle_nodes *t, uint64_t size, uint8_t out[MERKLE_HASH_LEN]);

/* Writes PATH(index, D[size]) (RFC 9162 §2.1.3.1) to proof[0..*n), leaf end first.
 * O(log size) gets: at most 2 * ceil(log2(size)) + 2.
 * Returns 0; ERR_INVAL if index >= size or size > MERKLE_MAX_SIZE; ERR_LIMIT if the path has
 * more than cap hashes (never with cap >= MERKLE_MAX_PROOF); or the getter's error. */
int merkle_prove_inclusion(const struct merkle_nodes *t, uint64_t index, uint64_t size,
			   uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap, size_t *n);

/* Writes PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1) to proof[0..*n); empty if size1 == 0 or
 * size1 == size2, as merkle_verify_consistency expects.
 * O(log size2) gets: at most 2 * ceil(log2(size2)) + 2.
 * Returns 0; ERR_INVAL if size1 > size2 or size2 > MERKLE_MAX_SIZE; ERR_LIMIT if the proof
 * has more than cap hashes (never with cap >= MERKLE_MAX_PROOF); or the getter's error. */
int merkle_prove_consistency(const struct merkle_nodes *t, uint64_t size1, uint64_t size2,
			     uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap, size_t *n);

#endif
