/* The partners table. */
#include "store/store_priv.h"
#include "crypto/identity.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

#define PARTNER_COLS "name, id, address, added_ms, introduced_by"

int store_partner_check(const struct store_partner *p)
{
	size_t n = strnlen(p->name, sizeof(p->name));

	if (n == 0 || n == sizeof(p->name))
		return ERR_INVAL;
	if (strnlen(p->address, sizeof(p->address)) == sizeof(p->address) ||
	    strnlen(p->introduced_by, sizeof(p->introduced_by)) == sizeof(p->introduced_by))
		return ERR_INVAL;
	return 0;
}

static int store_partner_read(sqlite3_stmt *st, struct store_partner *out)
{
	int r;

	if ((r = store_col_text(st, 0, out->name, sizeof(out->name))) != 0 ||
	    (r = store_col_blob(st, 1, out->id, sizeof(out->id))) != 0 ||
	    (r = store_col_text(st, 2, out->address, sizeof(out->address))) != 0 ||
	    (r = store_col_text(st, 4, out->introduced_by, sizeof(out->introduced_by))) != 0)
		return r;
	out->added_ms = sqlite3_column_int64(st, 3);
	return 0;
}

/* Steps a bound SELECT of PARTNER_COLS expecting one row: ERR_NOTFOUND for none,
 * ERR_AMBIGUOUS for more. Resets st. */
static int store_partner_select(struct store *s, sqlite3_stmt *st, struct store_partner *out)
{
	struct store_partner p;
	int rc, r;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = ERR_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = store_error(s, rc, "partner_select");
		goto out;
	}
	if ((r = store_partner_read(st, &p)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = ERR_AMBIGUOUS;
	else if (rc != SQLITE_DONE)
		r = store_error(s, rc, "partner_select");
	else
		*out = p;
out:
	store_stmt_done(st);
	return r;
}

int store_partner_insert(struct store *s, const struct store_partner *p)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_partner_check(p)) != 0)
		return r;
	if ((r = store_stmt(s, STMT_PARTNER_ADD,
			    "INSERT INTO partners (" PARTNER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, p->id, sizeof(p->id), SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 3, p->address, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, p->added_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, p->introduced_by, -1, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "partner_add");
	else
		r = store_step_done(s, st, "partner_add");
	store_stmt_done(st);
	return r;
}

int store_partner_add(struct store *s, const struct store_partner *p)
{
	/* One statement is its own transaction. */
	return store_partner_insert(s, p);
}

/* Runs a one-statement change keyed by id; ERR_NOTFOUND if it touched no row. */
static int store_partner_change(struct store *s, sqlite3_stmt *st, const uint8_t *id,
				const char *op)
{
	int rc, r;

	if ((rc = sqlite3_bind_blob(st, 1, id, IDENTITY_PK_LEN, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, op);
	else if ((r = store_step_done(s, st, op)) == 0 && sqlite3_changes(s->db) == 0)
		r = ERR_NOTFOUND;
	store_stmt_done(st);
	return r;
}

int store_partner_remove(struct store *s, const uint8_t id[IDENTITY_PK_LEN])
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_stmt(s, STMT_PARTNER_REMOVE, "DELETE FROM partners WHERE id = ?1",
			    &st)) != 0)
		return r;
	return store_partner_change(s, st, id, "partner_remove");
}

int store_partner_set_address(struct store *s, const uint8_t id[IDENTITY_PK_LEN],
			      const char *address)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (strnlen(address, STORE_ADDRESS_MAX + 1) > STORE_ADDRESS_MAX)
		return ERR_INVAL;
	if ((r = store_stmt(s, STMT_PARTNER_SET_ADDRESS,
			    "UPDATE partners SET address = ?2 WHERE id = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "partner_set_address");
	}
	return store_partner_change(s, st, id, "partner_set_address");
}

int store_partner_get(struct store *s, const uint8_t id[IDENTITY_PK_LEN], struct store_partner *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_PARTNER_GET,
			    "SELECT " PARTNER_COLS " FROM partners WHERE id = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, id, IDENTITY_PK_LEN, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "partner_get");
	}
	return store_partner_select(s, st, out);
}

static int store_partner_by_name(struct store *s, const char *name, struct store_partner *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_PARTNER_BY_NAME,
			    "SELECT " PARTNER_COLS " FROM partners WHERE name = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "partner_by_name");
	}
	return store_partner_select(s, st, out);
}

int store_partner_name_free(struct store *s, const char *name)
{
	struct store_partner p;
	int r = store_partner_by_name(s, name, &p);

	if (r == 0)
		return ERR_EXISTS;
	return r == ERR_NOTFOUND ? 0 : r;
}

/* The ids whose encoding starts with prefix are exactly those between the prefix padded
 * with the lowest digit ('a' = 0) and with the highest ('7' = 31; the last character only
 * carries one bit, so 'q' = 10000b). Ids compare as blobs, bytewise. */
static int store_id_prefix_range(const char *prefix, size_t len, uint8_t lo[IDENTITY_PK_LEN],
				 uint8_t hi[IDENTITY_PK_LEN])
{
	char buf[IDENTITY_ID_LEN + 1];

	memcpy(buf, prefix, len);
	memset(buf + len, 'a', IDENTITY_ID_LEN - len);
	buf[IDENTITY_ID_LEN] = '\0';
	if (identity_id_parse(buf, lo) != 0)
		return ERR_NOTFOUND;
	memset(buf + len, '7', IDENTITY_ID_LEN - len);
	buf[IDENTITY_ID_LEN - 1] = 'q';
	if (identity_id_parse(buf, hi) != 0)
		return ERR_NOTFOUND;
	return 0;
}

static int store_partner_by_prefix(struct store *s, const char *prefix, size_t len,
				   struct store_partner *out)
{
	uint8_t lo[IDENTITY_PK_LEN], hi[IDENTITY_PK_LEN];
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_id_prefix_range(prefix, len, lo, hi)) != 0)
		return r;
	if ((r = store_stmt(s, STMT_PARTNER_BY_ID_RANGE,
			    "SELECT " PARTNER_COLS " FROM partners WHERE id BETWEEN ?1 AND ?2"
			    " ORDER BY id LIMIT 2", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, lo, sizeof(lo), SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, hi, sizeof(hi), SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "partner_by_prefix");
	}
	return store_partner_select(s, st, out);
}

int store_partner_find(struct store *s, const char *ref, struct store_partner *out)
{
	uint8_t id[IDENTITY_PK_LEN];
	size_t len = strlen(ref);
	int r = ERR_NOTFOUND;

	if (len >= 1 && len <= STORE_NAME_MAX)
		r = store_partner_by_name(s, ref, out);
	if (r != ERR_NOTFOUND)
		return r;
	if (len == IDENTITY_ID_LEN && identity_id_parse(ref, id) == 0)
		return store_partner_get(s, id, out);
	if (len >= STORE_ID_PREFIX_MIN && len < IDENTITY_ID_LEN)
		return store_partner_by_prefix(s, ref, len, out);
	return ERR_NOTFOUND;
}

static int store_partner_append(struct store_partner **arr, size_t *n, size_t *cap,
				sqlite3_stmt *st)
{
	struct store_partner *grown;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(**arr))
			return ERR_NOMEM;
		if (!(grown = realloc(*arr, ncap * sizeof(**arr))))
			return ERR_NOMEM;
		*arr = grown;
		*cap = ncap;
	}
	if (store_partner_read(st, &(*arr)[*n]) != 0)
		return ERR_STORE;
	(*n)++;
	return 0;
}

int store_partner_list(struct store *s, struct store_partner **out, size_t *n)
{
	struct store_partner *arr = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_PARTNER_LIST,
			    "SELECT " PARTNER_COLS " FROM partners ORDER BY name", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = store_partner_append(&arr, &len, &cap, st)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = store_error(s, rc, "partner_list");
		goto out;
	}
	*out = arr;
	*n = len;
	arr = NULL;
out:
	store_stmt_done(st);
	free(arr);
	return r;
}
