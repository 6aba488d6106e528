#include "crypto/merkle_range.h"
#include "crypto/sha256.h"
#include "lib/err.h"

#include <string.h>

void merkle_range_init(struct merkle_range *r)
{
	r->size = 0;
	r->n = 0;
}

int merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_HASH_LEN];
	uint64_t s = r->size;

	if (s >= MERKLE_MAX_SIZE)
		return ERR_INVAL;
	/* Each trailing 1 bit of size is a perfect subtree the new leaf completes a sibling of. */
	memcpy(h, leaf, sizeof(h));
	while (s & 1) {
		merkle_node_hash(r->hash[--r->n], h, h);
		s >>= 1;
	}
	memcpy(r->hash[r->n++], h, sizeof(h));
	r->size++;
	return 0;
}

void merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_HASH_LEN];

	if (r->n == 0) {
		sha256(out, NULL, 0);
		return;
	}
	/* MTH splits at the largest power of two: the right side folds first. */
	memcpy(h, r->hash[r->n - 1], sizeof(h));
	for (size_t i = r->n - 1; i > 0; i--)
		merkle_node_hash(r->hash[i - 1], h, h);
	memcpy(out, h, sizeof(h));
}

int merkle_range_load(struct merkle_range *r, uint64_t size, const uint8_t (*hash)[MERKLE_HASH_LEN],
		      size_t n)
{
	if (size > MERKLE_MAX_SIZE || n != (size_t)__builtin_popcountll(size))
		return ERR_PROTO;
	if (n > 0)
		memcpy(r->hash, hash, n * MERKLE_HASH_LEN);
	r->n = n;
	r->size = size;
	return 0;
}
