/* Fuzzes the Merkle proof verifiers. Input: a flags byte, two 64-bit big-endian numbers
 * (index and size, or size1 and size2), two hashes (leaf and root, or root1 and root2), then
 * the proof, 32 bytes per hash.
 * With FLAG_REAL the numbers are reduced to a synthetic tree of TREE leaves and the hashes are
 * replaced by its real leaf hash and roots: then the verifier must accept exactly the proof
 * that merkle_prove_* generates (accepting another one would take a SHA-256 collision). */
#include "crypto/merkle.h"
#include "lib/err.h"

#include <stdint.h>
#include <string.h>

enum {
	FLAG_CONSISTENCY = 1,
	FLAG_REAL = 2,
	TREE = 64,
	HEADER = 1 + 8 + 8 + 2 * MERKLE_HASH_LEN,
	MAX_IN = MERKLE_MAX_PROOF + 2,
	LEVELS = 7, /* log2(TREE) + 1 */
};

typedef uint8_t hash_t[MERKLE_HASH_LEN];

struct input {
	uint8_t flags;
	uint64_t a, b;
	hash_t h1, h2;
	hash_t proof[MAX_IN];
	size_t n;
};

struct tree {
	hash_t node[LEVELS][TREE];
	uint64_t count[LEVELS];
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tree_get(void *arg, uint32_t level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct tree *t = arg;

	if (level >= LEVELS || index >= t->count[level])
		return ERR_NOTFOUND;
	memcpy(out, t->node[level][index], MERKLE_HASH_LEN);
	return 0;
}

static void tree_build(struct tree *t)
{
	struct merkle_nodes rd = { tree_get, t };
	struct merkle_node nodes[MERKLE_MAX_NODES];
	uint64_t i;
	size_t n, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < TREE; i++) {
		uint8_t entry[8], leaf[MERKLE_HASH_LEN];
		for (j = 0; j < 8; j++)
			entry[j] = (uint8_t)(i >> (56 - 8 * j));
		merkle_leaf_hash(entry, sizeof(entry), leaf);
		if (merkle_append(&rd, i, leaf, nodes, &n) != 0)
			__builtin_trap();
		for (j = 0; j < n; j++)
			memcpy(t->node[nodes[j].level][t->count[nodes[j].level]++], nodes[j].hash,
			       MERKLE_HASH_LEN);
	}
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void input_parse(const uint8_t *data, size_t size, struct input *in)
{
	uint8_t head[HEADER] = { 0 };
	size_t rest;

	if (size > 0)
		memcpy(head, data, size < HEADER ? size : HEADER);
	in->flags = head[0];
	in->a = be64(head + 1);
	in->b = be64(head + 9);
	memcpy(in->h1, head + 17, MERKLE_HASH_LEN);
	memcpy(in->h2, head + 17 + MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	rest = size > HEADER ? size - HEADER : 0;
	in->n = rest / MERKLE_HASH_LEN < MAX_IN ? rest / MERKLE_HASH_LEN : MAX_IN;
	if (in->n > 0)
		memcpy(in->proof, data + HEADER, in->n * MERKLE_HASH_LEN);
}

static int verify(const struct input *in)
{
	int r;

	if (in->flags & FLAG_CONSISTENCY)
		r = merkle_verify_consistency(in->a, in->b, in->h1, in->h2,
					      (const hash_t *)in->proof, in->n);
	else
		r = merkle_verify_inclusion(in->a, in->b, in->h1, (const hash_t *)in->proof, in->n,
					    in->h2);
	if (r != 0 && r != ERR_PROTO && r != ERR_CRYPTO)
		__builtin_trap();
	if (r == 0 && ((in->flags & FLAG_CONSISTENCY) ? in->a > in->b : in->a >= in->b))
		__builtin_trap();
	return r;
}

/* Puts the synthetic tree's real hashes in; returns the proof it generates in want[0..*n). */
static int make_real(struct input *in, hash_t *want, size_t *n)
{
	struct tree t;
	struct merkle_nodes rd = { tree_get, &t };
	int r;

	tree_build(&t);
	in->a %= TREE + 1;
	in->b %= TREE + 1;
	if (in->flags & FLAG_CONSISTENCY) {
		if (in->a > in->b)
			return -1;
		if (merkle_root(&rd, in->a, in->h1) != 0 || merkle_root(&rd, in->b, in->h2) != 0)
			__builtin_trap();
		r = merkle_prove_consistency(&rd, in->a, in->b, want, MERKLE_MAX_PROOF, n);
	} else {
		if (in->a >= in->b)
			return -1;
		memcpy(in->h1, t.node[0][in->a], MERKLE_HASH_LEN);
		if (merkle_root(&rd, in->b, in->h2) != 0)
			__builtin_trap();
		r = merkle_prove_inclusion(&rd, in->a, in->b, want, MERKLE_MAX_PROOF, n);
	}
	if (r != 0)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	hash_t want[MERKLE_MAX_PROOF];
	size_t n = 0;
	int real = 0, same, r;

	input_parse(data, size, &in);
	if (in.flags & FLAG_REAL)
		real = make_real(&in, want, &n) == 0;
	r = verify(&in);
	if (!real)
		return 0;
	same = in.n == n && memcmp(in.proof, want, n * MERKLE_HASH_LEN) == 0;
	if ((r == 0) != same)
		__builtin_trap();
	return 0;
}
