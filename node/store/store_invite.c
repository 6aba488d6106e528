/* The invites table: one-time codes a new partner redeems to join. */
#include "store/store_priv.h"
#include "lib/err.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define INVITE_COLS "invite_id, secret, created_ms, expires_ms, used_ms, used_by"

int store_invite_add(struct store *s, const struct store_invite *inv)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (inv->expires_ms <= inv->created_ms)
		return ERR_INVAL;
	if ((r = store_stmt(s, STMT_INVITE_ADD,
			    "INSERT INTO invites (invite_id, secret, created_ms, expires_ms)"
			    " VALUES (?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, inv->invite_id, sizeof(inv->invite_id),
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, inv->secret, sizeof(inv->secret), SQLITE_STATIC)) !=
		    SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, inv->created_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, inv->expires_ms)) != SQLITE_OK)
		r = store_error(s, rc, "invite_add");
	else
		r = store_step_done(s, st, "invite_add");
	store_stmt_done(st);
	return r;
}

static int store_invite_read(sqlite3_stmt *st, struct store_invite *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_col_blob(st, 0, out->invite_id, sizeof(out->invite_id))) != 0 ||
	    (r = store_col_blob(st, 1, out->secret, sizeof(out->secret))) != 0)
		return r;
	out->created_ms = sqlite3_column_int64(st, 2);
	out->expires_ms = sqlite3_column_int64(st, 3);
	if (sqlite3_column_type(st, 4) == SQLITE_NULL)
		return 0;
	out->used_ms = sqlite3_column_int64(st, 4);
	return store_col_blob(st, 5, out->used_by, sizeof(out->used_by));
}

int store_invite_get(struct store *s, const uint8_t invite_id[STORE_INVITE_ID_LEN],
		     struct store_invite *out)
{
	struct store_invite inv;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_INVITE_GET,
			    "SELECT " INVITE_COLS " FROM invites WHERE invite_id = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, invite_id, STORE_INVITE_ID_LEN, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		r = store_error(s, rc, "invite_get");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = ERR_NOTFOUND;
	else if (rc != SQLITE_ROW)
		r = store_error(s, rc, "invite_get");
	else if ((r = store_invite_read(st, &inv)) == 0)
		*out = inv;
out:
	store_stmt_done(st);
	sodium_memzero(&inv, sizeof(inv));
	return r;
}

/* Returns 0 if the invite can be redeemed at now_ms, else ERR_NOTFOUND, ERR_USED,
 * ERR_EXPIRED or a store error. Does not read the secret. */
static int store_invite_check(struct store *s, const uint8_t *invite_id, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if ((r = store_stmt(s, STMT_INVITE_STATE,
			    "SELECT used_ms IS NOT NULL, expires_ms FROM invites"
			    " WHERE invite_id = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, invite_id, STORE_INVITE_ID_LEN, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		r = store_error(s, rc, "invite_check");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = ERR_NOTFOUND;
	else if (rc != SQLITE_ROW)
		r = store_error(s, rc, "invite_check");
	else if (sqlite3_column_int(st, 0))
		r = ERR_USED;
	else if (now_ms >= sqlite3_column_int64(st, 1))
		r = ERR_EXPIRED;
out:
	store_stmt_done(st);
	return r;
}

static int store_invite_mark_used(struct store *s, const uint8_t *invite_id, int64_t now_ms,
				  const uint8_t *used_by)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_INVITE_MARK_USED,
			    /* the secret is no longer needed once used: wiped */
			    "UPDATE invites SET used_ms = ?2, used_by = ?3, secret = zeroblob(32)"
			    " WHERE invite_id = ?1 AND used_ms IS NULL", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, invite_id, STORE_INVITE_ID_LEN, SQLITE_STATIC)) !=
		    SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, now_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 3, used_by, IDENTITY_PK_LEN, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "invite_mark_used");
	else if ((r = store_step_done(s, st, "invite_mark_used")) == 0 &&
		 sqlite3_changes(s->db) != 1)
		r = ERR_USED; /* checked in this transaction, so not reached */
	store_stmt_done(st);
	return r;
}

/* Writes base + "-n" into out, cutting base (at a UTF-8 character boundary) so the
 * result fits STORE_NAME_MAX bytes. */
static void store_name_with_suffix(const char *base, int n, char out[STORE_NAME_MAX + 1])
{
	char suffix[16];
	size_t slen = (size_t)snprintf(suffix, sizeof(suffix), "-%d", n);
	size_t cut = strlen(base);

	if (cut > STORE_NAME_MAX - slen) {
		cut = STORE_NAME_MAX - slen;
		while (cut > 0 && ((unsigned char)base[cut] & 0xc0) == 0x80)
			cut--;
	}
	memcpy(out, base, cut);
	memcpy(out + cut, suffix, slen + 1);
}

/* Chooses the first free name among p->name, p->name-2, ... p->name-SUFFIX_MAX. */
static int store_partner_unique_name(struct store *s, const char *base,
				     char out[STORE_NAME_MAX + 1])
{
	char name[STORE_NAME_MAX + 1];
	int r;

	snprintf(name, sizeof(name), "%s", base);
	for (int n = 2; (r = store_partner_name_free(s, name)) == ERR_EXISTS; n++) {
		if (n > STORE_NAME_SUFFIX_MAX)
			return ERR_EXISTS;
		store_name_with_suffix(base, n, name);
	}
	if (r == 0)
		memcpy(out, name, sizeof(name));
	return r;
}

/* Adds p unless its id is known; returns the partner as stored. */
static int store_invite_add_partner(struct store *s, const struct store_partner *p,
				    struct store_partner *stored)
{
	struct store_partner np;
	int r;

	r = store_partner_get(s, p->id, &np);
	if (r == ERR_NOTFOUND) {
		np = *p;
		if ((r = store_partner_unique_name(s, p->name, np.name)) == 0)
			r = store_partner_insert(s, &np);
	}
	if (r == 0)
		*stored = np;
	return r;
}

int store_invite_redeem(struct store *s, const uint8_t invite_id[STORE_INVITE_ID_LEN],
			int64_t now_ms, const struct store_partner *p,
			struct store_partner *stored)
{
	struct store_partner np;
	int r;

	if ((r = store_partner_check(p)) != 0)
		return r;
	if ((r = store_tx_begin(s)) != 0)
		return r;
	if ((r = store_invite_check(s, invite_id, now_ms)) != 0 ||
	    (r = store_invite_mark_used(s, invite_id, now_ms, p->id)) != 0 ||
	    (r = store_invite_add_partner(s, p, &np)) != 0 ||
	    (r = store_tx_commit(s)) != 0)
		goto out;
	if (stored)
		*stored = np;
out:
	if (r != 0)
		store_tx_rollback(s);
	return r;
}

int store_invite_prune(struct store *s, int64_t now_ms, size_t *pruned)
{
	int64_t cutoff = now_ms < INT64_MIN + STORE_INVITE_PRUNE_AFTER_MS
				 ? INT64_MIN
				 : now_ms - STORE_INVITE_PRUNE_AFTER_MS;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_INVITE_PRUNE,
			    "DELETE FROM invites WHERE used_ms IS NULL AND expires_ms < ?1",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, cutoff)) != SQLITE_OK)
		r = store_error(s, rc, "invite_prune");
	else if ((r = store_step_done(s, st, "invite_prune")) == 0 && pruned)
		*pruned = (size_t)sqlite3_changes(s->db);
	store_stmt_done(st);
	return r;
}
