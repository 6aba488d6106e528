/* store/log_check.h: the node verifying its own log from its store, in pages; the state
 * remembered for start-up; tampering with entries, heads and the state, each named. */
#include "testutil.h"

#include "crypto/identity.h"
#include "lib/err.h"
#include "store/log_check.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/log_entry.h"
#include "wire/tree_head.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 UINT64_C(1700000000000)
#define NOW (T0 + UINT64_C(86400000))

struct fixture {
	char dir[256], path[512];
	struct store *s;
	struct identity id, peer;
	uint64_t time;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
	snprintf(f->path, sizeof(f->path), "%s/coex.db", f->dir);
	assert_int_equal(store_open(f->path, &f->s), 0);
	assert_int_equal(identity_generate(&f->id), 0);
	assert_int_equal(identity_generate(&f->peer), 0);
	f->time = T0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	tu_rmtree(f->dir);
	identity_wipe(&f->id);
	identity_wipe(&f->peer);
	free(f);
	return 0;
}

static void append(struct fixture *f)
{
	struct log_entry e;
	uint8_t *buf;
	size_t len;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_PARTNER_ADDED;
	e.time_ms = f->time++;
	memcpy(e.peer, f->peer.pk, 32);
	snprintf(e.note, sizeof(e.note), "globex");
	assert_int_equal(log_entry_encode(&e, &buf, &len), 0);
	assert_int_equal(store_log_append(f->s, buf, len, NULL), 0);
	free(buf);
}

static void sign_head(struct fixture *f)
{
	struct tree_head th;
	struct tree_head h;

	memset(&th, 0, sizeof(th));
	assert_int_equal(store_log_size(f->s, &th.size), 0);
	assert_int_equal(store_log_root(f->s, th.size, th.root), 0);
	th.time_ms = f->time += 1000;
	assert_int_equal(tree_head_sign(&f->id, &th), 0);
	h.size = th.size;
	memcpy(h.root, th.root, 32);
	h.time_ms = th.time_ms;
	memcpy(h.signature, th.signature, 64);
	assert_int_equal(store_head_add(f->s, &h), 0);
}

/* n entries, a head after every `every` of them (and at the end). */
static void build(struct fixture *f, size_t n, size_t every)
{
	assert_int_equal(store_batch_begin(f->s), 0);
	for (size_t i = 1; i <= n; i++) {
		append(f);
		if (i % every == 0 || i == n)
			sign_head(f);
	}
	assert_int_equal(store_batch_commit(f->s), 0);
}

/* Verifies from st to the end; returns the number of pages. */
static int check_all(struct fixture *f, struct log_check_state *st, struct log_check_result *res)
{
	int pages = 0;

	do {
		assert_int_equal(log_check_page(f->s, f->id.pk, NOW, st, res), 0);
		pages++;
	} while (!res->done);
	return pages;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Flips the last byte of entry idx in the database file, as an editor of the file would.
 * Twice restores it. */
static void tamper_entry(const char *path, int idx)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t buf[512];
	int n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT entry FROM log_entries WHERE idx = ?1", -1,
					    &st, NULL), SQLITE_OK);
	sqlite3_bind_int(st, 1, idx);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	assert_true(n > 0 && n <= (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	buf[n - 1] ^= 1;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE log_entries SET entry = ?1 WHERE idx = ?2",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, buf, n, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, idx);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void expect_bad(struct fixture *f, uint64_t index, const char *what)
{
	struct log_check_state st;
	struct log_check_result res;

	memset(&st, 0, sizeof(st));
	check_all(f, &st, &res);
	assert_false(res.ok);
	if (res.first_bad_index != index || !strstr(res.reason, what))
		fail_msg("got \"%s\" at %llu; expected \"%s\" at %llu", res.reason,
			 (unsigned long long)res.first_bad_index, what, (unsigned long long)index);
}

static void test_empty_log(void **state)
{
	struct fixture *f = *state;
	struct log_check_state st;
	struct log_check_result res;
	struct store_log_mark m;
	char err[256];

	memset(&st, 0, sizeof(st));
	assert_int_equal(check_all(f, &st, &res), 1);
	assert_true(res.ok);
	assert_int_equal(res.log_size, 0);
	assert_int_equal(store_log_mark_get(f->s, &m), ERR_NOTFOUND);
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), 0);
	assert_int_equal(store_log_mark_get(f->s, &m), 0);
	assert_int_equal(m.size, 0);
}

static void test_pages_cover_the_log(void **state)
{
	struct fixture *f = *state;
	struct log_check_state st;
	struct log_check_result res;
	int pages;

	build(f, 10000, 3);
	memset(&st, 0, sizeof(st));
	pages = check_all(f, &st, &res);
	assert_true(res.ok);
	assert_true(pages >= 3);
	assert_int_equal(res.log_size, 10000);
	assert_int_equal(res.head_count, 3334);
	assert_int_equal(st.range.size, 10000);
	assert_int_equal(st.heads, 3334);
	assert_int_equal(res.uncovered, 0);
	/* a state that does not match its head is refused, not trusted */
	memset(&st, 0, sizeof(st));
	assert_int_equal(log_check_page(f->s, f->id.pk, NOW, &st, &res), 0);
	st.range.hash[0][0] ^= 1;
	assert_int_equal(log_check_page(f->s, f->id.pk, NOW, &st, &res), ERR_INVAL);
	st.range.hash[0][0] ^= 1;
	st.head_seq++;
	assert_int_equal(log_check_page(f->s, f->id.pk, NOW, &st, &res), ERR_INVAL);
}

/* A check runs in a read transaction of its own (a BEGIN the store did not begin): what
 * another connection appended since the last check is seen, not a size remembered from it
 * (the store caches the log's size only inside a commit batch). */
static void test_sees_other_writers(void **state)
{
	struct fixture *f = *state;
	struct log_check_state st;
	struct log_check_result res;
	struct store *mine = f->s, *other = NULL;

	build(f, 5, 5);
	memset(&st, 0, sizeof(st));
	check_all(f, &st, &res);
	assert_true(res.ok);
	assert_int_equal(res.log_size, 5);
	assert_int_equal(store_open(f->path, &other), 0);
	f->s = other;
	build(f, 3, 3);
	f->s = mine;
	store_close(other);
	memset(&st, 0, sizeof(st));
	check_all(f, &st, &res);
	assert_true(res.ok);
	assert_int_equal(res.log_size, 8);
	assert_int_equal(res.head_count, 2);
}

static void test_changed_entry(void **state)
{
	struct fixture *f = *state;

	build(f, 20, 1);
	tamper_entry(f->path, 5);
	expect_bad(f, 5, "entry 5: its bytes do not match the leaf hash stored for it");
	/* the tree's leaf rewritten to match: the signed head still tells */
	raw_exec(f->path, "UPDATE log_nodes SET hash = (SELECT hash FROM log_nodes WHERE level = 0"
		 " AND idx = 6) WHERE level = 0 AND idx = 5");
	raw_exec(f->path, "UPDATE log_entries SET entry = (SELECT entry FROM log_entries WHERE"
		 " idx = 6) WHERE idx = 5");
	expect_bad(f, 5, "entry 5: leaf does not match head 5's root");
}

static void test_changed_or_missing_parts(void **state)
{
	struct fixture *f = *state;

	build(f, 12, 2);
	raw_exec(f->path, "UPDATE tree_heads SET signature = zeroblob(64) WHERE seq = 3");
	expect_bad(f, 5, "head 2: signature does not verify with the node's key");
	raw_exec(f->path, "UPDATE tree_heads SET size = 3 WHERE seq = 3");
	expect_bad(f, 3, "head 2: out of place (size 3 after 4 entries)");
	raw_exec(f->path, "DELETE FROM tree_heads WHERE seq = 3");
	raw_exec(f->path, "DELETE FROM log_entries WHERE idx = 8");
	expect_bad(f, 8, "entry 8: missing (entry 9 comes next)");
}

static void test_at_start_goes_on_from_its_mark(void **state)
{
	struct fixture *f = *state;
	struct store_log_mark m;
	char err[512];

	build(f, 30, 3);
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), 0);
	assert_int_equal(store_log_mark_get(f->s, &m), 0);
	assert_int_equal(m.size, 30);
	assert_int_equal(m.heads, 10);
	/* below the mark: not looked at again at start-up (coex log verify still finds it) */
	tamper_entry(f->path, 4);
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), 0);
	expect_bad(f, 4, "entry 4: its bytes do not match");
	tamper_entry(f->path, 4);
	/* above the mark: start-up refuses, naming the entry */
	build(f, 9, 3);
	tamper_entry(f->path, 33);
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), ERR_CRYPTO);
	assert_non_null(strstr(err, "entry 33: its bytes do not match"));
	assert_int_equal(store_log_mark_get(f->s, &m), 0);
	assert_int_equal(m.size, 30); /* not moved */
	tamper_entry(f->path, 33);
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), 0);
	assert_int_equal(store_log_mark_get(f->s, &m), 0);
	assert_int_equal(m.size, 39);
	/* a mark that no longer matches the heads: verified again from the start */
	raw_exec(f->path, "UPDATE log_checked SET range = zeroblob(length(range))");
	assert_int_equal(log_check_at_start(f->s, f->id.pk, err, sizeof(err)), 0);
	assert_int_equal(store_log_mark_get(f->s, &m), 0);
	assert_int_equal(m.size, 39);
}

/* Heads dated ahead of the clock are what a clock corrected backwards leaves behind: the
 * node's own check accepts them (signatures and roots decide), so it is not locked out. */
static void test_heads_in_the_future_accepted(void **state)
{
	struct fixture *f = *state;
	struct log_check_state st;
	struct log_check_result res;

	f->time = NOW + 10 * 60 * 1000;
	build(f, 3, 1);
	memset(&st, 0, sizeof(st));
	check_all(f, &st, &res);
	assert_true(res.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_cover_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sees_other_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_or_missing_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_at_start_goes_on_from_its_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heads_in_the_future_accepted, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
