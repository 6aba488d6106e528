/* Internals shared by the store's files (store.c, store_partner.c, store_invite.c,
 * store_msg.c, store_log.c).
 * Not for use outside node/store. */
#ifndef COEX_STORE_STORE_PRIV_H
#define COEX_STORE_STORE_PRIV_H

#include "lib/log.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>

/* One slot per cached prepared statement. */
enum store_stmt_id {
	STMT_TX_BEGIN,
	STMT_TX_COMMIT,
	STMT_TX_ROLLBACK,
	STMT_PARTNER_ADD,
	STMT_PARTNER_REMOVE,
	STMT_PARTNER_GET,
	STMT_PARTNER_BY_NAME,
	STMT_PARTNER_BY_ID_RANGE,
	STMT_PARTNER_LIST,
	STMT_PARTNER_SET_ADDRESS,
	STMT_INVITE_ADD,
	STMT_INVITE_GET,
	STMT_INVITE_STATE,
	STMT_INVITE_MARK_USED,
	STMT_INVITE_PRUNE,
	STMT_BATCH_BEGIN,
	STMT_BATCH_COMMIT,
	STMT_BATCH_ROLLBACK,
	STMT_READ_BEGIN,
	STMT_MSG_INSERT,
	STMT_MSG_DATA_INSERT,
	STMT_MSG_ROW,
	STMT_RECEIPT_PUT,
	STMT_RECEIPT_DELETE,
	STMT_MSG_GET,
	STMT_MSG_BY_ID,
	STMT_MSG_BY_HASH_RANGE,
	STMT_MSG_SET_STATE,
	STMT_MSG_SET_RECEIPT,
	STMT_MSG_GET_META,
	STMT_MSG_SET_STATE_FROM,
	STMT_MSG_SET_DELIVERED,
	STMT_MSG_LIST,
	STMT_MSG_LIST_DIR,
	STMT_MSG_THREAD,
	STMT_MSG_FORWARDED,
	STMT_MSG_COUNT,
	STMT_OUTBOX_ADD,
	STMT_OUTBOX_REMOVE,
	STMT_OUTBOX_SCAN,
	STMT_OUTBOX_COUNT,
	STMT_LOG_SIZE,
	STMT_LOG_ENTRY_ADD,
	STMT_LOG_ENTRY_GET,
	STMT_LOG_NODE_ADD,
	STMT_LOG_NODE_GET,
	STMT_HEAD_ADD,
	STMT_HEAD_LATEST,
	STMT_PEER_HEAD_GET,
	STMT_PEER_HEAD_PUT,
	STMT_ALARM_ADD,
	STMT_ALARM_LIST,
	STMT_COUNT
};

/* The log's tree nodes, direct-mapped: 2^STORE_NODE_CACHE_BITS slots of 48 bytes. A batch
 * appends and proves around its own ~100 leaves and the few old subtrees left of them. */
enum { STORE_NODE_CACHE_BITS = 11 };

struct store_node_slot {
	uint64_t idx;
	uint8_t level;                  /* level + 1; 0: empty */
	uint8_t hash[32];
};

struct store_cache {
	struct store_node_slot nodes[1 << STORE_NODE_CACHE_BITS];
	uint64_t size;                  /* the log's size, if size_known */
	bool size_known;                /* only within the batch that learnt it */
	bool in_batch;                  /* between store_batch_begin and its end */
};

struct store {
	struct log_ratelimit rl;        /* for store_error's lines */
	sqlite3 *db;
	sqlite3_stmt *stmts[STMT_COUNT];
	struct store_cache cache;       /* store_cache.c */
};

/* Returns in *out the statement cached in slot id, preparing sql on first use. The
 * statement is reset and unbound; hand it back with store_stmt_done. Returns 0 or a
 * store error. */
int store_stmt(struct store *s, enum store_stmt_id id, const char *sql, sqlite3_stmt **out);
/* Resets st and clears its bindings. Accepts NULL. */
void store_stmt_done(sqlite3_stmt *st);
/* Maps an SQLite result code to ours: ERR_EXISTS (unique constraint; not logged),
 * ERR_FULL, ERR_NOMEM or ERR_STORE (logged with op and SQLite's message). */
int store_error(struct store *s, int rc, const char *op);
/* Steps a statement that returns no rows. Returns 0 or store_error(). */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *op);

/* Steps a statement that returns a row; *out gets its first column as an integer. Returns 0
 * or store_error() (ERR_STORE, logged, if there was no row). Does not reset st. */
int store_step_int64(struct store *s, sqlite3_stmt *st, const char *op, int64_t *out);
/* Runs the cached statement in slot id (sql, no parameters, no rows) once.
 * Returns 0 or store_error(). */
int store_run(struct store *s, enum store_stmt_id id, const char *sql, const char *op);

/* Copies column col, a text of fewer than cap bytes, into dst with a NUL; or a blob of
 * exactly len bytes. Returns 0 or ERR_STORE (a row that breaks the schema: logged). */
int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
int store_col_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t len);

/* A transaction as a savepoint, so it also nests inside a caller's batch. Every begin is
 * followed by exactly one commit or rollback. Returns 0 or a store error. */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
/* Undoes everything since store_tx_begin and ends the transaction. */
void store_tx_rollback(struct store *s);

/* The log's tree nodes and size, cached (store_cache.c). A node is put only once its row
 * is written or read; get returns false when it is not cached. The size is kept only inside
 * a commit batch (size_get returns false outside one, and put does nothing there): batch
 * marks one open or ended, forgetting the size either way. clear forgets the nodes and the
 * size: called on every rollback, whole or to a savepoint, so no node a rollback undid is
 * ever served; a whole one also ends the batch. */
bool store_cache_node_get(struct store *s, uint32_t level, uint64_t idx, uint8_t out[32]);
void store_cache_node_put(struct store *s, uint32_t level, uint64_t idx, const uint8_t hash[32]);
bool store_cache_size_get(struct store *s, uint64_t *size);
void store_cache_size_put(struct store *s, uint64_t size);
void store_cache_batch(struct store *s, bool open);
void store_cache_clear(struct store *s);

/* Checks that p's strings are NUL-terminated in their arrays and the name is non-empty.
 * Returns 0 or ERR_INVAL. */
int store_partner_check(const struct store_partner *p);
/* store_partner_add without its own transaction, for use inside one. */
int store_partner_insert(struct store *s, const struct store_partner *p);
/* Returns 0 if no partner is named name, ERR_EXISTS if one is, or a store error. */
int store_partner_name_free(struct store *s, const char *name);

#endif
