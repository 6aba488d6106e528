/* Opening, migrating and closing the store; the statement cache, transactions and the
 * mapping of SQLite's result codes shared by the other store_*.c files. */
#include "store/store_priv.h"
#include "lib/err.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { STORE_BUSY_TIMEOUT_MS = 5000 };

/* Schema migrations: step N brings user_version from N-1 to N. Append only; never edit a
 * step that has shipped, since databases out there already ran it. */
static const char *const store_migrations[] = {
	/* 1: partners */
	"CREATE TABLE partners ("
	" name TEXT NOT NULL UNIQUE CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	" id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),"
	" address TEXT NOT NULL DEFAULT '',"
	" added_ms INTEGER NOT NULL,"
	" introduced_by TEXT NOT NULL DEFAULT '');",
	/* 2: invites */
	"CREATE TABLE invites ("
	" invite_id BLOB PRIMARY KEY CHECK (length(invite_id) = 16),"
	" secret BLOB NOT NULL CHECK (length(secret) = 32),"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" used_ms INTEGER,"
	" used_by BLOB CHECK (used_by IS NULL OR length(used_by) = 32));",
	/* 3: messages, the outbox, the exchange log and its signed tree heads. The blobs come
	 * last in messages so listing reads no overflow pages. */
	"CREATE TABLE messages ("
	" hash BLOB PRIMARY KEY CHECK (length(hash) = 32),"
	" id BLOB NOT NULL CHECK (length(id) = 16),"
	" author BLOB NOT NULL CHECK (length(author) = 32),"
	" recipient BLOB NOT NULL CHECK (length(recipient) = 32),"
	" peer BLOB NOT NULL CHECK (length(peer) = 32),"
	" dir INTEGER NOT NULL CHECK (dir IN (0, 1, 2)),"
	" kind INTEGER NOT NULL,"
	" state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 5),"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" stored_ms INTEGER NOT NULL,"
	" thread BLOB CHECK (thread IS NULL OR length(thread) = 16),"
	" reply_to BLOB CHECK (reply_to IS NULL OR length(reply_to) = 32),"
	" title TEXT NOT NULL DEFAULT '' CHECK (length(CAST(title AS BLOB)) <= 200),"
	" log_index INTEGER NOT NULL,"
	" envelope BLOB NOT NULL,"
	" signed_msg BLOB NOT NULL,"
	" receipt BLOB);"
	"CREATE UNIQUE INDEX messages_author_id ON messages (author, id);"
	"CREATE INDEX messages_dir_stored ON messages (dir, stored_ms);"
	"CREATE INDEX messages_stored ON messages (stored_ms);"
	"CREATE INDEX messages_state ON messages (state, dir);"
	"CREATE INDEX messages_thread ON messages (thread, stored_ms) WHERE thread IS NOT NULL;"
	"CREATE TABLE outbox ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" hash BLOB NOT NULL UNIQUE REFERENCES messages (hash),"
	" peer BLOB NOT NULL CHECK (length(peer) = 32));"
	"CREATE INDEX outbox_peer ON outbox (peer, seq);"
	"CREATE TABLE log_entries ("
	" idx INTEGER PRIMARY KEY CHECK (idx >= 0),"
	" entry BLOB NOT NULL);"
	"CREATE TABLE log_nodes ("
	" level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),"
	" idx INTEGER NOT NULL CHECK (idx >= 0),"
	" hash BLOB NOT NULL CHECK (length(hash) = 32),"
	" PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	"CREATE TABLE tree_heads ("
	" seq INTEGER PRIMARY KEY,"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" root BLOB NOT NULL CHECK (length(root) = 32),"
	" time_ms INTEGER NOT NULL,"
	" signature BLOB NOT NULL CHECK (length(signature) = 64));",
	/* 4: witnessing: each partner's latest verified tree head, and alarms with evidence */
	"CREATE TABLE peer_heads ("
	" peer BLOB PRIMARY KEY CHECK (length(peer) = 32),"
	" size INTEGER NOT NULL, root BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" signature BLOB NOT NULL);"
	"CREATE TABLE alarms ("
	" seq INTEGER PRIMARY KEY,"
	" peer BLOB NOT NULL CHECK (length(peer) = 32),"
	" detected_ms INTEGER NOT NULL,"
	" reason TEXT NOT NULL,"
	" seen BLOB NOT NULL,"
	" offered BLOB NOT NULL);",
	/* 5: how far the exchange log was last verified against its own signed heads
	 * (store/log_check.h): one row, the head verified last and the compact range of the
	 * leaf hashes it covers, so the check at start-up goes on from there. */
	"CREATE TABLE log_checked ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" head_seq INTEGER NOT NULL CHECK (head_seq >= 0),"
	" heads INTEGER NOT NULL CHECK (heads >= 0),"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" range BLOB NOT NULL CHECK (length(range) % 32 = 0 AND length(range) <= 2048),"
	" checked_ms INTEGER NOT NULL);",
	/* 6: the messages this node forwarded, found at start without a scan (kind 5 is
	 * MESSAGE_KIND_FORWARDED): the node relays answers only for the threads it forwarded. */
	"CREATE INDEX messages_forwarded ON messages (dir) WHERE kind = 5;",
	/* 7: fewer index pages written per message. Every index keyed by a random value costs a
	 * page write per message at commit; the first message of a thread names it (thread =
	 * its own id), so the thread index keeps only the replies, and the root is found by id
	 * in the de-duplication index, now (id, author) so that id alone can search it. */
	"DROP INDEX messages_thread;"
	"CREATE INDEX messages_replies ON messages (thread, stored_ms) WHERE thread <> id;"
	"DROP INDEX messages_author_id;"
	"CREATE UNIQUE INDEX messages_id_author ON messages (id, author);",
	/* 8: the outbox keyed by the message's rowid instead of a seq plus a unique index on
	 * the hash: rowids grow with insertion, so both the table and its (peer, msg) index
	 * append, where the hash index cost a random page per queued and per receipted
	 * message. An entry is always queued in the transaction that inserts its message, so
	 * rowid order is queue order; entries are copied in that order. No foreign key:
	 * SQLite cannot name a rowid as a parent key, and messages are never deleted. Nothing
	 * may VACUUM the file, which may renumber messages' rowids (docs/operations.md). */
	"CREATE TABLE outbox_v8 ("
	" msg INTEGER PRIMARY KEY,"
	" peer BLOB NOT NULL CHECK (length(peer) = 32));"
	"INSERT INTO outbox_v8 (msg, peer)"
	" SELECT m.rowid, o.peer FROM outbox o JOIN messages m ON m.hash = o.hash ORDER BY o.seq;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_v8 RENAME TO outbox;"
	"CREATE INDEX outbox_peer ON outbox (peer, msg);",
	/* 9: a message's blobs out of its row. The envelope and the signed message (~2.3 KiB
	 * together) are written once, in message_data; the receipt (~1 KiB) is appended to
	 * receipts when it comes. The row left in messages is ~250 bytes, so the state changes
	 * of a delivery (queued, sent, delivered) rewrite a small row instead of a 3 KiB one
	 * that also grew (and split its page) when the receipt was added. Keyed by the
	 * message's rowid, like the outbox: both append. */
	"CREATE TABLE message_data ("
	" msg INTEGER PRIMARY KEY,"
	" envelope BLOB NOT NULL,"
	" signed_msg BLOB NOT NULL);"
	"INSERT INTO message_data (msg, envelope, signed_msg)"
	" SELECT rowid, envelope, signed_msg FROM messages ORDER BY rowid;"
	"CREATE TABLE receipts ("
	" msg INTEGER PRIMARY KEY,"
	" receipt BLOB NOT NULL);"
	"INSERT INTO receipts (msg, receipt)"
	" SELECT rowid, receipt FROM messages WHERE receipt IS NOT NULL ORDER BY rowid;"
	"ALTER TABLE messages DROP COLUMN receipt;"
	"ALTER TABLE messages DROP COLUMN signed_msg;"
	"ALTER TABLE messages DROP COLUMN envelope;",
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
	       "STORE_SCHEMA_VERSION must equal the number of migrations");

static uint64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int store_error(struct store *s, int rc, const char *op)
{
	uint32_t suppressed = 0;
	int ext = rc;

	rc &= 0xff;
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return ERR_EXISTS;
	if (rc == SQLITE_NOMEM)
		return ERR_NOMEM;
	/* A full disk fails every batch a partner's resends bring: one line a second is enough. */
	if (!s || log_ratelimit_allow(&s->rl, store_now_ms(), &suppressed))
		log_error("store_error", "op=%s rc=%d err=\"%s\" suppressed=%u", op, ext,
			  s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(ext), suppressed);
	return rc == SQLITE_FULL ? ERR_FULL : ERR_STORE;
}

int store_stmt(struct store *s, enum store_stmt_id id, const char *sql, sqlite3_stmt **out)
{
	int rc;

	if (!s->stmts[id]) {
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
					NULL);
		if (rc != SQLITE_OK)
			return store_error(s, rc, "prepare");
	}
	*out = s->stmts[id];
	return 0;
}

void store_stmt_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *op)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : store_error(s, rc, op);
}

int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (!t || n < 0 || (size_t)n >= cap) {
		log_error("store_error", "op=read col=%d err=\"text missing or too long\"", col);
		return ERR_STORE;
	}
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

int store_col_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t len)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (!b || n < 0 || (size_t)n != len) {
		log_error("store_error", "op=read col=%d err=\"blob missing or of wrong length\"",
			  col);
		return ERR_STORE;
	}
	memcpy(dst, b, len);
	return 0;
}

int store_step_int64(struct store *s, sqlite3_stmt *st, const char *op, int64_t *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		log_error("store_error", "op=%s err=\"no row\"", op);
		return ERR_STORE;
	}
	if (rc != SQLITE_ROW)
		return store_error(s, rc, op);
	*out = sqlite3_column_int64(st, 0);
	return 0;
}

int store_run(struct store *s, enum store_stmt_id id, const char *sql, const char *op)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_stmt(s, id, sql, &st)) != 0)
		return r;
	r = store_step_done(s, st, op);
	store_stmt_done(st);
	return r;
}

int store_tx_begin(struct store *s)
{
	return store_run(s, STMT_TX_BEGIN, "SAVEPOINT store_tx", "tx_begin");
}

int store_tx_commit(struct store *s)
{
	return store_run(s, STMT_TX_COMMIT, "RELEASE store_tx", "tx_commit");
}

void store_tx_rollback(struct store *s)
{
	/* ROLLBACK TO undoes the work but leaves the savepoint open; RELEASE ends it. */
	store_run(s, STMT_TX_ROLLBACK, "ROLLBACK TO store_tx", "tx_rollback");
	store_run(s, STMT_TX_COMMIT, "RELEASE store_tx", "tx_commit");
	/* SQLite's rollback hook does not fire for a savepoint's */
	store_cache_clear(s);
}

/* Every rollback of a whole transaction, ours or SQLite's own (a failed COMMIT, a full
 * disk), may have undone cached tree nodes. */
static void store_on_rollback(void *arg)
{
	store_cache_clear(arg);
	store_cache_batch(arg, false);
}

static int store_exec(struct store *s, const char *sql, const char *op)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_error(s, rc, op);
}

static int store_pragma_int(struct store *s, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		r = store_error(s, rc, "pragma");
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = store_error(s, rc, "pragma");
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return r;
}

/* WAL lets readers run beside the writer; FULL makes each commit durable; secure_delete
 * overwrites deleted invite secrets instead of leaving them in free pages; temp_store keeps
 * the sub-journals of savepoints (every log append in a batch is one) in memory, where
 * SQLite would otherwise spill them to a temporary file, two writes per page. */
static int store_configure(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* secure_delete = FAST scrubs freed content where it costs no extra I/O (invite secrets
	 * are also zeroed explicitly when used); a 32 MiB page cache keeps the indexes' hot
	 * pages across commit batches. */
	if ((r = store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
			    " PRAGMA secure_delete = FAST; PRAGMA cache_size = -32768;"
			    " PRAGMA temp_store = MEMORY;",
			    "configure")) != 0)
		return r;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_error(s, rc, "journal_mode");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = store_error(s, rc, "journal_mode");
	} else if (sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		log_error("store_error", "op=journal_mode err=\"WAL not available\"");
		r = ERR_STORE;
	}
	sqlite3_finalize(st);
	return r;
}

static int store_migrate_step(struct store *s, int version)
{
	char sql[64];
	int r;

	if ((r = store_exec(s, "BEGIN IMMEDIATE", "migrate")) != 0)
		return r;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	if ((r = store_exec(s, store_migrations[version - 1], "migrate")) != 0 ||
	    (r = store_exec(s, sql, "migrate")) != 0 ||
	    (r = store_exec(s, "COMMIT", "migrate")) != 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

static int store_migrate(struct store *s, const char *path)
{
	int version = 0, r;

	if ((r = store_pragma_int(s, "PRAGMA user_version", &version)) != 0)
		return r;
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		log_error("store_schema_too_new",
			  "path=%s version=%d supported=%d"
			  " hint=\"written by a newer coexd; upgrade coexd\"",
			  path, version, STORE_SCHEMA_VERSION);
		return ERR_STORE;
	}
	for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		if ((r = store_migrate_step(s, v)) != 0)
			return r;
	}
	if (version == 0)
		log_info("store_created", "path=%s version=%d", path, STORE_SCHEMA_VERSION);
	else if (version != STORE_SCHEMA_VERSION)
		log_info("store_migrated", "path=%s from=%d to=%d", path, version,
			 STORE_SCHEMA_VERSION);
	return 0;
}

/* SQLite would create the file 0644; it holds invite secrets, so it is made 0600 first
 * (the -wal and -shm files inherit the database's mode). */
static int store_create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

void store_process_init(void)
{
	/* No allocation statistics: they take a process-wide mutex on every SQLite malloc.
	 * Fails harmlessly (SQLITE_MISUSE) if SQLite is already initialized. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *path, struct store **out)
{
	struct store *s = NULL;
	int rc, r;

	if ((r = store_create_file(path)) != 0) {
		log_error("store_open_failed", "path=%s err=\"%s\"", path, err_str(r));
		return r;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	/* NOMUTEX: a store is used by one thread at a time (store.h), so SQLite need not lock
	 * the connection around every call (binds, steps, columns: ~6 % of a busy node's CPU
	 * went to those locks). */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = store_error(s, rc, "open");
		goto out;
	}
	sqlite3_rollback_hook(s->db, store_on_rollback, s);
	if ((r = store_configure(s)) != 0 || (r = store_migrate(s, path)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_error("store_error", "op=close err=\"%s\"", sqlite3_errmsg(s->db));
	free(s);
}
