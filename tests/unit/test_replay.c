/* The replay cache (wire/replay.h): detection, window expiry, eviction of the oldest at
 * capacity, checked against a plain list model under heavy churn. */
#include "testutil.h"

#include "lib/err.h"
#include "wire/replay.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void key_of(uint32_t n, uint8_t key[32])
{
	memset(key, 0, 32);
	randombytes_buf_deterministic(key, 32, (const uint8_t[32]){(uint8_t)n, (uint8_t)(n >> 8),
								(uint8_t)(n >> 16), 0x7e});
}

static void test_new_and_free(void **state)
{
	struct replay_cache *rc = NULL;

	(void)state;
	assert_int_equal(replay_cache_new(0, &rc), ERR_INVAL);
	assert_null(rc);
	replay_cache_free(NULL);
	assert_int_equal(replay_cache_new(1, &rc), 0);
	assert_non_null(rc);
	replay_cache_free(rc);
}

static void test_insert_detect(void **state)
{
	struct replay_cache *rc;
	uint8_t a[32], b[32];

	(void)state;
	key_of(1, a);
	key_of(2, b);
	assert_int_equal(replay_cache_new(16, &rc), 0);
	assert_int_equal(replay_cache_insert(rc, a, 100, 1000), 0);
	assert_int_equal(replay_cache_insert(rc, a, 100, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, b, 100, 1000), 0);
	assert_int_equal(replay_cache_insert(rc, a, 500, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, b, 500, 1000), ERR_REPLAY);
	/* keys differing only after the hashed bytes, and in one bit */
	b[0] = a[0] ^ 1;
	memcpy(b + 1, a + 1, 31);
	assert_int_equal(replay_cache_insert(rc, b, 500, 1000), 0);
	memcpy(b, a, 32);
	b[31] ^= 0x80;
	assert_int_equal(replay_cache_insert(rc, b, 500, 1000), 0);
	replay_cache_free(rc);
}

static void test_window_expiry(void **state)
{
	struct replay_cache *rc;
	uint8_t a[32], b[32];

	(void)state;
	key_of(1, a);
	key_of(2, b);
	assert_int_equal(replay_cache_new(16, &rc), 0);
	assert_int_equal(replay_cache_insert(rc, a, 1000, 500), 0);
	assert_int_equal(replay_cache_insert(rc, b, 1200, 500), 0);
	/* exactly at the end of the window: still a replay */
	assert_int_equal(replay_cache_insert(rc, a, 1500, 500), ERR_REPLAY);
	/* one past it: forgotten, and recorded anew */
	assert_int_equal(replay_cache_insert(rc, a, 1501, 500), 0);
	assert_int_equal(replay_cache_insert(rc, b, 1700, 500), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, a, 2001, 500), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, a, 2002, 500), 0);
	/* a long jump forward forgets everything */
	assert_int_equal(replay_cache_insert(rc, b, 1000000, 500), 0);
	replay_cache_free(rc);
}

static void test_capacity_evicts_oldest(void **state)
{
	struct replay_cache *rc;
	uint8_t k[8][32];

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		key_of(i, k[i]);
	assert_int_equal(replay_cache_new(4, &rc), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(replay_cache_insert(rc, k[i], 10, 1000), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(replay_cache_insert(rc, k[i], 10, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, k[4], 11, 1000), 0);  /* evicts k0 */
	assert_int_equal(replay_cache_insert(rc, k[1], 11, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, k[0], 12, 1000), 0);  /* new again; evicts k1 */
	assert_int_equal(replay_cache_insert(rc, k[1], 12, 1000), 0);  /* evicts k2 */
	assert_int_equal(replay_cache_insert(rc, k[3], 12, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, k[4], 12, 1000), ERR_REPLAY);
	assert_int_equal(replay_cache_insert(rc, k[2], 12, 1000), 0);
	replay_cache_free(rc);
}

/* The model: a FIFO list of (key, seen) with the same rules, in the plainest code. */
struct model {
	uint32_t *keys;
	uint64_t *seen;
	size_t count, cap;
};

static int model_insert(struct model *m, uint32_t key, uint64_t now, uint64_t window)
{
	size_t drop = 0;

	while (drop < m->count && m->seen[drop] + window < now)
		drop++;
	memmove(m->keys, m->keys + drop, (m->count - drop) * sizeof(*m->keys));
	memmove(m->seen, m->seen + drop, (m->count - drop) * sizeof(*m->seen));
	m->count -= drop;
	for (size_t i = 0; i < m->count; i++)
		if (m->keys[i] == key)
			return ERR_REPLAY;
	if (m->count == m->cap) {
		memmove(m->keys, m->keys + 1, (m->count - 1) * sizeof(*m->keys));
		memmove(m->seen, m->seen + 1, (m->count - 1) * sizeof(*m->seen));
		m->count--;
	}
	m->keys[m->count] = key;
	m->seen[m->count] = now;
	m->count++;
	return 0;
}

/* Keys of a pool; with `collide`, their first 8 bytes (what the cache hashes) come from a
 * handful of values, so probe runs grow long and every deletion re-inserts a run. */
static void pool_make(uint8_t (*pool)[32], size_t n, int collide)
{
	for (size_t i = 0; i < n; i++) {
		key_of((uint32_t)i, pool[i]);
		if (collide)
			memset(pool[i], (int)(i % 5), 8);
	}
}

/* Returns how many inserts found the model full (so eviction by capacity was possible). */
static size_t churn(size_t cap, size_t pool_n, int collide, uint64_t window, uint32_t max_step,
		  size_t ops)
{
	uint8_t (*pool)[32] = calloc(pool_n, 32);
	struct model m = {calloc(cap, sizeof(uint32_t)), calloc(cap, sizeof(uint64_t)), 0, cap};
	struct replay_cache *rc;
	uint64_t now = 1000;
	size_t replays = 0, evictions_seen = 0;

	assert_non_null(pool);
	assert_non_null(m.keys);
	assert_non_null(m.seen);
	pool_make(pool, pool_n, collide);
	assert_int_equal(replay_cache_new(cap, &rc), 0);
	for (size_t i = 0; i < ops; i++) {
		uint32_t k = randombytes_uniform((uint32_t)pool_n);
		int want, got;

		now += max_step ? randombytes_uniform(max_step + 1) : 0;
		evictions_seen += m.count == cap;
		want = model_insert(&m, k, now, window);
		got = replay_cache_insert(rc, pool[k], now, window);
		if (want != got)
			fail_msg("op %zu (key %u, now %llu): cache says %d, model says %d", i, k,
				 (unsigned long long)now, got, want);
		replays += got == ERR_REPLAY;
	}
	/* the run exercised both outcomes */
	assert_true(replays > 0 && replays < ops);
	replay_cache_free(rc);
	free(pool);
	free(m.keys);
	free(m.seen);
	return evictions_seen;
}

static void test_churn_random_keys(void **state)
{
	(void)state;
	/* 100k inserts: a small cache, a pool three times its size, time creeping forward */
	assert_true(churn(64, 192, 0, 400, 10, 100000) > 1000);
}

static void test_churn_colliding_hashes(void **state)
{
	(void)state;
	assert_true(churn(64, 200, 1, 400, 10, 100000) > 1000);
}

static void test_churn_window_dominates(void **state)
{
	(void)state;
	/* time moves fast: entries mostly expire before the cache fills */
	assert_int_equal(churn(128, 300, 1, 50, 20, 50000), 0);
}

static void test_churn_capacity_dominates(void **state)
{
	(void)state;
	/* the clock stands still: only capacity evicts */
	assert_true(churn(32, 40, 1, 1000, 0, 50000) > 1000);
	assert_true(churn(1, 3, 0, 1000, 0, 10000) > 1000);
}

/* The node's size: 8192 keys, all seen at once and all remembered; the next evicts one. */
static void test_full_size(void **state)
{
	enum { CAP = 8192 };
	struct replay_cache *rc;
	uint8_t key[32];

	(void)state;
	assert_int_equal(replay_cache_new(CAP, &rc), 0);
	for (uint32_t i = 0; i < CAP; i++) {
		key_of(i, key);
		assert_int_equal(replay_cache_insert(rc, key, 5, 600000), 0);
	}
	for (uint32_t i = 0; i < CAP; i++) {
		key_of(i, key);
		assert_int_equal(replay_cache_insert(rc, key, 6, 600000), ERR_REPLAY);
	}
	key_of(CAP, key);
	assert_int_equal(replay_cache_insert(rc, key, 7, 600000), 0);
	key_of(0, key);
	assert_int_equal(replay_cache_insert(rc, key, 7, 600000), 0);
	key_of(2, key);
	assert_int_equal(replay_cache_insert(rc, key, 7, 600000), ERR_REPLAY);
	replay_cache_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_free),
		cmocka_unit_test(test_insert_detect),
		cmocka_unit_test(test_window_expiry),
		cmocka_unit_test(test_capacity_evicts_oldest),
		cmocka_unit_test(test_churn_random_keys),
		cmocka_unit_test(test_churn_colliding_hashes),
		cmocka_unit_test(test_churn_window_dominates),
		cmocka_unit_test(test_churn_capacity_dominates),
		cmocka_unit_test(test_full_size),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
