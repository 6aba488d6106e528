/* store_msg.h: the exchange log (entries, tree nodes, proofs) and signed tree heads.
 * Roots are checked against a naive RFC 9162 MTH computed here from the entries; proofs
 * with crypto/merkle's verifiers. */
#include "testutil.h"

#include "crypto/merkle.h"
#include "lib/err.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SMALL = 40, LARGE = 10000 };

struct fixture {
	char dir[256];
	char path[512];
	struct store *s;
	uint8_t (*leaves)[32]; /* leaf hashes of the entries appended so far */
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->leaves = calloc(LARGE, sizeof(*f->leaves));
	assert_non_null(f->leaves);
	snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
	snprintf(f->path, sizeof(f->path), "%s/coex.db", f->dir);
	assert_int_equal(store_open(f->path, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	tu_rmtree(f->dir);
	free(f->leaves);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->path, &f->s), 0);
}

/* Entry i: i % 7 bytes (entry 0 is empty), salted so two runs can differ. */
static size_t entry(size_t i, uint8_t salt, uint8_t buf[8])
{
	size_t len = i % 7;

	for (size_t j = 0; j < len; j++)
		buf[j] = (uint8_t)(i * 31 + j * 5 + salt);
	return len;
}

static void ref_leaf(const uint8_t *e, size_t len, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	const uint8_t zero = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, e, len);
	crypto_hash_sha256_final(&st, out);
}

/* MTH(D[n]) of RFC 9162 section 2.1.1, recursively. */
static void ref_mth(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	uint8_t l[32], r[32];
	const uint8_t one = 0x01;
	uint64_t k = 1;

	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(leaves, k, l);
	ref_mth(leaves + k, n - k, r);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &one, 1);
	crypto_hash_sha256_update(&st, l, 32);
	crypto_hash_sha256_update(&st, r, 32);
	crypto_hash_sha256_final(&st, out);
}

/* Appends entries [f->n, f->n + count) with salt, remembering their leaf hashes. */
static void append(struct fixture *f, size_t count, uint8_t salt)
{
	uint8_t buf[8];
	uint64_t index = 99;

	for (size_t i = f->n; i < f->n + count; i++) {
		size_t len = entry(i, salt, buf);
		assert_int_equal(store_log_append(f->s, len ? buf : NULL, len, &index), 0);
		assert_int_equal(index, i);
		ref_leaf(buf, len, f->leaves[i]);
	}
	f->n += count;
}

static void assert_root(struct fixture *f, uint64_t size)
{
	uint8_t got[32], want[32];

	assert_int_equal(store_log_root(f->s, size, got), 0);
	ref_mth(f->leaves, size, want);
	assert_memory_equal(got, want, 32);
}

static void assert_inclusion(struct fixture *f, uint64_t index, uint64_t size,
			     const uint8_t root[32])
{
	uint8_t proof[STORE_LOG_PROOF_MAX][32];
	size_t n = 999;

	assert_int_equal(store_log_prove_inclusion(f->s, index, size, proof, &n), 0);
	assert_true(n <= STORE_LOG_PROOF_MAX);
	assert_int_equal(merkle_verify_inclusion(index, size, f->leaves[index],
						 (const uint8_t (*)[32])proof, n, root), 0);
	if (n == 0)
		return;
	proof[n - 1][7] ^= 1;
	assert_int_equal(merkle_verify_inclusion(index, size, f->leaves[index],
						 (const uint8_t (*)[32])proof, n, root),
			 ERR_CRYPTO);
}

static void assert_consistency(struct fixture *f, uint64_t size1, uint64_t size2,
			       const uint8_t root1[32], const uint8_t root2[32])
{
	uint8_t proof[STORE_LOG_PROOF_MAX][32];
	size_t n = 999;

	assert_int_equal(store_log_prove_consistency(f->s, size1, size2, proof, &n), 0);
	assert_true(n <= STORE_LOG_PROOF_MAX);
	assert_int_equal(merkle_verify_consistency(size1, size2, root1, root2,
						   (const uint8_t (*)[32])proof, n), 0);
	if (n == 0)
		return;
	proof[0][0] ^= 0x80;
	assert_int_equal(merkle_verify_consistency(size1, size2, root1, root2,
						   (const uint8_t (*)[32])proof, n),
			 ERR_CRYPTO);
}

static int64_t raw_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	uint8_t root[32], want[32], proof[STORE_LOG_PROOF_MAX][32], *e = NULL;
	struct tree_head h;
	uint64_t size = 99;
	size_t n = 99, len = 99;

	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(store_log_root(f->s, 0, root), 0);
	crypto_hash_sha256(want, NULL, 0);
	assert_memory_equal(root, want, 32);
	assert_int_equal(store_log_root(f->s, 1, root), ERR_INVAL);
	assert_int_equal(store_log_entry(f->s, 0, &e, &len, root), ERR_NOTFOUND);
	assert_null(e);
	assert_int_equal(len, 99);
	assert_int_equal(store_log_prove_inclusion(f->s, 0, 0, proof, &n), ERR_INVAL);
	assert_int_equal(store_log_prove_consistency(f->s, 0, 0, proof, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_log_prove_consistency(f->s, 0, 1, proof, &n), ERR_INVAL);
	assert_int_equal(store_head_latest(f->s, &h), ERR_NOTFOUND);
}

static void test_entries(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8], leaf[32], *e = NULL;
	size_t len = 0, want;
	uint64_t index = 99;

	append(f, 15, 0);
	assert_int_equal(store_log_append(f->s, NULL, 3, &index), ERR_INVAL);
	assert_int_equal(store_log_append(f->s, (const uint8_t *)"", 0, NULL), 0); /* 15 */
	ref_leaf(NULL, 0, f->leaves[f->n++]);
	assert_int_equal(store_log_size(f->s, &index), 0);
	assert_int_equal(index, 16);
	for (size_t i = 0; i < 16; i++) {
		want = i == 15 ? 0 : entry(i, 0, buf);
		assert_int_equal(store_log_entry(f->s, i, &e, &len, leaf), 0);
		assert_non_null(e); /* even when empty */
		assert_int_equal(len, want);
		assert_memory_equal(e, buf, want);
		assert_memory_equal(leaf, f->leaves[i], 32);
		free(e);
	}
	assert_int_equal(store_log_entry(f->s, 3, &e, &len, NULL), 0);
	assert_int_equal(len, 3);
	free(e);
	e = NULL;
	len = 99;
	memset(leaf, 0xee, sizeof(leaf));
	assert_int_equal(store_log_entry(f->s, 16, &e, &len, leaf), ERR_NOTFOUND);
	assert_int_equal(store_log_entry(f->s, UINT64_MAX, &e, &len, leaf), ERR_NOTFOUND);
	assert_null(e);
	assert_int_equal(len, 99);
	assert_int_equal(leaf[0], 0xee);
}

/* Every root, inclusion proof and consistency proof of a log of SMALL entries, as it grows
 * and afterwards (historic sizes). */
static void test_small_trees(void **state)
{
	struct fixture *f = *state;
	uint8_t roots[SMALL + 1][32], proof[STORE_LOG_PROOF_MAX][32];
	size_t n;

	assert_root(f, 0);
	for (size_t i = 0; i < SMALL; i++) {
		append(f, 1, 0);
		assert_root(f, f->n);
		/* one node per completed perfect subtree: 2n - popcount(n) */
		assert_int_equal(raw_count(f->path, "SELECT count(*) FROM log_nodes"),
				 2 * (int64_t)f->n - __builtin_popcountll(f->n));
	}
	for (uint64_t size = 0; size <= SMALL; size++) {
		assert_int_equal(store_log_root(f->s, size, roots[size]), 0);
		assert_root(f, size);
	}
	for (uint64_t size = 1; size <= SMALL; size++) {
		for (uint64_t index = 0; index < size; index++)
			assert_inclusion(f, index, size, roots[size]);
	}
	for (uint64_t size2 = 0; size2 <= SMALL; size2++) {
		for (uint64_t size1 = 0; size1 <= size2; size1++)
			assert_consistency(f, size1, size2, roots[size1], roots[size2]);
	}

	n = 999;
	assert_int_equal(store_log_root(f->s, SMALL + 1, roots[0]), ERR_INVAL);
	assert_int_equal(store_log_prove_inclusion(f->s, SMALL, SMALL, proof, &n), ERR_INVAL);
	assert_int_equal(store_log_prove_inclusion(f->s, 0, SMALL + 1, proof, &n), ERR_INVAL);
	assert_int_equal(store_log_prove_inclusion(f->s, UINT64_MAX, UINT64_MAX, proof, &n),
			 ERR_INVAL);
	assert_int_equal(store_log_prove_consistency(f->s, 5, SMALL + 1, proof, &n), ERR_INVAL);
	assert_int_equal(store_log_prove_consistency(f->s, 6, 5, proof, &n), ERR_INVAL);
	assert_int_equal(n, 999);
}

static void test_large_batch(void **state)
{
	struct fixture *f = *state;
	uint8_t root_full[32], r1[32], r2[32], want[32];
	uint64_t size;

	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, LARGE, 3);
	assert_int_equal(store_batch_commit(f->s), 0);
	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, LARGE);
	assert_root(f, LARGE);
	assert_int_equal(store_log_root(f->s, LARGE, root_full), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM log_nodes"),
			 2 * LARGE - __builtin_popcountll(LARGE));

	for (int i = 0; i < 300; i++) {
		uint64_t index = randombytes_uniform(LARGE);
		assert_inclusion(f, index, LARGE, root_full);
	}
	for (int i = 0; i < 60; i++) {
		uint64_t size2 = 1 + randombytes_uniform(LARGE);
		uint64_t size1 = randombytes_uniform((uint32_t)size2 + 1);
		uint64_t index = randombytes_uniform((uint32_t)size2);

		assert_int_equal(store_log_root(f->s, size1, r1), 0);
		assert_int_equal(store_log_root(f->s, size2, r2), 0);
		if (i % 6 == 0) { /* the naive MTH is O(n): check some against it */
			ref_mth(f->leaves, size2, want);
			assert_memory_equal(r2, want, 32);
		}
		assert_inclusion(f, index, size2, r2);
		assert_consistency(f, size1, size2, r1, r2);
		assert_consistency(f, size2, LARGE, r2, root_full);
	}
}

static void test_rollback(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	append(f, 5, 0);
	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, 6, 0);
	store_batch_rollback(f->s);
	f->n = 5;
	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, 5);
	assert_root(f, 5);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM log_nodes"), 2 * 5 - 2);
	/* no node of the undone entries is left to clash with or corrupt the new ones */
	append(f, 6, 0x55);
	for (uint64_t s = 0; s <= f->n; s++)
		assert_root(f, s);
}

/* Appends entry i with salt on another connection, as f's leaf i. */
static void append_other(struct fixture *f, struct store *other, size_t i, uint8_t salt)
{
	uint8_t buf[8];
	uint64_t index = 99;
	size_t len = entry(i, salt, buf);

	assert_int_equal(store_log_append(other, len ? buf : NULL, len, &index), 0);
	assert_int_equal(index, i);
	ref_leaf(buf, len, f->leaves[i]);
}

/* The connection caches tree nodes and, within a transaction, the log's size
 * (store_cache.c). Nodes a rollback undid must never be served, even when another
 * connection then writes other nodes in their place, where this one would not overwrite
 * them itself. */
static void test_cache_rollback(void **state)
{
	struct fixture *f = *state;
	struct store *other = NULL;
	uint64_t size = 0;
	uint8_t root[32];

	append(f, 4, 0);
	assert_int_equal(store_open(f->path, &other), 0);

	/* a whole batch undone: its leaf 4 is not served once another writer put its own */
	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, 2, 0x11);
	assert_root(f, 6); /* reads the batch's nodes, so they are cached */
	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, 6);
	store_batch_rollback(f->s);
	f->n = 4;
	append_other(f, other, 4, 0x22);
	append_other(f, other, 5, 0x22);
	f->n = 6;
	for (uint64_t s = 0; s <= f->n; s++)
		assert_root(f, s);
	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, 6);

	/* a savepoint undone, inside a batch that goes on: the append of leaf 7 wrote it, then
	 * its parent (1, 3) clashed with a row put there beforehand */
	raw_exec(f->path, "INSERT INTO log_nodes (level, idx, hash) VALUES (1, 3, zeroblob(32))");
	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, 1, 0x44);
	assert_int_equal(store_log_append(f->s, (const uint8_t *)"seven", 5, NULL), ERR_EXISTS);
	assert_int_equal(store_log_size(f->s, &size), 0);
	assert_int_equal(size, 7); /* the failed append's size is not kept */
	assert_int_equal(store_batch_commit(f->s), 0);
	raw_exec(f->path, "DELETE FROM log_nodes WHERE level = 1 AND idx = 3");
	append_other(f, other, 7, 0x33);
	f->n = 8;
	for (uint64_t s = 0; s <= f->n; s++)
		assert_root(f, s);
	ref_mth(f->leaves, f->n, root);
	for (uint64_t i = 0; i < f->n; i++)
		assert_inclusion(f, i, f->n, root); /* leaf 6's path is leaf 7 */
	store_close(other);
}

static struct tree_head head(struct fixture *f, uint64_t size, uint64_t time_ms)
{
	struct tree_head h;

	memset(&h, 0, sizeof(h));
	h.size = size;
	ref_mth(f->leaves, size, h.root);
	h.time_ms = time_ms;
	memset(h.signature, (int)(time_ms & 0xff), sizeof(h.signature));
	return h;
}

static void test_heads(void **state)
{
	struct fixture *f = *state;
	struct tree_head h, got;

	h = head(f, 0, 10); /* the empty log's head */
	assert_int_equal(store_head_add(f->s, &h), 0);
	assert_int_equal(store_head_latest(f->s, &got), 0);
	assert_memory_equal(&got, &h, sizeof(h));

	append(f, 3, 0);
	h = head(f, 3, 1000);
	assert_int_equal(store_head_add(f->s, &h), 0);
	assert_int_equal(store_head_latest(f->s, &got), 0);
	assert_memory_equal(&got, &h, sizeof(h));

	h = head(f, 3, 1001);
	h.root[5] ^= 1; /* not our root */
	assert_int_equal(store_head_add(f->s, &h), ERR_INVAL);
	h = head(f, 3, 1001);
	h.size = 4; /* beyond the log */
	assert_int_equal(store_head_add(f->s, &h), ERR_INVAL);
	h = head(f, 2, 1001); /* behind the latest head */
	assert_int_equal(store_head_add(f->s, &h), ERR_INVAL);
	assert_int_equal(store_head_latest(f->s, &got), 0);
	assert_int_equal(got.time_ms, 1000);

	h = head(f, 3, 2000); /* a batch with no new entries: same size, later time */
	assert_int_equal(store_head_add(f->s, &h), 0);
	assert_int_equal(store_head_latest(f->s, &got), 0);
	assert_memory_equal(&got, &h, sizeof(h));

	/* inside a batch, together with the entries it covers */
	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, 4, 0);
	h = head(f, 7, 3000);
	assert_int_equal(store_head_add(f->s, &h), 0);
	assert_int_equal(store_batch_commit(f->s), 0);
	reopen(f);
	assert_int_equal(store_head_latest(f->s, &got), 0);
	assert_memory_equal(&got, &h, sizeof(h));
}

static void test_reopen_persists(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8], leaf[32], *e;
	size_t len;

	assert_int_equal(store_batch_begin(f->s), 0);
	append(f, 20, 9);
	assert_int_equal(store_batch_commit(f->s), 0);
	append(f, 3, 9);
	reopen(f);
	for (uint64_t s = 0; s <= f->n; s++)
		assert_root(f, s);
	for (size_t i = 0; i < f->n; i++) {
		size_t want = entry(i, 9, buf);
		assert_int_equal(store_log_entry(f->s, i, &e, &len, leaf), 0);
		assert_int_equal(len, want);
		assert_memory_equal(e, buf, want);
		assert_memory_equal(leaf, f->leaves[i], 32);
		free(e);
	}
	append(f, 10, 9); /* and it grows on from there */
	for (uint64_t s = 20; s <= f->n; s++)
		assert_root(f, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_trees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
