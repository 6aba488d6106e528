/* Partners' tree heads and alarms (witnessing). */
#include "lib/err.h"
#include "store/store_msg.h"
#include "store/store_priv.h"

#include <stdio.h>
#include <string.h>

enum { HEAD_BLOB = 8 + 32 + 8 + 64 };

static void head_pack(const struct tree_head *h, uint8_t out[HEAD_BLOB])
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h->size >> (56 - 8 * i));
		out[40 + i] = (uint8_t)(h->time_ms >> (56 - 8 * i));
	}
	memcpy(out + 8, h->root, 32);
	memcpy(out + 48, h->signature, 64);
}

static int head_unpack(const uint8_t *in, int len, struct tree_head *h)
{
	if (!in || len != HEAD_BLOB)
		return ERR_STORE;
	h->size = h->time_ms = 0;
	for (int i = 0; i < 8; i++) {
		h->size = h->size << 8 | in[i];
		h->time_ms = h->time_ms << 8 | in[40 + i];
	}
	memcpy(h->root, in + 8, 32);
	memcpy(h->signature, in + 48, 64);
	return 0;
}

int store_peer_head_get(struct store *s, const uint8_t peer[32], struct tree_head *out)
{
	sqlite3_stmt *st = NULL;
	struct tree_head h;
	int rc, r;

	if ((r = store_stmt(s, STMT_PEER_HEAD_GET,
			    "SELECT size, root, time_ms, signature FROM peer_heads WHERE peer = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, peer, 32, SQLITE_STATIC)) != SQLITE_OK) {
		r = store_error(s, rc, "peer_head_get");
	} else if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = ERR_NOTFOUND;
	} else if (rc != SQLITE_ROW) {
		r = store_error(s, rc, "peer_head_get");
	} else {
		h.size = (uint64_t)sqlite3_column_int64(st, 0);
		h.time_ms = (uint64_t)sqlite3_column_int64(st, 2);
		if ((r = store_col_blob(st, 1, h.root, 32)) == 0 &&
		    (r = store_col_blob(st, 3, h.signature, 64)) == 0)
			*out = h;
	}
	store_stmt_done(st);
	return r;
}

int store_peer_head_put(struct store *s, const uint8_t peer[32], const struct tree_head *h)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_PEER_HEAD_PUT,
			    "INSERT OR REPLACE INTO peer_heads (peer, size, root, time_ms, signature)"
			    " VALUES (?1, ?2, ?3, ?4, ?5)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, peer, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)h->size)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 3, h->root, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, (int64_t)h->time_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 5, h->signature, 64, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "peer_head_put");
	else
		r = store_step_done(s, st, "peer_head_put");
	store_stmt_done(st);
	return r;
}

int store_alarm_add(struct store *s, const struct store_alarm *a)
{
	uint8_t seen[HEAD_BLOB], offered[HEAD_BLOB];
	sqlite3_stmt *st = NULL;
	int rc, r;

	head_pack(&a->seen, seen);
	head_pack(&a->offered, offered);
	if ((r = store_stmt(s, STMT_ALARM_ADD,
			    "INSERT INTO alarms (peer, detected_ms, reason, seen, offered)"
			    " VALUES (?1, ?2, ?3, ?4, ?5)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, a->peer, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, a->detected_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 3, a->reason, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 4, seen, HEAD_BLOB, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 5, offered, HEAD_BLOB, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "alarm_add");
	else
		r = store_step_done(s, st, "alarm_add");
	store_stmt_done(st);
	return r;
}

int store_alarm_list(struct store *s, int (*fn)(void *arg, const struct store_alarm *a), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_alarm a;
	int rc, r;

	if ((r = store_stmt(s, STMT_ALARM_LIST,
			    "SELECT peer, detected_ms, reason, seen, offered FROM alarms ORDER BY seq", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.detected_ms = sqlite3_column_int64(st, 1);
		snprintf(a.reason, sizeof(a.reason), "%s", (const char *)sqlite3_column_text(st, 2));
		if ((r = store_col_blob(st, 0, a.peer, 32)) != 0 ||
		    (r = head_unpack(sqlite3_column_blob(st, 3), sqlite3_column_bytes(st, 3), &a.seen)) != 0 ||
		    (r = head_unpack(sqlite3_column_blob(st, 4), sqlite3_column_bytes(st, 4), &a.offered)) != 0 ||
		    (r = fn(arg, &a)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_error(s, rc, "alarm_list");
	store_stmt_done(st);
	return r;
}
