/* The messages and outbox tables, and the commit batch around them. */
#include "store/store_msg.h"
#include "store/store_priv.h"
#include "lib/err.h"
#include "wire/message.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The row of a message in messages (alias m), and its blobs, which live in message_data and
 * receipts under the message's rowid (migration 9): a read with blobs joins them. */
#define MSG_INSERT_COLS                                                                    \
	"hash, id, author, recipient, peer, dir, kind, state, created_ms, expires_ms,"    \
	" stored_ms, thread, reply_to, title, log_index"
#define MSG_COLS                                                                           \
	"m.hash, m.id, m.author, m.recipient, m.peer, m.dir, m.kind, m.state, m.created_ms," \
	" m.expires_ms, m.stored_ms, m.thread, m.reply_to, m.title, m.log_index"
#define MSG_BLOB_COLS ", d.envelope, d.signed_msg, r.receipt"
#define MSG_FROM " FROM messages m"
#define MSG_FROM_BLOBS                                                                     \
	" FROM messages m LEFT JOIN message_data d ON d.msg = m.rowid"                     \
	" LEFT JOIN receipts r ON r.msg = m.rowid"

enum { MSG_COL_ENVELOPE = 15, MSG_COL_SIGNED, MSG_COL_RECEIPT };

void store_msg_release(struct store_msg *m)
{
	if (!m)
		return;
	free(m->envelope);
	free(m->signed_msg);
	free(m->receipt);
	m->envelope = m->signed_msg = m->receipt = NULL;
	m->envelope_len = m->signed_len = m->receipt_len = 0;
}

int store_batch_begin(struct store *s)
{
	int r;

	/* A second BEGIN would fail inside SQLite; say why instead. */
	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	if ((r = store_run(s, STMT_BATCH_BEGIN, "BEGIN IMMEDIATE", "batch_begin")) == 0)
		store_cache_batch(s, true);
	return r;
}

int store_batch_commit(struct store *s)
{
	int r;

	if (sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	/* A failed COMMIT may leave the transaction open (SQLITE_BUSY) or have rolled it back
	 * already (I/O error, disk full); either way the batch ends here, undone. */
	if ((r = store_run(s, STMT_BATCH_COMMIT, "COMMIT", "batch_commit")) != 0)
		store_batch_rollback(s);
	store_cache_batch(s, false);
	return r;
}

void store_batch_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_run(s, STMT_BATCH_ROLLBACK, "ROLLBACK", "batch_rollback");
	store_cache_clear(s); /* also when SQLite had rolled back already */
	store_cache_batch(s, false);
}

int store_read_begin(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	return store_run(s, STMT_READ_BEGIN, "BEGIN", "read_begin");
}

void store_read_end(struct store *s)
{
	/* A read transaction left open would pin an old snapshot for every later read. */
	if (!sqlite3_get_autocommit(s->db) &&
	    store_run(s, STMT_BATCH_COMMIT, "COMMIT", "read_end") != 0)
		store_batch_rollback(s);
}

/* A NULL pointer binds SQL NULL; an empty blob must still be a blob for NOT NULL. */
static int store_bind_bytes(sqlite3_stmt *st, int col, const uint8_t *p, size_t len)
{
	if (len == 0)
		return sqlite3_bind_zeroblob(st, col, 0);
	return sqlite3_bind_blob64(st, col, p, len, SQLITE_STATIC);
}

static int store_bind_opt(sqlite3_stmt *st, int col, bool has, const uint8_t *p, int len)
{
	return has ? sqlite3_bind_blob(st, col, p, len, SQLITE_STATIC) : sqlite3_bind_null(st, col);
}

static int store_msg_check(const struct store_msg *m)
{
	int dir = (int)m->dir, state = (int)m->state;

	if (dir != STORE_MSG_OUT && dir != STORE_MSG_IN && dir != STORE_MSG_RELAY)
		return ERR_INVAL;
	if (state < STORE_MSG_QUEUED || state > STORE_MSG_RECEIVED)
		return ERR_INVAL;
	if (strnlen(m->title, sizeof(m->title)) == sizeof(m->title))
		return ERR_INVAL;
	if ((!m->envelope && m->envelope_len) || (!m->signed_msg && m->signed_len) ||
	    (!m->receipt && m->receipt_len))
		return ERR_INVAL;
	return 0;
}

static int store_msg_bind(sqlite3_stmt *st, const struct store_msg *m)
{
	int rc;

	if ((rc = sqlite3_bind_blob(st, 1, m->hash, sizeof(m->hash), SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_blob(st, 2, m->id, sizeof(m->id), SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_blob(st, 3, m->author, sizeof(m->author), SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_blob(st, 4, m->recipient, sizeof(m->recipient), SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_blob(st, 5, m->peer, sizeof(m->peer), SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int(st, 6, (int)m->dir)) ||
	    (rc = sqlite3_bind_int(st, 7, m->kind)) ||
	    (rc = sqlite3_bind_int(st, 8, (int)m->state)) ||
	    (rc = sqlite3_bind_int64(st, 9, m->created_ms)) ||
	    (rc = sqlite3_bind_int64(st, 10, m->expires_ms)) ||
	    (rc = sqlite3_bind_int64(st, 11, m->stored_ms)) ||
	    (rc = store_bind_opt(st, 12, m->has_thread, m->thread, sizeof(m->thread))) ||
	    (rc = store_bind_opt(st, 13, m->has_reply_to, m->reply_to, sizeof(m->reply_to))) ||
	    (rc = sqlite3_bind_text(st, 14, m->title, -1, SQLITE_STATIC)))
		return rc;
	return sqlite3_bind_int64(st, 15, (int64_t)m->log_index);
}

/* The message's envelope and signed message under its rowid. */
static int store_msg_data_insert(struct store *s, int64_t row, const struct store_msg *m)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_DATA_INSERT,
			    "INSERT INTO message_data (msg, envelope, signed_msg) VALUES (?1, ?2, ?3)",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, row)) != SQLITE_OK ||
	    (rc = store_bind_bytes(st, 2, m->envelope, m->envelope_len)) != SQLITE_OK ||
	    (rc = store_bind_bytes(st, 3, m->signed_msg, m->signed_len)) != SQLITE_OK)
		r = store_error(s, rc, "msg_data_insert");
	else
		r = store_step_done(s, st, "msg_data_insert");
	store_stmt_done(st);
	return r;
}

/* Stores (or replaces) the receipt of the message with rowid row. */
static int store_receipt_put(struct store *s, int64_t row, const uint8_t *receipt, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_RECEIPT_PUT,
			    "INSERT OR REPLACE INTO receipts (msg, receipt) VALUES (?1, ?2)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, row)) != SQLITE_OK ||
	    (rc = store_bind_bytes(st, 2, receipt, len)) != SQLITE_OK)
		r = store_error(s, rc, "receipt_put");
	else
		r = store_step_done(s, st, "receipt_put");
	store_stmt_done(st);
	return r;
}

static int store_msg_insert_tx(struct store *s, const struct store_msg *m)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_INSERT,
			    "INSERT INTO messages (" MSG_INSERT_COLS ") VALUES (?1, ?2, ?3,"
			    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
			    &st)) != 0)
		return r;
	if ((rc = store_msg_bind(st, m)) != SQLITE_OK)
		r = store_error(s, rc, "msg_insert");
	else
		r = store_step_done(s, st, "msg_insert");
	store_stmt_done(st);
	if (r != 0)
		return r;
	row = sqlite3_last_insert_rowid(s->db);
	if ((r = store_msg_data_insert(s, row, m)) != 0)
		return r;
	return m->receipt_len ? store_receipt_put(s, row, m->receipt, m->receipt_len) : 0;
}

int store_msg_insert(struct store *s, const struct store_msg *m)
{
	int r;

	if ((r = store_msg_check(m)) != 0)
		return r;
	if ((r = store_tx_begin(s)) != 0)
		return r;
	if ((r = store_msg_insert_tx(s, m)) != 0 || (r = store_tx_commit(s)) != 0) {
		store_tx_rollback(s);
		return r;
	}
	return 0;
}

/* Copies a blob column into malloc'd memory; an empty blob or NULL gives NULL, 0. */
static int store_col_dup(sqlite3_stmt *st, int col, uint8_t **dst, size_t *len)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);
	uint8_t *p;

	if (n <= 0) {
		*dst = NULL;
		*len = 0;
		return 0;
	}
	if (!b || !(p = malloc((size_t)n)))
		return ERR_NOMEM;
	memcpy(p, b, (size_t)n);
	*dst = p;
	*len = (size_t)n;
	return 0;
}

static int store_msg_read_blobs(sqlite3_stmt *st, struct store_msg *m)
{
	int r;

	if ((r = store_col_dup(st, MSG_COL_ENVELOPE, &m->envelope, &m->envelope_len)) != 0 ||
	    (r = store_col_dup(st, MSG_COL_SIGNED, &m->signed_msg, &m->signed_len)) != 0 ||
	    (r = store_col_dup(st, MSG_COL_RECEIPT, &m->receipt, &m->receipt_len)) != 0)
		store_msg_release(m);
	return r;
}

/* Reads a row of MSG_COLS (and MSG_BLOB_COLS if blobs) into *out. */
static int store_msg_read(sqlite3_stmt *st, bool blobs, struct store_msg *out)
{
	struct store_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_col_blob(st, 0, m.hash, sizeof(m.hash))) != 0 ||
	    (r = store_col_blob(st, 1, m.id, sizeof(m.id))) != 0 ||
	    (r = store_col_blob(st, 2, m.author, sizeof(m.author))) != 0 ||
	    (r = store_col_blob(st, 3, m.recipient, sizeof(m.recipient))) != 0 ||
	    (r = store_col_blob(st, 4, m.peer, sizeof(m.peer))) != 0 ||
	    (r = store_col_text(st, 13, m.title, sizeof(m.title))) != 0)
		return r;
	m.dir = (enum store_msg_dir)sqlite3_column_int(st, 5);
	m.kind = sqlite3_column_int(st, 6);
	m.state = (enum store_msg_state)sqlite3_column_int(st, 7);
	m.created_ms = sqlite3_column_int64(st, 8);
	m.expires_ms = sqlite3_column_int64(st, 9);
	m.stored_ms = sqlite3_column_int64(st, 10);
	m.has_thread = sqlite3_column_type(st, 11) != SQLITE_NULL;
	if (m.has_thread && (r = store_col_blob(st, 11, m.thread, sizeof(m.thread))) != 0)
		return r;
	m.has_reply_to = sqlite3_column_type(st, 12) != SQLITE_NULL;
	if (m.has_reply_to && (r = store_col_blob(st, 12, m.reply_to, sizeof(m.reply_to))) != 0)
		return r;
	m.log_index = (uint64_t)sqlite3_column_int64(st, 14);
	if (blobs && (r = store_msg_read_blobs(st, &m)) != 0)
		return r;
	*out = m;
	return 0;
}

/* Steps a bound SELECT of MSG_COLS (MSG_BLOB_COLS too if blobs) expecting one row:
 * ERR_NOTFOUND for none, ERR_AMBIGUOUS for more. Resets st. */
static int store_msg_select_cols(struct store *s, sqlite3_stmt *st, bool blobs,
				 struct store_msg *out)
{
	struct store_msg m;
	int rc, r;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = ERR_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = store_error(s, rc, "msg_select");
		goto out;
	}
	if ((r = store_msg_read(st, blobs, &m)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = ERR_AMBIGUOUS;
	else if (rc != SQLITE_DONE)
		r = store_error(s, rc, "msg_select");
	if (r == 0)
		*out = m;
	else
		store_msg_release(&m);
out:
	store_stmt_done(st);
	return r;
}

static int store_msg_select(struct store *s, sqlite3_stmt *st, struct store_msg *out)
{
	return store_msg_select_cols(s, st, true, out);
}

int store_msg_get(struct store *s, const uint8_t hash[32], struct store_msg *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_GET,
			    "SELECT " MSG_COLS MSG_BLOB_COLS MSG_FROM_BLOBS " WHERE m.hash = ?1",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_get");
	}
	return store_msg_select(s, st, out);
}

int store_msg_get_meta(struct store *s, const uint8_t hash[32], struct store_msg *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_GET_META,
			    "SELECT " MSG_COLS MSG_FROM " WHERE m.hash = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_get_meta");
	}
	return store_msg_select_cols(s, st, false, out);
}

int store_msg_get_by_id(struct store *s, const uint8_t author[32], const uint8_t id[16],
			struct store_msg *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_BY_ID,
			    "SELECT " MSG_COLS MSG_BLOB_COLS MSG_FROM_BLOBS
			    " WHERE m.author = ?1 AND m.id = ?2", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, author, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_get_by_id");
	}
	return store_msg_select(s, st, out);
}

static int store_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The hashes whose hex starts with prefix are exactly those between the prefix padded with
 * '0' and padded with 'f'; hashes compare as blobs, bytewise. */
static int store_hash_prefix_range(const char *prefix, uint8_t lo[32], uint8_t hi[32])
{
	size_t len = strnlen(prefix, 2 * 32 + 1);

	if (len < STORE_HASH_PREFIX_MIN || len > 2 * 32)
		return ERR_INVAL;
	memset(lo, 0x00, 32);
	memset(hi, 0xff, 32);
	for (size_t i = 0; i < len; i++) {
		int d = store_hex_digit(prefix[i]);

		if (d < 0)
			return ERR_INVAL;
		if (i % 2 == 0) {
			lo[i / 2] = (uint8_t)(d << 4);
			hi[i / 2] = (uint8_t)(d << 4 | 0x0f);
		} else {
			lo[i / 2] = (uint8_t)(lo[i / 2] | d);
			hi[i / 2] = (uint8_t)((hi[i / 2] & 0xf0) | d);
		}
	}
	return 0;
}

int store_msg_find(struct store *s, const char *hex_prefix, struct store_msg *out)
{
	uint8_t lo[32], hi[32];
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_hash_prefix_range(hex_prefix, lo, hi)) != 0)
		return r;
	if ((r = store_stmt(s, STMT_MSG_BY_HASH_RANGE,
			    "SELECT " MSG_COLS MSG_BLOB_COLS MSG_FROM_BLOBS
			    " WHERE m.hash BETWEEN ?1 AND ?2 ORDER BY m.hash LIMIT 2", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, lo, sizeof(lo), SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, hi, sizeof(hi), SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_find");
	}
	return store_msg_select(s, st, out);
}

/* Steps a bound one-row change keyed by hash (?1); ERR_NOTFOUND if no row changed. */
static int store_msg_change(struct store *s, sqlite3_stmt *st, const uint8_t *hash,
			    const char *op)
{
	int rc, r;

	if ((rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, op);
	else if ((r = store_step_done(s, st, op)) == 0 && sqlite3_changes(s->db) == 0)
		r = ERR_NOTFOUND;
	store_stmt_done(st);
	return r;
}

int store_msg_set_state(struct store *s, const uint8_t hash[32], enum store_msg_state state)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((int)state < STORE_MSG_QUEUED || (int)state > STORE_MSG_RECEIVED)
		return ERR_INVAL;
	if ((r = store_stmt(s, STMT_MSG_SET_STATE,
			    "UPDATE messages SET state = ?2 WHERE hash = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int(st, 2, (int)state)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_set_state");
	}
	return store_msg_change(s, st, hash, "msg_set_state");
}

int store_msg_set_state_from(struct store *s, const uint8_t hash[32], enum store_msg_state from,
			     enum store_msg_state to)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((int)to < STORE_MSG_QUEUED || (int)to > STORE_MSG_RECEIVED)
		return ERR_INVAL;
	if ((r = store_stmt(s, STMT_MSG_SET_STATE_FROM,
			    "UPDATE messages SET state = ?2 WHERE hash = ?1 AND state = ?3", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int(st, 2, (int)to)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, (int)from)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_set_state_from");
	}
	return store_msg_change(s, st, hash, "msg_set_state_from");
}

/* The rowid of the message named hash: ERR_NOTFOUND. */
static int store_msg_row(struct store *s, const uint8_t hash[32], int64_t *row)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_ROW, "SELECT rowid FROM messages WHERE hash = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "msg_row");
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*row = sqlite3_column_int64(st, 0);
	else
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, "msg_row");
	store_stmt_done(st);
	return r;
}

static int store_msg_set_delivered_tx(struct store *s, const uint8_t hash[32],
				      const uint8_t *receipt, size_t len)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_SET_DELIVERED,
			    "UPDATE messages SET state = ?2 WHERE hash = ?1 RETURNING rowid", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, STORE_MSG_DELIVERED)) != SQLITE_OK) {
		r = store_error(s, rc, "msg_set_delivered");
	} else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = sqlite3_column_int64(st, 0);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			r = store_error(s, rc, "msg_set_delivered");
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, "msg_set_delivered");
	}
	store_stmt_done(st);
	return r != 0 ? r : store_receipt_put(s, row, receipt, len);
}

int store_msg_set_delivered(struct store *s, const uint8_t hash[32], const uint8_t *receipt,
			    size_t len)
{
	int r;

	if (!receipt || !len)
		return ERR_INVAL;
	if ((r = store_tx_begin(s)) != 0)
		return r;
	if ((r = store_msg_set_delivered_tx(s, hash, receipt, len)) != 0 ||
	    (r = store_tx_commit(s)) != 0) {
		store_tx_rollback(s);
		return r;
	}
	return 0;
}

int store_msg_set_receipt(struct store *s, const uint8_t hash[32], const uint8_t *receipt,
			  size_t len)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc, r;

	if (!receipt && len)
		return ERR_INVAL;
	if ((r = store_msg_row(s, hash, &row)) != 0)
		return r;
	if (len)
		return store_receipt_put(s, row, receipt, len);
	if ((r = store_stmt(s, STMT_RECEIPT_DELETE, "DELETE FROM receipts WHERE msg = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, row)) != SQLITE_OK)
		r = store_error(s, rc, "receipt_delete");
	else
		r = store_step_done(s, st, "receipt_delete");
	store_stmt_done(st);
	return r;
}

/* Calls fn for each row of a bound SELECT; blobs, if loaded, are freed after each call.
 * Resets st. */
static int store_msg_each(struct store *s, sqlite3_stmt *st, bool blobs,
			  int (*fn)(void *arg, const struct store_msg *m), void *arg,
			  const char *op)
{
	struct store_msg m;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = store_msg_read(st, blobs, &m)) != 0)
			goto out;
		r = fn(arg, &m);
		store_msg_release(&m);
		if (r != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store_error(s, rc, op);
out:
	store_stmt_done(st);
	return r;
}

/* LIMIT -1 is no limit. */
static int64_t store_limit(size_t limit)
{
	return limit == 0 || (uint64_t)limit > INT64_MAX ? -1 : (int64_t)limit;
}

int store_msg_list(struct store *s, int dir, size_t limit,
		   int (*fn)(void *arg, const struct store_msg *m), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (dir > STORE_MSG_RELAY)
		return ERR_INVAL;
	if (dir < 0)
		r = store_stmt(s, STMT_MSG_LIST,
			       "SELECT " MSG_COLS MSG_FROM
			       " ORDER BY m.stored_ms DESC, m.rowid DESC LIMIT ?2", &st);
	else
		r = store_stmt(s, STMT_MSG_LIST_DIR,
			       "SELECT " MSG_COLS MSG_FROM " WHERE m.dir = ?1"
			       " ORDER BY m.stored_ms DESC, m.rowid DESC LIMIT ?2", &st);
	if (r != 0)
		return r;
	if ((dir >= 0 && (rc = sqlite3_bind_int(st, 1, dir)) != SQLITE_OK) ||
	    (rc = sqlite3_bind_int64(st, 2, store_limit(limit))) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_list");
	}
	return store_msg_each(s, st, false, fn, arg, "msg_list");
}

/* The replies through messages_replies, the root (thread = its id) through
 * messages_id_author: no index holds every message of a thread (migration 7). */
int store_msg_thread(struct store *s, const uint8_t thread[16],
		     int (*fn)(void *arg, const struct store_msg *m), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_MSG_THREAD,
			    "SELECT " MSG_COLS MSG_BLOB_COLS MSG_FROM_BLOBS
			    " WHERE (m.thread = ?1 AND m.thread <> m.id) OR (m.id = ?1 AND m.thread = ?1)"
			    " ORDER BY m.stored_ms, m.rowid", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, thread, 16, SQLITE_STATIC)) != SQLITE_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "msg_thread");
	}
	return store_msg_each(s, st, true, fn, arg, "msg_thread");
}

_Static_assert(MESSAGE_KIND_FORWARDED == 5, "the messages_forwarded index names kind 5");

int store_msg_forwarded(struct store *s, int (*fn)(void *arg, const struct store_msg *m), void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_stmt(s, STMT_MSG_FORWARDED,
			    "SELECT " MSG_COLS MSG_BLOB_COLS MSG_FROM_BLOBS
			    " WHERE m.kind = 5 AND m.dir = 0 ORDER BY m.rowid", &st)) != 0)
		return r;
	return store_msg_each(s, st, true, fn, arg, "msg_forwarded");
}

int store_msg_count(struct store *s, int dir, int state, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc, r;

	if (dir > STORE_MSG_RELAY || state > STORE_MSG_RECEIVED)
		return ERR_INVAL;
	/* Ranges instead of "?1 < 0 OR dir = ?1", which no index could serve. */
	if ((r = store_stmt(s, STMT_MSG_COUNT,
			    "SELECT count(*) FROM messages WHERE state BETWEEN ?3 AND ?4"
			    " AND dir BETWEEN ?1 AND ?2", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int(st, 1, dir < 0 ? STORE_MSG_OUT : dir)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, dir < 0 ? STORE_MSG_RELAY : dir)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, state < 0 ? STORE_MSG_QUEUED : state)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 4, state < 0 ? STORE_MSG_RECEIVED : state)) != SQLITE_OK)
		r = store_error(s, rc, "msg_count");
	else if ((r = store_step_int64(s, st, "msg_count", &n)) == 0)
		*out = (uint64_t)n;
	store_stmt_done(st);
	return r;
}

int store_outbox_add(struct store *s, const uint8_t hash[32], const uint8_t peer[32],
		     uint64_t *seq_out)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc, r;

	/* The entry is keyed by the message's rowid (migration 8): ERR_NOTFOUND for no such
	 * message; the primary key refuses a second entry (ERR_EXISTS). */
	if ((r = store_msg_row(s, hash, &row)) != 0)
		return r;
	if ((r = store_stmt(s, STMT_OUTBOX_ADD, "INSERT INTO outbox (msg, peer) VALUES (?1, ?2)",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, row)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, peer, 32, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "outbox_add");
	else if ((r = store_step_done(s, st, "outbox_add")) == 0 && seq_out)
		*seq_out = (uint64_t)row;
	store_stmt_done(st);
	return r;
}

int store_outbox_remove(struct store *s, const uint8_t hash[32])
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_stmt(s, STMT_OUTBOX_REMOVE,
			    "DELETE FROM outbox WHERE msg = (SELECT rowid FROM messages"
			    " WHERE hash = ?1)", &st)) != 0)
		return r;
	return store_msg_change(s, st, hash, "outbox_remove");
}

int store_outbox_scan(struct store *s, const uint8_t peer[32], uint64_t after_seq, size_t limit,
		      int (*fn)(void *arg, uint64_t seq, const uint8_t hash[32]), void *arg)
{
	uint8_t hash[32];
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (after_seq > INT64_MAX)
		return 0; /* sequence numbers are SQLite rowids: none is that high */
	if ((r = store_stmt(s, STMT_OUTBOX_SCAN,
			    "SELECT o.msg, m.hash FROM outbox o JOIN messages m ON m.rowid = o.msg"
			    " WHERE o.peer = ?1 AND o.msg > ?2 ORDER BY o.msg LIMIT ?3", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, peer, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)after_seq)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, store_limit(limit))) != SQLITE_OK) {
		r = store_error(s, rc, "outbox_scan");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = store_col_blob(st, 1, hash, sizeof(hash))) != 0 ||
		    (r = fn(arg, (uint64_t)sqlite3_column_int64(st, 0), hash)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store_error(s, rc, "outbox_scan");
out:
	store_stmt_done(st);
	return r;
}

int store_outbox_count(struct store *s, const uint8_t peer[32], uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc, r;

	if ((r = store_stmt(s, STMT_OUTBOX_COUNT, "SELECT count(*) FROM outbox WHERE peer = ?1",
			    &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(st, 1, peer, 32, SQLITE_STATIC)) != SQLITE_OK)
		r = store_error(s, rc, "outbox_count");
	else if ((r = store_step_int64(s, st, "outbox_count", &n)) == 0)
		*out = (uint64_t)n;
	store_stmt_done(st);
	return r;
}
