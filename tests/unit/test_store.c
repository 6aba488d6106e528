#include "testutil.h"

#include "crypto/identity.h"
#include "lib/err.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[256];
	char path[512];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
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
	free(f);
	return 0;
}

static struct store_partner partner(const char *name, uint8_t fill)
{
	struct store_partner p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	memset(p.id, fill, sizeof(p.id));
	snprintf(p.address, sizeof(p.address), "%s.example:7400", name);
	p.added_ms = 1700000000000 + fill;
	return p;
}

static struct store_invite invite(uint8_t fill, int64_t created_ms, int64_t expires_ms)
{
	struct store_invite inv;

	memset(&inv, 0, sizeof(inv));
	memset(inv.invite_id, fill, sizeof(inv.invite_id));
	memset(inv.secret, fill ^ 0x5a, sizeof(inv.secret));
	inv.created_ms = created_ms;
	inv.expires_ms = expires_ms;
	return inv;
}

static void assert_partner_equal(const struct store_partner *a, const struct store_partner *b)
{
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->id, b->id, sizeof(a->id));
	assert_string_equal(a->address, b->address);
	assert_int_equal(a->added_ms, b->added_ms);
	assert_string_equal(a->introduced_by, b->introduced_by);
}

/* Runs one SQL string on the database file directly (fixtures and inspection). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void raw_text(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Sends stderr to a file while fn runs, and returns what was written (malloc'd). */
static char *capture_stderr(const char *dir, int (*fn)(const char *, struct store **),
			    const char *arg, int *r)
{
	char file[512];
	struct store *s = (struct store *)&s; /* must stay untouched on failure */
	int saved, fd;
	char *text;

	snprintf(file, sizeof(file), "%s/stderr.txt", dir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	*r = fn(arg, &s);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	assert_ptr_equal(s, (struct store *)&s);
	text = tu_read_file(file, NULL);
	unlink(file);
	return text;
}

static void test_open_creates_private_wal_db(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char buf[64];

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	raw_text(f->path, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	raw_text(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);
	store_close(NULL);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	char path[600];
	struct store *s = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/no/such/dir/coex.db", f->dir);
	assert_int_equal(store_open(path, &s), -ENOENT);
	assert_null(s);

	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, "this is not an SQLite database file!", 36), 36);
	close(fd);
	assert_int_equal(store_open(path, &s), ERR_STORE);
	assert_null(s);
}

static void test_partner_add_get_remove(void **state)
{
	struct fixture *f = *state;
	struct store_partner a = partner("globex", 1), b = partner("initech", 2), got, x;

	snprintf(b.introduced_by, sizeof(b.introduced_by), "globex");
	assert_int_equal(store_partner_add(f->s, &a), 0);
	assert_int_equal(store_partner_add(f->s, &b), 0);
	assert_int_equal(store_partner_get(f->s, a.id, &got), 0);
	assert_partner_equal(&got, &a);
	assert_int_equal(store_partner_get(f->s, b.id, &got), 0);
	assert_partner_equal(&got, &b);

	x = partner("globex", 3); /* name taken */
	assert_int_equal(store_partner_add(f->s, &x), ERR_EXISTS);
	x = partner("other", 1); /* id taken */
	assert_int_equal(store_partner_add(f->s, &x), ERR_EXISTS);
	x = partner("", 4);
	assert_int_equal(store_partner_add(f->s, &x), ERR_INVAL);
	x = partner("y", 4);
	memset(x.name, 'n', sizeof(x.name)); /* no NUL */
	assert_int_equal(store_partner_add(f->s, &x), ERR_INVAL);
	x = partner("y", 4);
	memset(x.address, 'a', sizeof(x.address));
	assert_int_equal(store_partner_add(f->s, &x), ERR_INVAL);
	x = partner("y", 4);
	memset(x.introduced_by, 'i', sizeof(x.introduced_by));
	assert_int_equal(store_partner_add(f->s, &x), ERR_INVAL);
	x = partner("y", 4);
	memset(x.name, 'n', STORE_NAME_MAX); /* longest name */
	x.name[STORE_NAME_MAX] = '\0';
	assert_int_equal(store_partner_add(f->s, &x), 0);

	memset(&got, 0xee, sizeof(got));
	x = got;
	assert_int_equal(store_partner_remove(f->s, a.id), 0);
	assert_int_equal(store_partner_remove(f->s, a.id), ERR_NOTFOUND);
	assert_int_equal(store_partner_get(f->s, a.id, &got), ERR_NOTFOUND);
	assert_memory_equal(&got, &x, sizeof(got)); /* untouched on failure */
	/* the name is free again */
	a.id[0] = 9;
	assert_int_equal(store_partner_add(f->s, &a), 0);
}

static void test_partner_find(void **state)
{
	struct fixture *f = *state;
	struct store_partner a = partner("globex", 0), b = partner("initech", 0), got;
	char id_a[IDENTITY_ID_LEN + 1], id_b[IDENTITY_ID_LEN + 1], ref[IDENTITY_ID_LEN + 1];

	/* a and b share their first 30 bytes, so their ids share a long prefix */
	b.id[30] = 0x01;
	b.id[31] = 0x80;
	identity_id_format(a.id, id_a);
	identity_id_format(b.id, id_b);
	assert_int_equal(store_partner_add(f->s, &a), 0);
	assert_int_equal(store_partner_add(f->s, &b), 0);

	assert_int_equal(store_partner_find(f->s, "globex", &got), 0);
	assert_partner_equal(&got, &a);
	assert_int_equal(store_partner_find(f->s, id_b, &got), 0);
	assert_partner_equal(&got, &b);
	assert_int_equal(store_partner_find(f->s, id_a, &got), 0);
	assert_partner_equal(&got, &a);

	/* a prefix both share is ambiguous; one more character decides */
	assert_int_equal(store_partner_find(f->s, "aaaa", &got), ERR_AMBIGUOUS);
	for (size_t len = STORE_ID_PREFIX_MIN; len < IDENTITY_ID_LEN; len++) {
		snprintf(ref, sizeof(ref), "%.*s", (int)len, id_b);
		if (strncmp(id_a, id_b, len) == 0) {
			assert_int_equal(store_partner_find(f->s, ref, &got), ERR_AMBIGUOUS);
			continue;
		}
		assert_int_equal(store_partner_find(f->s, ref, &got), 0);
		assert_partner_equal(&got, &b);
		for (size_t i = 0; i < len; i++) /* either case */
			ref[i] = (char)(ref[i] >= 'a' && ref[i] <= 'z' ? ref[i] - 32 : ref[i]);
		assert_int_equal(store_partner_find(f->s, ref, &got), 0);
		assert_partner_equal(&got, &b);
	}

	memset(&got, 0xee, sizeof(got));
	assert_int_equal(store_partner_find(f->s, "aaa", &got), ERR_NOTFOUND);   /* too short */
	assert_int_equal(store_partner_find(f->s, "bbbb", &got), ERR_NOTFOUND);  /* no match */
	assert_int_equal(store_partner_find(f->s, "aa1a", &got), ERR_NOTFOUND);  /* not base32 */
	assert_int_equal(store_partner_find(f->s, "", &got), ERR_NOTFOUND);
	assert_int_equal(store_partner_find(f->s, "nobody", &got), ERR_NOTFOUND);
	memcpy(ref, id_a, sizeof(ref));
	ref[IDENTITY_ID_LEN - 1] = 'b'; /* non-zero trailing bits: not an id */
	assert_int_equal(store_partner_find(f->s, ref, &got), ERR_NOTFOUND);
	ref[0] = 'b'; /* a valid id nobody has */
	ref[IDENTITY_ID_LEN - 1] = 'a';
	assert_int_equal(store_partner_find(f->s, ref, &got), ERR_NOTFOUND);
	assert_int_equal((uint8_t)got.name[0], 0xee);

	/* a local name wins over an id prefix */
	b = partner("aaaa", 7);
	assert_int_equal(store_partner_add(f->s, &b), 0);
	assert_int_equal(store_partner_find(f->s, "aaaa", &got), 0);
	assert_partner_equal(&got, &b);
}

static void test_partner_list(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"initech", "Acme", "globex", "acme"};
	static const char *const sorted[] = {"Acme", "acme", "globex", "initech"};
	struct store_partner *list = (struct store_partner *)1;
	size_t n = 99;

	assert_int_equal(store_partner_list(f->s, &list, &n), 0);
	assert_null(list);
	assert_int_equal(n, 0);
	for (int i = 0; i < 4; i++) {
		struct store_partner p = partner(names[i], (uint8_t)(i + 1));
		assert_int_equal(store_partner_add(f->s, &p), 0);
	}
	assert_int_equal(store_partner_list(f->s, &list, &n), 0);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(list[i].name, sorted[i]);
	assert_int_equal(list[2].id[0], 3);
	free(list);

	/* more than the initial capacity */
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%02d", i);
		struct store_partner p = partner(name, (uint8_t)(100 + i));
		assert_int_equal(store_partner_add(f->s, &p), 0);
	}
	assert_int_equal(store_partner_list(f->s, &list, &n), 0);
	assert_int_equal(n, 44);
	assert_string_equal(list[43].name, "p39");
	free(list);
}

static void test_partner_set_address(void **state)
{
	struct fixture *f = *state;
	struct store_partner a = partner("globex", 1), got;
	char longaddr[STORE_ADDRESS_MAX + 2];
	uint8_t other[IDENTITY_PK_LEN];

	assert_int_equal(store_partner_add(f->s, &a), 0);
	assert_int_equal(store_partner_set_address(f->s, a.id, "[::1]:7401"), 0);
	assert_int_equal(store_partner_get(f->s, a.id, &got), 0);
	assert_string_equal(got.address, "[::1]:7401");
	assert_int_equal(store_partner_set_address(f->s, a.id, ""), 0);
	assert_int_equal(store_partner_get(f->s, a.id, &got), 0);
	assert_string_equal(got.address, "");

	memset(other, 2, sizeof(other));
	assert_int_equal(store_partner_set_address(f->s, other, "x:1"), ERR_NOTFOUND);
	memset(longaddr, 'h', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	assert_int_equal(store_partner_set_address(f->s, a.id, longaddr), ERR_INVAL);
	longaddr[STORE_ADDRESS_MAX] = '\0';
	assert_int_equal(store_partner_set_address(f->s, a.id, longaddr), 0);
}

static void test_invite_add_get(void **state)
{
	struct fixture *f = *state;
	struct store_invite inv = invite(1, 1000, 2000), got, bad;
	uint8_t missing[STORE_INVITE_ID_LEN];

	assert_int_equal(store_invite_add(f->s, &inv), 0);
	memset(&got, 0xee, sizeof(got));
	assert_int_equal(store_invite_get(f->s, inv.invite_id, &got), 0);
	assert_memory_equal(&got, &inv, sizeof(inv));
	assert_int_equal(got.used_ms, 0);

	assert_int_equal(store_invite_add(f->s, &inv), ERR_EXISTS);
	bad = invite(2, 2000, 2000);
	assert_int_equal(store_invite_add(f->s, &bad), ERR_INVAL);
	bad = invite(2, 2000, 1000);
	assert_int_equal(store_invite_add(f->s, &bad), ERR_INVAL);

	/* used_ms / used_by are ignored: a new invite is unused */
	bad = invite(3, 1000, 2000);
	bad.used_ms = 1500;
	memset(bad.used_by, 7, sizeof(bad.used_by));
	assert_int_equal(store_invite_add(f->s, &bad), 0);
	assert_int_equal(store_invite_get(f->s, bad.invite_id, &got), 0);
	assert_int_equal(got.used_ms, 0);
	assert_int_equal(got.used_by[0], 0);

	memset(missing, 9, sizeof(missing));
	memset(&got, 0xee, sizeof(got));
	assert_int_equal(store_invite_get(f->s, missing, &got), ERR_NOTFOUND);
	assert_int_equal(got.secret[0], 0xee);
	sodium_memzero(&got, sizeof(got));
}

static void test_invite_redeem(void **state)
{
	struct fixture *f = *state;
	struct store_invite inv = invite(1, 1000, 5000), got;
	struct store_partner p = partner("globex", 0x42), stored, x;
	uint8_t missing[STORE_INVITE_ID_LEN];

	assert_int_equal(store_invite_add(f->s, &inv), 0);
	memset(missing, 9, sizeof(missing));
	assert_int_equal(store_invite_redeem(f->s, missing, 2000, &p, &stored), ERR_NOTFOUND);

	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 2000, &p, &stored), 0);
	assert_partner_equal(&stored, &p);
	assert_int_equal(store_partner_get(f->s, p.id, &x), 0);
	assert_partner_equal(&x, &p);
	assert_int_equal(store_invite_get(f->s, inv.invite_id, &got), 0);
	assert_int_equal(got.used_ms, 2000);
	assert_memory_equal(got.used_by, p.id, sizeof(p.id));

	/* one time only, even for the same partner */
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 2001, &p, NULL), ERR_USED);

	/* expiry is checked, and an expired attempt writes nothing */
	inv = invite(2, 1000, 5000);
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	x = partner("late", 0x43);
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 5000, &x, NULL), ERR_EXPIRED);
	assert_int_equal(store_partner_get(f->s, x.id, &stored), ERR_NOTFOUND);
	assert_int_equal(store_invite_get(f->s, inv.invite_id, &got), 0);
	assert_int_equal(got.used_ms, 0);
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 4999, &x, NULL), 0);

	/* a bad partner is refused before anything */
	inv = invite(3, 1000, 5000);
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	x = partner("", 0x44);
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 2000, &x, NULL), ERR_INVAL);
	sodium_memzero(&got, sizeof(got));
}

static void test_invite_redeem_names(void **state)
{
	struct fixture *f = *state;
	struct store_partner p, stored;
	struct store_invite inv;
	char longname[STORE_NAME_MAX + 1];

	p = partner("globex", 1);
	assert_int_equal(store_partner_add(f->s, &p), 0);
	for (uint8_t i = 2; i <= 3; i++) {
		char want[16];
		inv = invite(i, 0, 10);
		assert_int_equal(store_invite_add(f->s, &inv), 0);
		p = partner("globex", i);
		assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 1, &p, &stored), 0);
		snprintf(want, sizeof(want), "globex-%u", i);
		assert_string_equal(stored.name, want);
		assert_memory_equal(stored.id, p.id, sizeof(p.id));
	}

	/* a known id keeps its partner (and name) unchanged */
	inv = invite(4, 0, 10);
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	p = partner("brand-new-name", 2);
	p.address[0] = '\0';
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 1, &p, &stored), 0);
	assert_string_equal(stored.name, "globex-2");
	assert_string_equal(stored.address, "globex.example:7400");

	/* a suffix on a name of the longest length cuts the name, never inside a character */
	memset(longname, 'x', STORE_NAME_MAX);
	longname[STORE_NAME_MAX] = '\0';
	memcpy(longname + STORE_NAME_MAX - 3, "\xc3\xa9", 2); /* "é" at bytes 61..62 */
	p = partner(longname, 10);
	assert_int_equal(store_partner_add(f->s, &p), 0);
	inv = invite(5, 0, 10);
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	p = partner(longname, 11);
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 1, &p, &stored), 0);
	assert_int_equal(strlen(stored.name), STORE_NAME_MAX - 1);
	assert_memory_equal(stored.name, longname, STORE_NAME_MAX - 3);
	assert_string_equal(stored.name + STORE_NAME_MAX - 3, "-2");
}

static void test_invite_redeem_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct store_invite inv = invite(1, 0, 10), got;
	struct store_partner p, stored;

	/* "acme" and "acme-2" .. "acme-99" taken: the invite is marked used, then adding the
	 * partner fails, and the whole transaction must be undone */
	for (int i = 1; i <= STORE_NAME_SUFFIX_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), i == 1 ? "acme" : "acme-%d", i);
		p = partner(name, 0);
		p.id[0] = (uint8_t)i;
		assert_int_equal(store_partner_add(f->s, &p), 0);
	}
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	p = partner("acme", 0xaa);
	memset(&stored, 0xee, sizeof(stored));
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 1, &p, &stored), ERR_EXISTS);
	assert_int_equal((uint8_t)stored.name[0], 0xee);
	assert_int_equal(store_invite_get(f->s, inv.invite_id, &got), 0);
	assert_int_equal(got.used_ms, 0);
	assert_int_equal(got.used_by[0], 0);
	assert_int_equal(store_partner_get(f->s, p.id, &stored), ERR_NOTFOUND);

	/* and the store still works: a free name redeems the same invite */
	p = partner("acme corp", 0xaa);
	assert_int_equal(store_invite_redeem(f->s, inv.invite_id, 1, &p, &stored), 0);
	sodium_memzero(&got, sizeof(got));
}

static void test_invite_prune(void **state)
{
	struct fixture *f = *state;
	const int64_t now = 10 * STORE_INVITE_PRUNE_AFTER_MS;
	struct store_invite old_unused = invite(1, 0, now - STORE_INVITE_PRUNE_AFTER_MS - 1);
	struct store_invite recent = invite(2, 0, now - 1000);
	struct store_invite live = invite(3, 0, now + 1000);
	struct store_invite old_used = invite(4, 0, now - 2 * STORE_INVITE_PRUNE_AFTER_MS);
	struct store_partner p = partner("globex", 1);
	struct store_invite got;
	size_t n = 99;

	assert_int_equal(store_invite_add(f->s, &old_unused), 0);
	assert_int_equal(store_invite_add(f->s, &recent), 0);
	assert_int_equal(store_invite_add(f->s, &live), 0);
	assert_int_equal(store_invite_add(f->s, &old_used), 0);
	assert_int_equal(store_invite_redeem(f->s, old_used.invite_id, 1, &p, NULL), 0);

	assert_int_equal(store_invite_prune(f->s, now, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_invite_get(f->s, old_unused.invite_id, &got), ERR_NOTFOUND);
	assert_int_equal(store_invite_get(f->s, recent.invite_id, &got), 0);
	assert_int_equal(store_invite_get(f->s, live.invite_id, &got), 0);
	assert_int_equal(store_invite_get(f->s, old_used.invite_id, &got), 0);
	assert_int_equal(store_invite_prune(f->s, now, NULL), 0);
	assert_int_equal(store_invite_prune(f->s, INT64_MIN, &n), 0);
	assert_int_equal(n, 0);
	sodium_memzero(&got, sizeof(got));
}

static void test_reopen_persists(void **state)
{
	struct fixture *f = *state;
	struct store_partner a = partner("globex", 1), got;
	struct store_invite inv = invite(1, 1000, 2000), igot;

	assert_int_equal(store_partner_add(f->s, &a), 0);
	assert_int_equal(store_invite_add(f->s, &inv), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->path, &f->s), 0);
	assert_int_equal(store_partner_get(f->s, a.id, &got), 0);
	assert_partner_equal(&got, &a);
	assert_int_equal(store_invite_get(f->s, inv.invite_id, &igot), 0);
	assert_memory_equal(&igot, &inv, sizeof(inv));
	sodium_memzero(&igot, sizeof(igot));
}

/* A database as coexd with schema version 1 left it: partners only. */
static const char v1_db[] =
	"CREATE TABLE partners ("
	" name TEXT NOT NULL UNIQUE CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	" id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),"
	" address TEXT NOT NULL DEFAULT '',"
	" added_ms INTEGER NOT NULL,"
	" introduced_by TEXT NOT NULL DEFAULT '');"
	"INSERT INTO partners VALUES ('globex', zeroblob(32), 'g:7400', 5, '');"
	"PRAGMA user_version = 1;";

static void test_upgrade_from_v1(void **state)
{
	struct fixture *f = *state;
	char path[600], buf[64];
	struct store *s = NULL;
	struct store_partner got;
	struct store_invite inv = invite(1, 1000, 2000);
	uint8_t zero[IDENTITY_PK_LEN] = {0};

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	raw_exec(path, v1_db);
	assert_int_equal(store_open(path, &s), 0);
	assert_int_equal(store_partner_get(s, zero, &got), 0);
	assert_string_equal(got.name, "globex");
	assert_string_equal(got.address, "g:7400");
	assert_int_equal(store_invite_add(s, &inv), 0);
	store_close(s);
	raw_text(path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);
	raw_text(path, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
}

/* A database as coexd with schema version 2 left it: partners and invites. */
static const char v2_db[] =
	"CREATE TABLE partners ("
	" name TEXT NOT NULL UNIQUE CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	" id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),"
	" address TEXT NOT NULL DEFAULT '',"
	" added_ms INTEGER NOT NULL,"
	" introduced_by TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE invites ("
	" invite_id BLOB PRIMARY KEY CHECK (length(invite_id) = 16),"
	" secret BLOB NOT NULL CHECK (length(secret) = 32),"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" used_ms INTEGER,"
	" used_by BLOB CHECK (used_by IS NULL OR length(used_by) = 32));"
	"INSERT INTO partners VALUES ('globex', zeroblob(32), 'g:7400', 5, '');"
	"INSERT INTO invites VALUES (zeroblob(16), zeroblob(32), 1000, 2000, NULL, NULL);"
	"PRAGMA user_version = 2;";

static void test_upgrade_from_v2(void **state)
{
	struct fixture *f = *state;
	char path[600], buf[64];
	struct store *s = NULL;
	struct store_partner got;
	struct store_invite igot;
	struct store_msg m, mgot;
	struct tree_head h;
	struct store_log_mark mark;
	uint8_t zero[IDENTITY_PK_LEN] = {0}, env[3] = {1, 2, 3};
	uint64_t index = 99;

	snprintf(path, sizeof(path), "%s/v2.db", f->dir);
	raw_exec(path, v2_db);
	assert_int_equal(store_open(path, &s), 0);
	assert_int_equal(store_partner_get(s, zero, &got), 0);
	assert_string_equal(got.name, "globex");
	assert_int_equal(store_invite_get(s, zero, &igot), 0);
	assert_int_equal(igot.expires_ms, 2000);

	/* the new tables work */
	memset(&m, 0, sizeof(m));
	memset(m.hash, 1, sizeof(m.hash));
	m.envelope = env;
	m.envelope_len = sizeof(env);
	assert_int_equal(store_msg_insert(s, &m), 0);
	assert_int_equal(store_outbox_add(s, m.hash, zero, NULL), 0);
	assert_int_equal(store_log_append(s, env, sizeof(env), &index), 0);
	assert_int_equal(index, 0);
	memset(&h, 0, sizeof(h));
	h.size = 1;
	assert_int_equal(store_log_root(s, 1, h.root), 0);
	assert_int_equal(store_head_add(s, &h), 0);
	store_close(s);
	raw_text(path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);

	assert_int_equal(store_open(path, &s), 0); /* nothing left to migrate */
	assert_int_equal(store_log_mark_get(s, &mark), ERR_NOTFOUND); /* 5: log_checked */
	assert_int_equal(store_msg_get(s, m.hash, &mgot), 0);
	assert_memory_equal(mgot.envelope, env, sizeof(env));
	store_msg_release(&mgot);
	store_close(s);
	sodium_memzero(&igot, sizeof(igot));
}

static void test_failed_migration_3_rolls_back(void **state)
{
	struct fixture *f = *state;
	char path[600], sql[sizeof(v2_db) + 64], buf[64];
	struct store *s = NULL;

	/* step 3 creates messages, then fails on outbox: messages must be gone again */
	snprintf(path, sizeof(path), "%s/v2.db", f->dir);
	snprintf(sql, sizeof(sql), "%sCREATE TABLE outbox (x);", v2_db);
	raw_exec(path, sql);
	assert_int_equal(store_open(path, &s), ERR_STORE);
	assert_null(s);
	raw_text(path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), 2);
	raw_text(path, "SELECT count(*) FROM sqlite_master WHERE name = 'messages'", buf,
		 sizeof(buf));
	assert_int_equal(atoi(buf), 0);
	raw_text(path, "SELECT count(*) FROM invites", buf, sizeof(buf));
	assert_int_equal(atoi(buf), 1);
}

static void test_failed_migration_rolls_back(void **state)
{
	struct fixture *f = *state;
	char path[600], sql[sizeof(v1_db) + 64], buf[64];
	struct store *s = NULL;

	/* step 2 cannot create invites over a table of that name: the step is undone whole */
	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	snprintf(sql, sizeof(sql), "%sCREATE TABLE invites (x);", v1_db);
	raw_exec(path, sql);
	assert_int_equal(store_open(path, &s), ERR_STORE);
	assert_null(s);
	raw_text(path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), 1);
	raw_text(path, "SELECT count(*) FROM partners", buf, sizeof(buf));
	assert_int_equal(atoi(buf), 1);
}

/* The query plan of sql on the database at path, its rows' details joined by "; ". */
static void raw_plan(const char *path, const char *sql, char *out, size_t cap)
{
	char q[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct store_msg thread_msg(uint8_t h, uint8_t id, uint8_t author, uint8_t thread,
				   int64_t stored_ms)
{
	static uint8_t env[1] = {7};
	struct store_msg m;

	memset(&m, 0, sizeof(m));
	memset(m.hash, h, sizeof(m.hash));
	memset(m.id, id, sizeof(m.id));
	memset(m.author, author, sizeof(m.author));
	m.has_thread = true;
	memset(m.thread, thread, sizeof(m.thread));
	m.stored_ms = stored_ms;
	m.dir = STORE_MSG_IN;
	m.state = STORE_MSG_RECEIVED;
	m.envelope = env;
	m.envelope_len = sizeof(env);
	return m;
}

static int on_thread_hash(void *arg, const struct store_msg *m)
{
	char *seen = arg;
	size_t n = strlen(seen);

	seen[n] = (char)('0' + m->hash[0]);
	seen[n + 1] = '\0';
	return 0;
}

/* The messages table as versions 3 to 8 had it (its blobs in the row), in place of the
 * current one and its two blob tables. */
#define V8_MESSAGES                                                                        \
	"ALTER TABLE messages ADD COLUMN envelope BLOB NOT NULL DEFAULT x'';"              \
	"ALTER TABLE messages ADD COLUMN signed_msg BLOB NOT NULL DEFAULT x'';"            \
	"ALTER TABLE messages ADD COLUMN receipt BLOB;"                                    \
	"UPDATE messages SET"                                                              \
	" envelope = (SELECT envelope FROM message_data WHERE msg = messages.rowid),"      \
	" signed_msg = (SELECT signed_msg FROM message_data WHERE msg = messages.rowid),"  \
	" receipt = (SELECT receipt FROM receipts WHERE msg = messages.rowid);"            \
	"DROP TABLE message_data; DROP TABLE receipts;"

/* The outbox as versions 3 to 7 had it, in place of the current one. */
#define V7_OUTBOX                                                                          \
	"DROP TABLE outbox;"                                                               \
	"CREATE TABLE outbox ("                                                            \
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"                                          \
	" hash BLOB NOT NULL UNIQUE REFERENCES messages (hash),"                           \
	" peer BLOB NOT NULL CHECK (length(peer) = 32));"                                  \
	"CREATE INDEX outbox_peer ON outbox (peer, seq);"

/* Migration 7 on a database with messages as version 6 left it: threads are listed as
 * before (the root, then the replies), (author, id) stays unique, and the indexes that
 * replaced the old ones serve the queries. */
static void test_upgrade_from_v6(void **state)
{
	struct fixture *f = *state;
	struct store_msg root = thread_msg(1, 0xa1, 0x11, 0xa1, 100),
			 reply = thread_msg(2, 0xb2, 0x22, 0xa1, 200),
			 other = thread_msg(3, 0xc3, 0x11, 0xc3, 150),
			 late = thread_msg(4, 0xd4, 0x11, 0xa1, 50), /* stored first: listed first */
			 dup = thread_msg(5, 0xa1, 0x11, 0xa1, 300),
			 same_id = thread_msg(6, 0xa1, 0x22, 0xc3, 300), got;
	char buf[512], seen[16] = "";

	assert_int_equal(store_msg_insert(f->s, &root), 0);
	assert_int_equal(store_msg_insert(f->s, &reply), 0);
	assert_int_equal(store_msg_insert(f->s, &other), 0);
	assert_int_equal(store_msg_insert(f->s, &late), 0);
	store_close(f->s);
	f->s = NULL;
	raw_exec(f->path, V8_MESSAGES V7_OUTBOX "DROP INDEX messages_replies; DROP INDEX messages_id_author;"
			  "CREATE UNIQUE INDEX messages_author_id ON messages (author, id);"
			  "CREATE INDEX messages_thread ON messages (thread, stored_ms)"
			  " WHERE thread IS NOT NULL;"
			  "PRAGMA user_version = 6;");
	assert_int_equal(store_open(f->path, &f->s), 0);
	raw_text(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);
	raw_text(f->path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
			  " WHERE tbl_name = 'messages' AND type = 'index' ORDER BY name)",
		 buf, sizeof(buf));
	assert_string_equal(buf, "messages_dir_stored messages_forwarded messages_id_author"
				 " messages_replies messages_state messages_stored"
				 " sqlite_autoindex_messages_1");

	assert_int_equal(store_msg_thread(f->s, root.id, on_thread_hash, seen), 0);
	assert_string_equal(seen, "412");
	seen[0] = '\0';
	assert_int_equal(store_msg_thread(f->s, other.thread, on_thread_hash, seen), 0);
	assert_string_equal(seen, "3");
	assert_int_equal(store_msg_get_by_id(f->s, reply.author, reply.id, &got), 0);
	assert_memory_equal(got.hash, reply.hash, 32);
	store_msg_release(&got);
	assert_int_equal(store_msg_insert(f->s, &dup), ERR_EXISTS);
	assert_int_equal(store_msg_insert(f->s, &same_id), 0); /* another author's id */
	seen[0] = '\0';
	assert_int_equal(store_msg_thread(f->s, other.thread, on_thread_hash, seen), 0);
	assert_string_equal(seen, "36");

	raw_plan(f->path, "SELECT * FROM messages WHERE (thread = ?1 AND thread <> id)"
			  " OR (id = ?1 AND thread = ?1) ORDER BY stored_ms, rowid", buf, sizeof(buf));
	assert_non_null(strstr(buf, "USING INDEX messages_replies (thread=?)"));
	assert_non_null(strstr(buf, "USING INDEX messages_id_author (id=?)"));
	assert_null(strstr(buf, "SCAN"));
	raw_plan(f->path, "SELECT * FROM messages WHERE author = ?1 AND id = ?2", buf, sizeof(buf));
	assert_non_null(strstr(buf, "messages_id_author (id=? AND author=?)"));
}

static int on_outbox_entry(void *arg, uint64_t seq, const uint8_t hash[32])
{
	char *seen = arg;
	size_t n = strlen(seen);

	snprintf(seen + n, 64 - n, "%d:%llu ", hash[0], (unsigned long long)seq);
	return 0;
}

/* Migration 8 on an outbox as version 7 left it (seq AUTOINCREMENT, a unique hash): the
 * entries keep their order and peers, their seq becomes the message's rowid, and the new
 * table has no index on the hash. */
static void test_upgrade_from_v7(void **state)
{
	struct fixture *f = *state;
	struct store_msg m5 = thread_msg(5, 5, 0x11, 5, 105);
	uint8_t pa[32], pb[32];
	char buf[512], seen[64] = "";
	uint64_t n = 0, seq = 0;

	memset(pa, 0xa1, sizeof(pa));
	memset(pb, 0xb2, sizeof(pb));
	for (uint8_t i = 1; i <= 4; i++) {
		struct store_msg m = thread_msg(i, i, 0x11, i, 100 + i);
		assert_int_equal(store_msg_insert(f->s, &m), 0);
	}
	store_close(f->s);
	f->s = NULL;
	/* messages 1, 2, 4 queued for a, b, a (seq 5, 9, 12: gaps, as receipts leave them);
	 * 3 is not queued */
	raw_exec(f->path, V8_MESSAGES V7_OUTBOX
			  "INSERT INTO outbox (seq, hash, peer) SELECT 5, hash,"
			  " x'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'"
			  " FROM messages WHERE id = x'01010101010101010101010101010101';"
			  "INSERT INTO outbox (seq, hash, peer) SELECT 9, hash,"
			  " x'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2'"
			  " FROM messages WHERE id = x'02020202020202020202020202020202';"
			  "INSERT INTO outbox (seq, hash, peer) SELECT 12, hash,"
			  " x'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'"
			  " FROM messages WHERE id = x'04040404040404040404040404040404';"
			  "PRAGMA user_version = 7;");
	raw_text(f->path, "SELECT count(*) FROM outbox", buf, sizeof(buf));
	assert_string_equal(buf, "3");
	assert_int_equal(store_open(f->path, &f->s), 0);
	raw_text(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);

	/* same entries, same order, seq = the message's rowid */
	assert_int_equal(store_outbox_scan(f->s, pa, 0, 0, on_outbox_entry, seen), 0);
	assert_string_equal(seen, "1:1 4:4 ");
	seen[0] = '\0';
	assert_int_equal(store_outbox_scan(f->s, pb, 0, 0, on_outbox_entry, seen), 0);
	assert_string_equal(seen, "2:2 ");
	assert_int_equal(store_outbox_count(f->s, pa, &n), 0);
	assert_int_equal(n, 2);

	/* it works as before: a queued message is refused again, a new one goes last */
	assert_int_equal(store_outbox_add(f->s, m5.hash, pa, &seq), ERR_NOTFOUND);
	assert_int_equal(store_msg_insert(f->s, &m5), 0);
	assert_int_equal(store_outbox_add(f->s, m5.hash, pa, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(store_outbox_add(f->s, m5.hash, pb, NULL), ERR_EXISTS);
	assert_int_equal(store_outbox_remove(f->s, thread_msg(1, 1, 0x11, 1, 0).hash), 0);
	seen[0] = '\0';
	assert_int_equal(store_outbox_scan(f->s, pa, 0, 0, on_outbox_entry, seen), 0);
	assert_string_equal(seen, "4:4 5:5 ");

	raw_text(f->path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
			  " WHERE tbl_name = 'outbox' AND type = 'index' ORDER BY name)",
		 buf, sizeof(buf));
	assert_string_equal(buf, "outbox_peer");
	raw_text(f->path, "SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'", buf,
		 sizeof(buf));
	assert_string_equal(buf, "0");
	raw_plan(f->path, "SELECT o.msg, m.hash FROM outbox o JOIN messages m ON m.rowid = o.msg"
			  " WHERE o.peer = ?1 AND o.msg > ?2 ORDER BY o.msg LIMIT ?3", buf,
		 sizeof(buf));
	assert_non_null(strstr(buf, "USING COVERING INDEX outbox_peer (peer=? AND msg>?)"));
	assert_null(strstr(buf, "TEMP B-TREE"));
}

/* Migration 9 on messages as version 8 left them (blobs in the row): every message keeps
 * its envelope, signed message and receipt, now in message_data and receipts, and the
 * row has no blob left. */
static void test_upgrade_from_v8(void **state)
{
	struct fixture *f = *state;
	static uint8_t signed_msg[3] = {1, 2, 3}, receipt[4] = {9, 8, 7, 6}, other[2] = {5, 5};
	struct store_msg a = thread_msg(1, 1, 0x11, 1, 101), b = thread_msg(2, 2, 0x11, 2, 102),
			 got;
	char buf[512];

	a.signed_msg = signed_msg;
	a.signed_len = sizeof(signed_msg);
	a.receipt = receipt;
	a.receipt_len = sizeof(receipt);
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_insert(f->s, &b), 0);
	store_close(f->s);
	f->s = NULL;
	raw_exec(f->path, V8_MESSAGES "PRAGMA user_version = 8;");
	raw_text(f->path, "SELECT hex(receipt) FROM messages WHERE rowid = 1", buf, sizeof(buf));
	assert_string_equal(buf, "09080706"); /* the old shape holds it in the row */
	assert_int_equal(store_open(f->path, &f->s), 0);
	raw_text(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);
	raw_text(f->path, "SELECT count(*) FROM pragma_table_info('messages')"
			  " WHERE name IN ('envelope', 'signed_msg', 'receipt')",
		 buf, sizeof(buf));
	assert_string_equal(buf, "0");

	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_int_equal(got.envelope_len, 1);
	assert_int_equal(got.envelope[0], 7);
	assert_int_equal(got.signed_len, sizeof(signed_msg));
	assert_memory_equal(got.signed_msg, signed_msg, sizeof(signed_msg));
	assert_int_equal(got.receipt_len, sizeof(receipt));
	assert_memory_equal(got.receipt, receipt, sizeof(receipt));
	store_msg_release(&got);
	assert_int_equal(store_msg_get(f->s, b.hash, &got), 0);
	assert_int_equal(got.envelope_len, 1);
	assert_null(got.signed_msg);
	assert_null(got.receipt);
	store_msg_release(&got);

	/* and goes on: a receipt set, replaced and cleared on a migrated message */
	assert_int_equal(store_msg_set_delivered(f->s, b.hash, other, sizeof(other)), 0);
	assert_int_equal(store_msg_get(f->s, b.hash, &got), 0);
	assert_int_equal(got.state, STORE_MSG_DELIVERED);
	assert_int_equal(got.receipt_len, sizeof(other));
	store_msg_release(&got);
	assert_int_equal(store_msg_set_receipt(f->s, a.hash, NULL, 0), 0);
	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_null(got.receipt);
	assert_int_equal(got.signed_len, sizeof(signed_msg));
	store_msg_release(&got);
	raw_text(f->path, "SELECT count(*) FROM receipts", buf, sizeof(buf));
	assert_string_equal(buf, "1");
}

/* Migration 5: the log's verified mark, one row, replaced whole. */
static void test_log_mark(void **state)
{
	struct fixture *f = *state;
	struct store_log_mark m, got;

	assert_int_equal(store_log_mark_get(f->s, &got), ERR_NOTFOUND);
	memset(&m, 0, sizeof(m));
	m.head_seq = 7;
	m.heads = 6;
	m.size = 5;
	m.n_range = 2;
	memset(m.range[0], 1, 32);
	memset(m.range[1], 2, 32);
	m.checked_ms = 1234;
	assert_int_equal(store_log_mark_set(f->s, &m), 0);
	assert_int_equal(store_log_mark_get(f->s, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	m.size = 0;
	m.n_range = 0;
	assert_int_equal(store_log_mark_set(f->s, &m), 0);
	assert_int_equal(store_log_mark_get(f->s, &got), 0);
	assert_int_equal(got.size, 0);
	assert_int_equal(got.n_range, 0);
	m.n_range = 65;
	assert_int_equal(store_log_mark_set(f->s, &m), ERR_INVAL);
	store_close(f->s);
	assert_int_equal(store_open(f->path, &f->s), 0);
	assert_int_equal(store_log_mark_get(f->s, &got), 0);
	assert_int_equal(got.head_seq, 7);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char path[600], buf[64], *log;
	int r;

	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	snprintf(buf, sizeof(buf), "PRAGMA user_version = %d;", STORE_SCHEMA_VERSION + 1);
	raw_exec(path, buf);
	log = capture_stderr(f->dir, store_open, path, &r);
	assert_int_equal(r, ERR_STORE);
	assert_non_null(strstr(log, "level=error msg=store_schema_too_new"));
	snprintf(buf, sizeof(buf), "version=%d supported=%d", STORE_SCHEMA_VERSION + 1,
		 STORE_SCHEMA_VERSION);
	assert_non_null(strstr(log, buf));
	assert_non_null(strstr(log, "upgrade coexd"));
	free(log);
	/* left as it was */
	raw_text(path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_private_wal_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_add_get_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_set_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_add_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_redeem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_redeem_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_redeem_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v7, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_3_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_mark, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
