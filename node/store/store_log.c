/* The exchange log: entries, the RFC 9162 tree's stored nodes, and our signed tree heads.
 *
 * log_nodes holds the root of every complete perfect subtree, (level, idx) covering leaves
 * [idx << level, (idx + 1) << level), level 0 being the leaf hashes. The tree math is
 * crypto/merkle's; this file only stores and fetches nodes for it. */
#include "store/store_msg.h"
#include "store/store_priv.h"
#include "crypto/merkle.h"
#include "lib/err.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(STORE_LOG_PROOF_MAX == MERKLE_MAX_PROOF, "proof buffers are sized for merkle");

/* merkle only asks for nodes of complete subtrees within a size already checked against
 * the log, so a missing one means the store was damaged. */
static int store_log_node_missing(uint32_t level, uint64_t index)
{
	log_error("store_error", "op=log_node_get level=%u idx=%llu err=\"tree node missing\"",
		  (unsigned)level, (unsigned long long)index);
	return ERR_STORE;
}

static int store_log_node_get(void *arg, uint32_t level, uint64_t index,
			      uint8_t out[MERKLE_HASH_LEN])
{
	struct store *s = arg;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (index > INT64_MAX)
		return store_log_node_missing(level, index);
	if ((r = store_stmt(s, STMT_LOG_NODE_GET,
			    "SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int(st, 1, (int)level)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)index)) != SQLITE_OK)
		r = store_error(s, rc, "log_node_get");
	else if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		r = store_log_node_missing(level, index);
	else if (rc != SQLITE_ROW)
		r = store_error(s, rc, "log_node_get");
	else
		r = store_col_blob(st, 0, out, MERKLE_HASH_LEN);
	store_stmt_done(st);
	return r;
}

static struct merkle_nodes store_log_tree(struct store *s)
{
	return (struct merkle_nodes){.get = store_log_node_get, .arg = s};
}

int store_log_size(struct store *s, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int r;

	/* max() on the rowid is one b-tree descent; count(*) would walk every entry. */
	if ((r = store_stmt(s, STMT_LOG_SIZE,
			    "SELECT coalesce(max(idx) + 1, 0) FROM log_entries", &st)) != 0)
		return r;
	if ((r = store_step_int64(s, st, "log_size", &n)) == 0)
		*out = (uint64_t)n;
	store_stmt_done(st);
	return r;
}

static int store_log_insert_entry(struct store *s, uint64_t index, const uint8_t *entry,
				  size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_LOG_ENTRY_ADD,
			    "INSERT INTO log_entries (idx, entry) VALUES (?1, ?2)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (int64_t)index)) != SQLITE_OK ||
	    (rc = len ? sqlite3_bind_blob64(st, 2, entry, len, SQLITE_STATIC)
		      : sqlite3_bind_zeroblob(st, 2, 0)) != SQLITE_OK)
		r = store_error(s, rc, "log_append");
	else
		r = store_step_done(s, st, "log_append");
	store_stmt_done(st);
	return r;
}

static int store_log_insert_node(struct store *s, const struct merkle_node *node)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_LOG_NODE_ADD,
			    "INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)", &st)) !=
	    0)
		return r;
	if ((rc = sqlite3_bind_int(st, 1, (int)node->level)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)node->index)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 3, node->hash, MERKLE_HASH_LEN, SQLITE_STATIC)) !=
		    SQLITE_OK)
		r = store_error(s, rc, "log_append");
	else
		r = store_step_done(s, st, "log_append");
	store_stmt_done(st);
	return r;
}

/* The append itself, inside a transaction. */
static int store_log_append_tx(struct store *s, const uint8_t *entry, size_t len,
			       uint64_t *index_out)
{
	struct merkle_nodes t = store_log_tree(s);
	struct merkle_node nodes[MERKLE_MAX_NODES];
	uint8_t leaf[MERKLE_HASH_LEN];
	uint64_t size;
	size_t n;
	int r;

	if ((r = store_log_size(s, &size)) != 0)
		return r;
	merkle_leaf_hash(entry, len, leaf);
	if ((r = merkle_append(&t, size, leaf, nodes, &n)) != 0 ||
	    (r = store_log_insert_entry(s, size, entry, len)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if ((r = store_log_insert_node(s, &nodes[i])) != 0)
			return r;
	}
	*index_out = size;
	return 0;
}

int store_log_append(struct store *s, const uint8_t *entry, size_t len, uint64_t *index_out)
{
	uint64_t index;
	int r;

	if (!entry && len)
		return ERR_INVAL;
	if ((r = store_tx_begin(s)) != 0)
		return r;
	if ((r = store_log_append_tx(s, entry, len, &index)) != 0 ||
	    (r = store_tx_commit(s)) != 0) {
		store_tx_rollback(s);
		return r;
	}
	if (index_out)
		*index_out = index;
	return 0;
}

int store_log_entry(struct store *s, uint64_t index, uint8_t **entry, size_t *len,
		    uint8_t leaf_hash[32])
{
	uint8_t leaf[MERKLE_HASH_LEN], *p = NULL;
	sqlite3_stmt *st = NULL;
	const void *b;
	int rc, r, n;

	if (index > INT64_MAX)
		return ERR_NOTFOUND;
	if ((r = store_stmt(s, STMT_LOG_ENTRY_GET,
			    "SELECT e.entry, n.hash FROM log_entries e JOIN log_nodes n"
			    " ON n.level = 0 AND n.idx = e.idx WHERE e.idx = ?1", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (int64_t)index)) != SQLITE_OK) {
		r = store_error(s, rc, "log_entry");
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, "log_entry");
		goto out;
	}
	if ((r = store_col_blob(st, 1, leaf, sizeof(leaf))) != 0)
		goto out;
	b = sqlite3_column_blob(st, 0);
	n = sqlite3_column_bytes(st, 0);
	/* malloc(1) for an empty entry: success always gives a pointer to free */
	if ((n > 0 && !b) || !(p = malloc(n > 0 ? (size_t)n : 1))) {
		r = ERR_NOMEM;
		goto out;
	}
	if (n > 0)
		memcpy(p, b, (size_t)n);
	*entry = p;
	*len = n > 0 ? (size_t)n : 0;
	if (leaf_hash)
		memcpy(leaf_hash, leaf, sizeof(leaf));
	p = NULL;
out:
	store_stmt_done(st);
	free(p);
	return r;
}

/* ERR_INVAL unless size is at most the log's size. */
static int store_log_check_size(struct store *s, uint64_t size)
{
	uint64_t cur;
	int r;

	if ((r = store_log_size(s, &cur)) != 0)
		return r;
	return size <= cur ? 0 : ERR_INVAL;
}

int store_log_root(struct store *s, uint64_t size, uint8_t root[32])
{
	struct merkle_nodes t = store_log_tree(s);
	uint8_t h[MERKLE_HASH_LEN];
	int r;

	if ((r = store_log_check_size(s, size)) != 0 || (r = merkle_root(&t, size, h)) != 0)
		return r;
	memcpy(root, h, sizeof(h));
	return 0;
}

int store_log_prove_inclusion(struct store *s, uint64_t index, uint64_t size,
			      uint8_t (*proof)[32], size_t *n)
{
	struct merkle_nodes t = store_log_tree(s);
	uint8_t p[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t k;
	int r;

	if ((r = store_log_check_size(s, size)) != 0 ||
	    (r = merkle_prove_inclusion(&t, index, size, p, MERKLE_MAX_PROOF, &k)) != 0)
		return r;
	memcpy(proof, p, k * sizeof(p[0]));
	*n = k;
	return 0;
}

int store_log_prove_consistency(struct store *s, uint64_t size1, uint64_t size2,
				uint8_t (*proof)[32], size_t *n)
{
	struct merkle_nodes t = store_log_tree(s);
	uint8_t p[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t k;
	int r;

	if ((r = store_log_check_size(s, size2)) != 0 ||
	    (r = merkle_prove_consistency(&t, size1, size2, p, MERKLE_MAX_PROOF, &k)) != 0)
		return r;
	memcpy(proof, p, k * sizeof(p[0]));
	*n = k;
	return 0;
}

/* A head may only be stored for the log as it is: its root recomputed from our own nodes,
 * and never behind the previous head. */
static int store_head_check(struct store *s, const struct store_head *h)
{
	struct store_head last;
	uint8_t root[MERKLE_HASH_LEN];
	int r;

	if (h->size > INT64_MAX)
		return ERR_INVAL;
	if ((r = store_log_root(s, h->size, root)) != 0)
		return r;
	if (memcmp(root, h->root, sizeof(root)) != 0)
		return ERR_INVAL;
	r = store_head_latest(s, &last);
	if (r == ERR_NOTFOUND)
		return 0;
	if (r == 0 && h->size < last.size)
		return ERR_INVAL;
	return r;
}

static int store_head_insert(struct store *s, const struct store_head *h)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_HEAD_ADD,
			    "INSERT INTO tree_heads (size, root, time_ms, signature)"
			    " VALUES (?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (int64_t)h->size)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, h->root, sizeof(h->root), SQLITE_STATIC)) !=
		    SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, (int64_t)h->time_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 4, h->signature, sizeof(h->signature), SQLITE_STATIC)) !=
		    SQLITE_OK)
		r = store_error(s, rc, "head_add");
	else
		r = store_step_done(s, st, "head_add");
	store_stmt_done(st);
	return r;
}

int store_head_add(struct store *s, const struct store_head *h)
{
	int r;

	if ((r = store_tx_begin(s)) != 0)
		return r;
	if ((r = store_head_check(s, h)) != 0 || (r = store_head_insert(s, h)) != 0 ||
	    (r = store_tx_commit(s)) != 0) {
		store_tx_rollback(s);
		return r;
	}
	return 0;
}

int store_head_latest(struct store *s, struct store_head *out)
{
	struct store_head h;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_stmt(s, STMT_HEAD_LATEST,
			    "SELECT size, root, time_ms, signature FROM tree_heads"
			    " ORDER BY seq DESC LIMIT 1", &st)) != 0)
		return r;
	memset(&h, 0, sizeof(h));
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, "head_latest");
	} else if ((r = store_col_blob(st, 1, h.root, sizeof(h.root))) == 0 &&
		   (r = store_col_blob(st, 3, h.signature, sizeof(h.signature))) == 0) {
		h.size = (uint64_t)sqlite3_column_int64(st, 0);
		h.time_ms = (uint64_t)sqlite3_column_int64(st, 2);
		*out = h;
	}
	store_stmt_done(st);
	return r;
}
