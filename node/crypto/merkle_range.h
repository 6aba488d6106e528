/* Compact ranges (RFC 9162 trees): the roots of the perfect subtrees that make up the first
 * `size` leaves, largest first, one per set bit of size. Enough to append leaves one at a
 * time and compute the tree hash of every prefix on the way, in O(log n) memory: how an
 * auditor recomputes a whole log from its entries without keeping them. No I/O. */
#ifndef COEX_CRYPTO_MERKLE_RANGE_H
#define COEX_CRYPTO_MERKLE_RANGE_H

#include "crypto/merkle.h"

#include <stddef.h>
#include <stdint.h>

/* Most hashes a range holds: one per set bit of a 64-bit size. */
#define MERKLE_RANGE_MAX 64

struct merkle_range {
	uint64_t size;                               /* leaves covered */
	size_t n;                                    /* hashes in use: popcount(size) */
	uint8_t hash[MERKLE_RANGE_MAX][MERKLE_HASH_LEN]; /* largest subtree first */
};

/* The empty range (size 0). */
void merkle_range_init(struct merkle_range *r);

/* Appends the leaf with hash leaf (merkle_leaf_hash of the entry). At most one node hash per
 * trailing set bit of size, 1 on average. Returns 0, or ERR_INVAL if the range already
 * covers MERKLE_MAX_SIZE leaves. */
int merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN]);

/* Writes MTH of the covered leaves (SHA-256 of the empty string for size 0). */
void merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN]);

/* Sets r to the range of size leaves given by hash[0..n), as stored or sent elsewhere.
 * Returns 0, or ERR_PROTO if n is not popcount(size) or size exceeds MERKLE_MAX_SIZE;
 * r is untouched on error. Whether the hashes are the right ones is the caller's to check,
 * e.g. against a signed root. */
int merkle_range_load(struct merkle_range *r, uint64_t size, const uint8_t (*hash)[MERKLE_HASH_LEN],
		      size_t n);

#endif
