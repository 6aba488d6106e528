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
	if (store_cache_node_get(s, level, index, out))
		return 0;
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
	else if ((r = store_col_blob(st, 0, out, MERKLE_HASH_LEN)) == 0)
		store_cache_node_put(s, level, index, out);
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

	if (store_cache_size_get(s, out))
		return 0;
	/* max() on the rowid is one b-tree descent; count(*) would walk every entry. */
	if ((r = store_stmt(s, STMT_LOG_SIZE,
			    "SELECT coalesce(max(idx) + 1, 0) FROM log_entries", &st)) != 0)
		return r;
	if ((r = store_step_int64(s, st, "log_size", &n)) == 0) {
		store_cache_size_put(s, (uint64_t)n);
		*out = (uint64_t)n;
	}
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
	else if ((r = store_step_done(s, st, "log_append")) == 0)
		store_cache_node_put(s, node->level, node->index, node->hash);
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
	store_cache_size_put(s, size + 1);
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
static int store_head_check(struct store *s, const struct tree_head *h)
{
	struct tree_head last;
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

static int store_head_insert(struct store *s, const struct tree_head *h)
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

int store_head_add(struct store *s, const struct tree_head *h)
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

int store_head_latest(struct store *s, struct tree_head *out)
{
	struct tree_head h;
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

/* ------------------------------------------------------------------ reading the log back */

/* Statements for long scans are prepared per call rather than cached: a walk holds two
 * open at once, and they run rarely (verification, export, listing). */
static int store_log_prepare(struct store *s, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);

	return rc == SQLITE_OK ? 0 : store_error(s, rc, "prepare");
}

struct store_log_walk {
	struct store *s;
	sqlite3_stmt *entries, *heads, *envelope;
	bool have_head;            /* item.head holds the next head, not yet emitted */
	struct store_log_item head;
	uint64_t to;
};

/* Steps to the next head; have_head says whether there is one. */
static int store_log_walk_next_head(struct store_log_walk *w)
{
	struct store_log_item *h = &w->head;
	int rc, r;

	w->have_head = false;
	if ((rc = sqlite3_step(w->heads)) == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_error(w->s, rc, "log_walk");
	memset(h, 0, sizeof(*h));
	h->is_head = true;
	h->seq = (uint64_t)sqlite3_column_int64(w->heads, 0);
	h->head.size = (uint64_t)sqlite3_column_int64(w->heads, 1);
	h->head.time_ms = (uint64_t)sqlite3_column_int64(w->heads, 3);
	if ((r = store_col_blob(w->heads, 2, h->head.root, 32)) != 0 ||
	    (r = store_col_blob(w->heads, 4, h->head.signature, 64)) != 0)
		return r;
	w->have_head = true;
	return 0;
}

/* Emits the pending heads of size <= size. */
static int store_log_walk_heads(struct store_log_walk *w, uint64_t size,
				int (*fn)(void *, struct store_log_walk *, const struct store_log_item *),
				void *arg)
{
	int r;

	while (w->have_head && w->head.head.size <= size) {
		if ((r = fn(arg, w, &w->head)) != 0 || (r = store_log_walk_next_head(w)) != 0)
			return r;
	}
	return 0;
}

static int store_log_walk_entry(struct store_log_walk *w, struct store_log_item *it)
{
	const void *b = sqlite3_column_blob(w->entries, 1);
	int n = sqlite3_column_bytes(w->entries, 1);
	static const uint8_t none[1];

	memset(it, 0, sizeof(*it));
	it->index = (uint64_t)sqlite3_column_int64(w->entries, 0);
	if (n < 0 || (n > 0 && !b))
		return ERR_NOMEM;
	it->entry = n > 0 ? b : none;
	it->len = (size_t)n;
	if (sqlite3_column_type(w->entries, 2) == SQLITE_BLOB &&
	    sqlite3_column_bytes(w->entries, 2) == 32)
		it->leaf = sqlite3_column_blob(w->entries, 2);
	return 0;
}

static int store_log_walk_run(struct store_log_walk *w, uint64_t from,
			      int (*fn)(void *, struct store_log_walk *, const struct store_log_item *),
			      void *arg)
{
	struct store_log_item it;
	int rc, r;

	if ((r = store_log_walk_next_head(w)) != 0 || (r = store_log_walk_heads(w, from, fn, arg)) != 0)
		return r;
	while ((rc = sqlite3_step(w->entries)) == SQLITE_ROW) {
		if ((r = store_log_walk_entry(w, &it)) != 0 || (r = fn(arg, w, &it)) != 0 ||
		    (r = store_log_walk_heads(w, it.index + 1, fn, arg)) != 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return store_error(w->s, rc, "log_walk");
	return store_log_walk_heads(w, w->to, fn, arg);
}

int store_log_walk(struct store *s, uint64_t from, uint64_t to, uint64_t after_seq,
		   uint64_t max_seq,
		   int (*fn)(void *arg, struct store_log_walk *w, const struct store_log_item *it),
		   void *arg)
{
	struct store_log_walk w = {.s = s, .to = to};
	int rc, r;

	if (from > INT64_MAX || to > INT64_MAX || after_seq > INT64_MAX)
		return ERR_INVAL;
	if (max_seq > INT64_MAX)
		max_seq = INT64_MAX;
	if ((r = store_log_prepare(s, "SELECT e.idx, e.entry, n.hash FROM log_entries e"
				   " LEFT JOIN log_nodes n ON n.level = 0 AND n.idx = e.idx"
				   " WHERE e.idx >= ?1 AND e.idx < ?2 ORDER BY e.idx", &w.entries)) != 0 ||
	    (r = store_log_prepare(s, "SELECT seq, size, root, time_ms, signature FROM tree_heads"
				   " WHERE seq > ?1 AND seq <= ?2 ORDER BY seq", &w.heads)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(w.entries, 1, (int64_t)from)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(w.entries, 2, (int64_t)to)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(w.heads, 1, (int64_t)after_seq)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(w.heads, 2, (int64_t)max_seq)) != SQLITE_OK) {
		r = store_error(s, rc, "log_walk");
		goto out;
	}
	r = store_log_walk_run(&w, from, fn, arg);
out:
	sqlite3_finalize(w.entries);
	sqlite3_finalize(w.heads);
	sqlite3_finalize(w.envelope);
	return r;
}

int store_log_walk_envelope(struct store_log_walk *w, const uint8_t hash[32], uint8_t **out,
			    size_t *len)
{
	const void *b;
	uint8_t *p;
	int rc, r, n;

	if (!w->envelope &&
	    (r = store_log_prepare(w->s, "SELECT d.envelope FROM messages m"
				   " JOIN message_data d ON d.msg = m.rowid WHERE m.hash = ?1",
				   &w->envelope)) != 0)
		return r;
	sqlite3_reset(w->envelope);
	if ((rc = sqlite3_bind_blob(w->envelope, 1, hash, 32, SQLITE_STATIC)) != SQLITE_OK)
		return store_error(w->s, rc, "log_envelope");
	if ((rc = sqlite3_step(w->envelope)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(w->s, rc, "log_envelope");
	b = sqlite3_column_blob(w->envelope, 0);
	n = sqlite3_column_bytes(w->envelope, 0);
	if ((n > 0 && !b) || n < 0 || !(p = malloc(n > 0 ? (size_t)n : 1)))
		return ERR_NOMEM;
	if (n > 0)
		memcpy(p, b, (size_t)n);
	sqlite3_reset(w->envelope);
	*out = p;
	*len = (size_t)n;
	return 0;
}

static int store_head_row(struct store *s, sqlite3_stmt *st, const char *op, uint64_t *seq,
			  struct tree_head *out)
{
	struct tree_head h;
	int rc, r;

	memset(&h, 0, sizeof(h));
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, op);
	if ((r = store_col_blob(st, 2, h.root, sizeof(h.root))) != 0 ||
	    (r = store_col_blob(st, 4, h.signature, sizeof(h.signature))) != 0)
		return r;
	h.size = (uint64_t)sqlite3_column_int64(st, 1);
	h.time_ms = (uint64_t)sqlite3_column_int64(st, 3);
	if (seq)
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	*out = h;
	return 0;
}

int store_head_last(struct store *s, uint64_t *seq, struct tree_head *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_log_prepare(s, "SELECT seq, size, root, time_ms, signature FROM tree_heads"
				   " ORDER BY seq DESC LIMIT 1", &st)) == 0)
		r = store_head_row(s, st, "head_last", seq, out);
	sqlite3_finalize(st);
	return r;
}

int store_head_get(struct store *s, uint64_t seq, struct tree_head *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (seq > INT64_MAX)
		return ERR_NOTFOUND;
	if ((r = store_log_prepare(s, "SELECT seq, size, root, time_ms, signature FROM tree_heads"
				   " WHERE seq = ?1", &st)) == 0) {
		if ((rc = sqlite3_bind_int64(st, 1, (int64_t)seq)) != SQLITE_OK)
			r = store_error(s, rc, "head_get");
		else
			r = store_head_row(s, st, "head_get", NULL, out);
	}
	sqlite3_finalize(st);
	return r;
}

int store_head_count(struct store *s, uint64_t max_seq, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc, r;

	if (max_seq > INT64_MAX)
		max_seq = INT64_MAX;
	if ((r = store_log_prepare(s, "SELECT count(*) FROM tree_heads WHERE seq <= ?1", &st)) == 0) {
		if ((rc = sqlite3_bind_int64(st, 1, (int64_t)max_seq)) != SQLITE_OK)
			r = store_error(s, rc, "head_count");
		else if ((r = store_step_int64(s, st, "head_count", &n)) == 0)
			*out = (uint64_t)n;
	}
	sqlite3_finalize(st);
	return r;
}

int store_log_mark_get(struct store *s, struct store_log_mark *out)
{
	struct store_log_mark m;
	sqlite3_stmt *st = NULL;
	const void *b;
	int rc, r, n;

	if ((r = store_log_prepare(s, "SELECT head_seq, heads, size, range, checked_ms"
				   " FROM log_checked WHERE id = 1", &st)) != 0)
		return r;
	memset(&m, 0, sizeof(m));
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : store_error(s, rc, "log_mark_get");
		goto out;
	}
	b = sqlite3_column_blob(st, 3);
	n = sqlite3_column_bytes(st, 3);
	if (n < 0 || n % 32 != 0 || (size_t)n > sizeof(m.range) || (n > 0 && !b)) {
		log_error("store_error", "op=log_mark_get err=\"range of wrong length\"");
		r = ERR_STORE;
		goto out;
	}
	m.head_seq = (uint64_t)sqlite3_column_int64(st, 0);
	m.heads = (uint64_t)sqlite3_column_int64(st, 1);
	m.size = (uint64_t)sqlite3_column_int64(st, 2);
	if (n > 0)
		memcpy(m.range, b, (size_t)n);
	m.n_range = (size_t)n / 32;
	m.checked_ms = sqlite3_column_int64(st, 4);
	*out = m;
out:
	sqlite3_finalize(st);
	return r;
}

int store_log_mark_set(struct store *s, const struct store_log_mark *m)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (m->n_range > 64 || m->head_seq > INT64_MAX || m->heads > INT64_MAX || m->size > INT64_MAX)
		return ERR_INVAL;
	if ((r = store_log_prepare(s, "INSERT OR REPLACE INTO log_checked"
				   " (id, head_seq, heads, size, range, checked_ms)"
				   " VALUES (1, ?1, ?2, ?3, ?4, ?5)", &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (int64_t)m->head_seq)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)m->heads)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, (int64_t)m->size)) != SQLITE_OK ||
	    (rc = m->n_range ? sqlite3_bind_blob(st, 4, m->range, (int)(m->n_range * 32), SQLITE_STATIC)
			     : sqlite3_bind_zeroblob(st, 4, 0)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, m->checked_ms)) != SQLITE_OK)
		r = store_error(s, rc, "log_mark_set");
	else
		r = store_step_done(s, st, "log_mark_set");
	sqlite3_finalize(st);
	return r;
}
