#include "store/log_check.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/store_msg.h"
#include "store/store_priv.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct log_check_page {
	struct log_verify v;
	uint64_t entries, sigs;         /* in this page: entries, signature checks */
	struct log_check_state at_head; /* the state at the last head verified */
	bool any_head;
	bool stopped;                   /* the page ended at a head, more to do */
};

static void log_check_head_from(const struct tree_head *sh, struct tree_head *th)
{
	th->size = sh->size;
	memcpy(th->root, sh->root, 32);
	th->time_ms = sh->time_ms;
	memcpy(th->signature, sh->signature, 64);
}

static int log_check_entry(struct log_check_page *p, const struct store_log_item *it)
{
	uint8_t leaf[32];

	/* Compared first: a changed entry is named as such, not as a wrong root later. */
	if (it->index == p->v.range.size) {
		if (!it->leaf)
			return log_verify_failf(&p->v, it->index, "entry %llu: the stored tree has no "
						"leaf for it", (unsigned long long)it->index);
		merkle_leaf_hash(it->entry, it->len, leaf);
		if (sodium_memcmp(leaf, it->leaf, 32) != 0)
			return log_verify_failf(&p->v, it->index, "entry %llu: its bytes do not match "
						"the leaf hash stored for it (the entry was changed)",
						(unsigned long long)it->index);
	}
	p->entries++;
	return log_verify_entry(&p->v, it->index, it->entry, it->len, NULL);
}

/* Copies only the hashes in use: a page may pass many heads. */
static void log_check_save(struct log_check_state *dst, const struct log_verify *v, uint64_t seq)
{
	dst->heads = v->heads;
	dst->head_seq = seq;
	dst->range.size = v->range.size;
	dst->range.n = v->range.n;
	memcpy(dst->range.hash, v->range.hash, v->range.n * sizeof(v->range.hash[0]));
}

static int log_check_item(void *arg, struct store_log_walk *w, const struct store_log_item *it)
{
	struct log_check_page *p = arg;
	struct tree_head th;
	uint64_t order = p->v.order;
	int r;

	(void)w;
	if (!it->is_head) {
		/* Checks (head and receipt signatures, mostly) count towards the page's budget. */
		r = log_check_entry(p, it);
		p->sigs += p->v.order - order;
		return r;
	}
	log_check_head_from(&it->head, &th);
	if ((r = log_verify_head(&p->v, &th)) != 0)
		return r;
	p->sigs += p->v.order - order;
	log_check_save(&p->at_head, &p->v, it->seq);
	p->any_head = true;
	if (p->entries < LOG_CHECK_PAGE_ENTRIES && p->sigs < LOG_CHECK_PAGE_SIGS)
		return 0;
	p->stopped = true;
	return 1;
}

/* A state from outside must name a signed head whose root its range gives. */
static int log_check_state_ok(struct store *s, const struct log_check_state *st,
			      struct tree_head *last)
{
	struct tree_head h;
	uint8_t root[32];

	if (st->head_seq == 0)
		return st->heads == 0 && st->range.size == 0 ? 0 : ERR_INVAL;
	if (store_head_get(s, st->head_seq, &h) != 0 || h.size != st->range.size)
		return ERR_INVAL;
	merkle_range_root(&st->range, root);
	if (sodium_memcmp(root, h.root, 32) != 0)
		return ERR_INVAL;
	log_check_head_from(&h, last);
	return 0;
}

/* After the last page: no head left unverified, and the stored tree gives the last root
 * (receipts' proofs are made from it). */
static void log_check_end(struct store *s, struct log_check_page *p, struct log_check_result *res)
{
	struct log_verify *v = &p->v;
	uint8_t root[32];

	if (v->heads < res->head_count) {
		log_verify_failf(v, res->log_size, "head %llu: covers entries the log does not have "
				 "(the log has %llu)", (unsigned long long)v->heads,
				 (unsigned long long)res->log_size);
		return;
	}
	if (v->has_last && (store_log_root(s, v->last.size, root) != 0 ||
			    sodium_memcmp(root, v->last.root, 32) != 0))
		log_verify_failf(v, v->last.size ? v->last.size - 1 : 0, "head %llu: the stored "
				 "tree does not give its root (inclusion proofs would be wrong)",
				 (unsigned long long)(v->heads - 1));
}

static int log_check_run(struct store *s, const uint8_t pk[32], uint64_t now_ms,
			 struct log_check_state *st, struct log_check_result *res)
{
	/* A node's own heads: signatures and roots are what matter. Their times only have to be
	 * ordered (the node never signs a head older than the last); a head "in the future" is
	 * what a clock corrected backwards leaves behind, not tampering, so it is not refused. */
	struct log_verify_opts o = {.pk = pk, .skew_ms = LOG_CHECK_SKEW_MS, .max_time_ms = 0};

	struct log_check_page p;
	struct tree_head last;
	int r;

	(void)now_ms; /* kept in the interface: a caller may want bounds again */
	memset(res, 0, sizeof(*res));
	if ((r = store_log_size(s, &res->log_size)) != 0 ||
	    (r = store_head_count(s, UINT64_MAX, &res->head_count)) != 0)
		return r;
	if ((r = log_check_state_ok(s, st, &last)) != 0)
		return r;
	memset(&p, 0, sizeof(p));
	log_verify_init(&p.v, &o);
	log_verify_resume(&p.v, &st->range, st->heads, st->head_seq ? &last : NULL);
	r = store_log_walk(s, st->range.size, res->log_size, st->head_seq, UINT64_MAX,
			   log_check_item, &p);
	if (r < 0 && r != ERR_PROTO)
		return r;
	if (!p.v.fail.failed && !p.stopped)
		log_check_end(s, &p, res);
	res->done = !p.stopped || p.v.fail.failed;
	res->ok = !p.v.fail.failed;
	if (p.v.fail.failed) {
		res->first_bad_index = p.v.fail.index;
		snprintf(res->reason, sizeof(res->reason), "%s", p.v.fail.reason);
		return 0;
	}
	if (res->done)
		res->uncovered = res->log_size - (p.v.has_last ? p.v.last.size : 0);
	/* The state stays at the last head: entries after it are not covered by one yet. */
	if (p.any_head)
		*st = p.at_head;
	return 0;
}

int log_check_page(struct store *s, const uint8_t pk[32], uint64_t now_ms,
		   struct log_check_state *st, struct log_check_result *res)
{
	struct log_check_state work = *st;
	bool tx = sqlite3_get_autocommit(s->db) != 0;
	int r;

	/* One read transaction: the size, the heads and the walk see the same log. */
	if (tx && sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return store_error(s, sqlite3_errcode(s->db), "log_check");
	r = log_check_run(s, pk, now_ms, &work, res);
	if (tx)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (r == 0 && res->ok)
		*st = work;
	return r;
}

static uint64_t log_check_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int log_check_mark(struct store *s, const struct log_check_state *st, uint64_t now_ms)
{
	struct store_log_mark m;

	memset(&m, 0, sizeof(m));
	m.head_seq = st->head_seq;
	m.heads = st->heads;
	m.size = st->range.size;
	m.n_range = st->range.n;
	memcpy(m.range, st->range.hash, st->range.n * sizeof(st->range.hash[0]));
	m.checked_ms = (int64_t)now_ms;
	return store_log_mark_set(s, &m);
}

/* The state remembered, if it still matches the log; else the start. */
static void log_check_resume_point(struct store *s, struct log_check_state *st)
{
	struct store_log_mark m;
	struct tree_head last;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = store_log_mark_get(s, &m)) == ERR_NOTFOUND)
		return;
	if (r == 0 && merkle_range_load(&st->range, m.size, (const uint8_t (*)[32])m.range,
					m.n_range) == 0) {
		st->heads = m.heads;
		st->head_seq = m.head_seq;
		if (log_check_state_ok(s, st, &last) == 0)
			return;
	}
	/* Heads are never rewritten, so this only happens to a store changed by hand. */
	log_warn("log_check_restart", "reason=\"the last verified head no longer matches the "
		 "log\" action=\"verifying from entry 0\"");
	memset(st, 0, sizeof(*st));
}

int log_check_at_start(struct store *s, const uint8_t node_pk[32], char *err, size_t errlen)
{
	struct log_check_state st;
	struct log_check_result res;
	uint64_t now = log_check_wall_ms(), t0 = now, from_entries, from_heads;
	int r;

	log_check_resume_point(s, &st);
	from_entries = st.range.size;
	from_heads = st.heads;
	do {
		if ((r = log_check_page(s, node_pk, now, &st, &res)) != 0) {
			snprintf(err, errlen, "cannot verify the exchange log: %s", err_str(r));
			return r == ERR_INVAL ? ERR_STORE : r;
		}
	} while (!res.done);
	if (!res.ok) {
		log_error("log_check_failed", "first_bad_index=%llu reason=\"%s\"",
			  (unsigned long long)res.first_bad_index, res.reason);
		snprintf(err, errlen, "%s", res.reason);
		return ERR_CRYPTO;
	}
	if ((r = log_check_mark(s, &st, now)) != 0) {
		snprintf(err, errlen, "cannot record the verified log: %s", err_str(r));
		return r;
	}
	log_info("log_checked", "entries=%llu heads=%llu new_entries=%llu new_heads=%llu ms=%llu",
		 (unsigned long long)res.log_size, (unsigned long long)res.head_count,
		 (unsigned long long)(st.range.size - from_entries),
		 (unsigned long long)(st.heads - from_heads),
		 (unsigned long long)(log_check_wall_ms() - t0));
	return 0;
}
