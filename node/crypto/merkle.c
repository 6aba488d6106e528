/* RFC 9162 Merkle trees. Proof generation walks the split points of RFC 9162's recursive
 * definitions top-down; every subtree it needs is either perfect (one stored node) or the
 * right edge of the tree, hashed from its perfect parts (one node per set bit of its size). */
#include "crypto/merkle.h"

#include "crypto/sha256.h"
#include "lib/err.h"

#include <sodium.h>
#include <string.h>

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static const uint8_t leaf_prefix = 0x00;
static const uint8_t node_prefix = 0x01;

void merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	struct sha256_state st;

	sha256_init(&st);
	sha256_update(&st, &leaf_prefix, 1);
	if (len > 0)
		sha256_update(&st, entry, len);
	sha256_final(&st, out);
}

void merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
		      uint8_t out[MERKLE_HASH_LEN])
{
	struct sha256_state st;

	sha256_init(&st);
	sha256_update(&st, &node_prefix, 1);
	sha256_update(&st, l, MERKLE_HASH_LEN);
	sha256_update(&st, r, MERKLE_HASH_LEN);
	sha256_final(&st, out);
}

static int hash_equal(const uint8_t a[MERKLE_HASH_LEN], const uint8_t b[MERKLE_HASH_LEN])
{
	return sodium_memcmp(a, b, MERKLE_HASH_LEN) == 0;
}

/* Largest power of two strictly below n (n >= 2): RFC 9162's split point k. */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

/* ---- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2, step by step) ---- */

void merkle_inclusion_step(uint64_t *fn, uint64_t *sn, const uint8_t sibling[MERKLE_HASH_LEN],
			   uint8_t r[MERKLE_HASH_LEN])
{
	if ((*fn & 1) || *fn == *sn) {
		merkle_node_hash(sibling, r, r);
		while (!(*fn & 1) && *fn != 0) {
			*fn >>= 1;
			*sn >>= 1;
		}
	} else {
		merkle_node_hash(r, sibling, r);
	}
	*fn >>= 1;
	*sn >>= 1;
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n,
			    const uint8_t root[MERKLE_HASH_LEN])
{
	uint64_t fn, sn;
	hash_t r;
	size_t i;

	if (index >= size)
		return ERR_PROTO;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return ERR_PROTO; /* proof longer than the path */
		merkle_inclusion_step(&fn, &sn, proof[i], r);
	}
	if (sn != 0)
		return ERR_PROTO; /* proof shorter than the path */
	return hash_equal(r, root) ? 0 : ERR_CRYPTO;
}

/* The cases RFC 9162 leaves out: equal sizes and the empty first tree. */
static int verify_consistency_trivial(uint64_t size1, uint64_t size2,
				      const uint8_t root1[MERKLE_HASH_LEN],
				      const uint8_t root2[MERKLE_HASH_LEN], size_t n)
{
	hash_t empty;

	if (n != 0)
		return ERR_PROTO;
	if (size1 == 0) {
		sha256(empty, NULL, 0);
		if (!hash_equal(root1, empty))
			return ERR_CRYPTO;
	}
	if (size1 == size2 && !hash_equal(root1, root2))
		return ERR_CRYPTO;
	return 0;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH_LEN],
			      const uint8_t root2[MERKLE_HASH_LEN],
			      const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
	uint64_t fn, sn;
	hash_t fr, sr;
	size_t i;
	int first_is_pow2;

	if (size1 > size2)
		return ERR_PROTO;
	if (size1 == 0 || size1 == size2)
		return verify_consistency_trivial(size1, size2, root1, root2, n);
	if (n == 0)
		return ERR_PROTO;
	/* Step 2 prepends root1 to the path; we index past it instead of copying. */
	first_is_pow2 = (size1 & (size1 - 1)) == 0;
	i = first_is_pow2 ? 0 : 1;
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, first_is_pow2 ? root1 : proof[0], MERKLE_HASH_LEN);
	memcpy(sr, fr, MERKLE_HASH_LEN);
	for (; i < n; i++) {
		if (sn == 0)
			return ERR_PROTO; /* proof longer than needed */
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return ERR_PROTO; /* proof shorter than needed */
	return hash_equal(fr, root1) && hash_equal(sr, root2) ? 0 : ERR_CRYPTO;
}

/* ---- Building and proving from stored nodes ---- */

int merkle_append(const struct merkle_nodes *t, uint64_t size,
		  const uint8_t leaf_hash[MERKLE_HASH_LEN], struct merkle_node out[MERKLE_MAX_NODES],
		  size_t *n)
{
	struct merkle_node nodes[MERKLE_MAX_NODES];
	hash_t left;
	uint32_t level = 0;
	int r;

	if (size >= MERKLE_MAX_SIZE)
		return ERR_INVAL;
	nodes[0].level = 0;
	nodes[0].index = size;
	memcpy(nodes[0].hash, leaf_hash, MERKLE_HASH_LEN);
	/* The node at level l+1 completes when the new leaf ends a right child at level l,
	 * i.e. once per trailing one bit of the leaf's index; its left sibling is stored. */
	while ((size >> level) & 1) {
		uint64_t index = size >> level;
		if ((r = t->get(t->arg, level, index - 1, left)) != 0)
			return r;
		nodes[level + 1].level = level + 1;
		nodes[level + 1].index = index >> 1;
		merkle_node_hash(left, nodes[level].hash, nodes[level + 1].hash);
		level++;
	}
	memcpy(out, nodes, (level + 1) * sizeof(nodes[0]));
	*n = level + 1;
	return 0;
}

/* MTH of leaves [start, start + len), where start is a multiple of the smallest power of two
 * >= len (true of every subtree RFC 9162's recursions name): the perfect subtrees given by
 * len's set bits, from the left, folded right to left. */
static int range_hash(const struct merkle_nodes *t, uint64_t start, uint64_t len,
		      uint8_t out[MERKLE_HASH_LEN])
{
	hash_t parts[64];
	size_t n = 0;
	int level, r;

	if (len == 0) {
		sha256(out, NULL, 0);
		return 0;
	}
	for (level = 63; level >= 0; level--) {
		uint64_t width = UINT64_C(1) << level;
		if (!(len & width))
			continue;
		if ((r = t->get(t->arg, (uint32_t)level, start >> level, parts[n])) != 0)
			return r;
		n++;
		start += width;
	}
	while (n > 1) {
		merkle_node_hash(parts[n - 2], parts[n - 1], parts[n - 2]);
		n--;
	}
	memcpy(out, parts[0], MERKLE_HASH_LEN);
	return 0;
}

int merkle_root(const struct merkle_nodes *t, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
	if (size > MERKLE_MAX_SIZE)
		return ERR_INVAL;
	return range_hash(t, 0, size, out);
}

/* Copies the hashes collected top-down to proof in RFC order (deepest first). */
static int proof_emit(hash_t *path, size_t len, uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap,
		      size_t *n)
{
	size_t i;

	if (len > cap)
		return ERR_LIMIT;
	for (i = 0; i < len; i++)
		memcpy(proof[i], path[len - 1 - i], MERKLE_HASH_LEN);
	*n = len;
	return 0;
}

int merkle_prove_inclusion(const struct merkle_nodes *t, uint64_t index, uint64_t size,
			   uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	hash_t path[MERKLE_MAX_PROOF];
	uint64_t start = 0, len = size, k;
	size_t count = 0;
	int r;

	if (index >= size || size > MERKLE_MAX_SIZE)
		return ERR_INVAL;
	/* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])    if m < k
	 *               = PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise */
	while (len > 1) {
		k = split_point(len);
		if (index < start + k) {
			r = range_hash(t, start + k, len - k, path[count]);
			len = k;
		} else {
			r = range_hash(t, start, k, path[count]);
			start += k;
			len -= k;
		}
		if (r != 0)
			return r;
		count++;
	}
	return proof_emit(path, count, proof, cap, n);
}

int merkle_prove_consistency(const struct merkle_nodes *t, uint64_t size1, uint64_t size2,
			     uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap, size_t *n)
{
	hash_t path[MERKLE_MAX_PROOF];
	uint64_t start = 0, m = size1, len = size2, k;
	size_t count = 0;
	int whole = 1, r = 0; /* whole: RFC 9162's b, "m is the original first size" */

	if (size1 > size2 || size2 > MERKLE_MAX_SIZE)
		return ERR_INVAL;
	if (size1 == 0)
		return proof_emit(path, 0, proof, cap, n);
	/* SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         if m <= k
	 *                      = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) otherwise
	 * SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])} */
	while (m < len) {
		k = split_point(len);
		if (m <= k) {
			r = range_hash(t, start + k, len - k, path[count]);
			len = k;
		} else {
			r = range_hash(t, start, k, path[count]);
			start += k;
			m -= k;
			len -= k;
			whole = 0;
		}
		if (r != 0)
			return r;
		count++;
	}
	if (!whole && (r = range_hash(t, start, len, path[count++])) != 0)
		return r;
	return proof_emit(path, count, proof, cap, n);
}
