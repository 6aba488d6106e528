#include "wire/log_verify.h"
#include "crypto/identity.h"
#include "crypto/sha256.h"
#include "lib/err.h"
#include "wire/log_entry.h"

#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void log_verify_init(struct log_verify *v, const struct log_verify_opts *opts)
{
	memset(v, 0, sizeof(*v));
	v->opts = *opts;
	merkle_range_init(&v->range);
}

void log_verify_resume(struct log_verify *v, const struct merkle_range *range, uint64_t heads,
		       const struct tree_head *last)
{
	v->range = *range;
	v->heads = heads;
	v->has_last = last != NULL;
	if (last)
		v->last = *last;
}

/* Keeps the failure of the check ranked order if no earlier check failed: the failure
 * reported is the one an inline run stops at, however deferred checks were scheduled. */
static void log_verify_keep(struct log_verify *v, uint64_t index, uint64_t order,
			    const char *reason)
{
	struct log_verify_fail *f = &v->fail;

	if (f->failed && f->order < order)
		return;
	f->failed = true;
	f->index = index;
	f->order = order;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static int log_verify_vfail(struct log_verify *v, uint64_t index, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int log_verify_vfail(struct log_verify *v, uint64_t index, const char *fmt, va_list ap)
{
	char reason[LOG_VERIFY_REASON_MAX];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	log_verify_keep(v, index, v->order++, reason);
	return ERR_PROTO;
}

int log_verify_failf(struct log_verify *v, uint64_t index, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_verify_vfail(v, index, fmt, ap);
	va_end(ap);
	return r;
}

const struct log_verify_fail *log_verify_result(const struct log_verify *v)
{
	return &v->fail;
}

/* ------------------------------------------------------------------ jobs */

static void job_fail(struct log_verify_job *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void job_fail(struct log_verify_job *j, int err, const char *fmt, ...)
{
	va_list ap;

	j->err = err;
	va_start(ap, fmt);
	vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
	va_end(ap);
}

static void job_short_id(const uint8_t pk[32], char out[IDENTITY_FPR_LEN + 1])
{
	char id[IDENTITY_ID_LEN + 1];

	identity_id_format(pk, id);
	memcpy(out, id, IDENTITY_FPR_LEN);
	out[IDENTITY_FPR_LEN] = '\0';
}

/* merkle_verify_inclusion, remembering the steps of a proof that verifies (memo): a proof
 * that reaches a remembered step with the same position and node, and whose remaining
 * hashes are the remembered ones, would go on exactly as the remembered one did, to the
 * same root: it verifies. Same result as merkle_verify_inclusion, always. */
static int verify_inclusion(struct log_verify_memo *m, uint64_t index, uint64_t size,
			    const uint8_t leaf[32], const uint8_t (*proof)[32], size_t n,
			    const uint8_t root[32])
{
	uint64_t fn, sn;
	uint8_t r[32];
	bool usable;
	size_t i;

	if (!m || n > MERKLE_MAX_PROOF)
		return merkle_verify_inclusion(index, size, leaf, proof, n, root);
	if (index >= size)
		return ERR_PROTO;
	usable = m->valid && m->size == size && m->n == n && memcmp(m->root, root, 32) == 0;
	m->valid = false; /* until this proof is known to verify */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, 32);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return ERR_PROTO;
		if (usable && m->fn[i] == fn && m->sn[i] == sn && memcmp(m->r[i], r, 32) == 0 &&
		    memcmp(m->proof[i], proof[i], (n - i) * 32) == 0) {
			m->valid = true; /* steps i.. are this proof's too */
			return 0;
		}
		m->fn[i] = fn;
		m->sn[i] = sn;
		memcpy(m->r[i], r, 32);
		memcpy(m->proof[i], proof[i], 32);
		merkle_inclusion_step(&fn, &sn, proof[i], r);
	}
	if (sn != 0)
		return ERR_PROTO;
	if (memcmp(r, root, 32) != 0)
		return ERR_CRYPTO;
	m->valid = true;
	m->size = size;
	m->n = n;
	memcpy(m->root, root, 32);
	return 0;
}

/* What receipt_verify checks, part by part, to say which part fails. The envelope hash was
 * compared when the job was made; a head already covered by an earlier check skips the
 * signature. */
static void job_run_receipt(struct log_verify_job *j, struct log_verify_memo *memo)
{
	const struct receipt *r = &j->receipt;
	struct log_entry e;
	uint8_t leaf[32];
	char who[IDENTITY_FPR_LEN + 1];
	int ok;

	if (!j->head_checked && tree_head_verify(j->pk, &r->head) != 0) {
		job_short_id(j->pk, who);
		job_fail(j, ERR_CRYPTO, "entry %llu: receipt's tree head is not signed by the "
			 "partner %s", (unsigned long long)j->index, who);
		return;
	}
	if (log_entry_decode(r->entry, r->entry_len, &e) != 0) {
		job_short_id(j->pk, who);
		job_fail(j, ERR_PROTO, "entry %llu: receipt carries no valid log entry of %s",
			 (unsigned long long)j->index, who);
		return;
	}
	ok = e.type == LOG_ENTRY_RECEIVED && e.has_message &&
	     memcmp(e.envelope_hash, j->hash, 32) == 0;
	log_entry_release(&e);
	if (!ok) {
		job_short_id(j->pk, who);
		job_fail(j, ERR_PROTO, "entry %llu: receipt's entry is not %s's RECEIVED entry for "
			 "this message", (unsigned long long)j->index, who);
		return;
	}
	merkle_leaf_hash(r->entry, r->entry_len, leaf);
	if (verify_inclusion(memo, r->log_index, r->head.size, leaf,
			     (const uint8_t (*)[32])r->proof, r->n_proof, r->head.root) != 0) {
		job_short_id(j->pk, who);
		job_fail(j, ERR_CRYPTO, "entry %llu: receipt's inclusion proof does not lead to "
			 "%s's signed root", (unsigned long long)j->index, who);
	}
}

void log_verify_job_run(struct log_verify_job *j)
{
	log_verify_job_run_memo(j, NULL);
}

void log_verify_job_run_memo(struct log_verify_job *j, struct log_verify_memo *memo)
{
	uint8_t h[32];

	j->err = 0;
	j->reason[0] = '\0';
	switch (j->kind) {
	case LOG_VERIFY_JOB_HEAD:
		if (tree_head_verify(j->pk, &j->head) != 0)
			job_fail(j, ERR_CRYPTO, "head %llu: signature does not verify with the "
				 "node's key", (unsigned long long)j->head_no);
		break;
	case LOG_VERIFY_JOB_RECEIPT:
		job_run_receipt(j, memo);
		break;
	case LOG_VERIFY_JOB_ENVELOPE:
		sha256(h, j->data, j->len);
		if (sodium_memcmp(h, j->hash, 32) != 0)
			job_fail(j, ERR_CRYPTO, "entry %llu: envelope does not match the hash the "
				 "entry names", (unsigned long long)j->index);
		break;
	}
}

static void job_free(struct log_verify_job *j)
{
	if (j->kind == LOG_VERIFY_JOB_RECEIPT)
		receipt_release(&j->receipt);
	if (j->release)
		j->release(j->owner);
	free(j);
}

void log_verify_job_done(struct log_verify *v, struct log_verify_job *j)
{
	if (j->err != 0)
		log_verify_keep(v, j->index, j->order, j->reason);
	v->pending--;
	job_free(j);
}

/* Hands j out, or runs it now. Takes ownership of j. */
static int log_verify_submit(struct log_verify *v, struct log_verify_job *j)
{
	j->order = v->order++;
	if (v->opts.defer) {
		v->pending++;
		v->opts.defer(v->opts.defer_arg, j);
		return 0;
	}
	log_verify_job_run_memo(j, &v->memo);
	if (j->err != 0)
		log_verify_keep(v, j->index, j->order, j->reason);
	job_free(j);
	return v->fail.failed ? ERR_PROTO : 0;
}

/* Zeroed up to the receipt (most of the job's size), which only a RECEIPT job uses and
 * receipt_decode fills in. */
static struct log_verify_job *job_new(enum log_verify_job_kind kind, uint64_t index)
{
	struct log_verify_job *j = malloc(sizeof(*j));

	if (j) {
		memset(j, 0, offsetof(struct log_verify_job, receipt));
		j->kind = kind;
		j->index = index;
	}
	return j;
}

/* ------------------------------------------------------------------ entries */

/* Whether an earlier receipt already put this head's signature to the test; remembers it. */
static bool log_verify_head_seen(struct log_verify *v, const uint8_t pk[32],
				 const struct tree_head *h)
{
	struct log_verify_cached_head *c;

	for (size_t i = 0; i < v->n_cache; i++) {
		c = &v->cache[i];
		if (memcmp(c->pk, pk, 32) == 0 && c->head.size == h->size &&
		    c->head.time_ms == h->time_ms && memcmp(c->head.root, h->root, 32) == 0 &&
		    memcmp(c->head.signature, h->signature, 64) == 0)
			return true;
	}
	c = &v->cache[v->cache_next];
	v->cache_next = (v->cache_next + 1) % LOG_VERIFY_HEAD_CACHE;
	if (v->n_cache < LOG_VERIFY_HEAD_CACHE)
		v->n_cache++;
	memcpy(c->pk, pk, 32);
	c->head = *h;
	return false;
}

static int log_verify_receipt(struct log_verify *v, uint64_t index, const struct log_entry *e,
			      struct log_verify_info *info)
{
	struct log_verify_job *j;

	if (!e->receipt_len)
		return log_verify_failf(v, index, "entry %llu: receipt entry without a receipt",
					(unsigned long long)index);
	if (!(j = job_new(LOG_VERIFY_JOB_RECEIPT, index)))
		return ERR_NOMEM;
	if (receipt_decode(e->receipt, e->receipt_len, &j->receipt) != 0) {
		free(j);
		return log_verify_failf(v, index, "entry %llu: receipt does not decode",
					(unsigned long long)index);
	}
	if (memcmp(j->receipt.envelope_hash, e->envelope_hash, 32) != 0) {
		job_free(j);
		return log_verify_failf(v, index, "entry %llu: receipt is for another message",
					(unsigned long long)index);
	}
	memcpy(j->pk, e->peer, 32);
	memcpy(j->hash, e->envelope_hash, 32);
	j->head_checked = log_verify_head_seen(v, e->peer, &j->receipt.head);
	if (info) {
		info->has_receipt = true;
		info->receipt_index = j->receipt.log_index;
		if (v->opts.flags & LOG_VERIFY_RECEIPT_LEAF)
			merkle_leaf_hash(j->receipt.entry, j->receipt.entry_len, info->receipt_leaf);
		info->receipt_size = j->receipt.head.size;
		memcpy(info->receipt_root, j->receipt.head.root, 32);
	}
	v->receipts++;
	return log_verify_submit(v, j);
}

/* Decodes and checks what the entry says; the RECEIPT's receipt goes to a job. */
static int log_verify_content(struct log_verify *v, uint64_t index, const uint8_t *entry,
			      size_t len, struct log_verify_info *info)
{
	struct log_entry e;
	int r = 0;

	if (log_entry_decode(entry, len, &e) != 0)
		return log_verify_failf(v, index, "entry %llu: not a valid log entry",
					(unsigned long long)index);
	if ((e.type == LOG_ENTRY_SENT || e.type == LOG_ENTRY_RECEIVED ||
	     e.type == LOG_ENTRY_RECEIPT) && !e.has_message)
		r = log_verify_failf(v, index, "entry %llu: %s entry names no message",
				     (unsigned long long)index, log_entry_type_str(e.type));
	else if (e.type != LOG_ENTRY_RECEIPT && e.receipt_len)
		r = log_verify_failf(v, index, "entry %llu: %s entry carries a receipt",
				     (unsigned long long)index, log_entry_type_str(e.type));
	if (r == 0 && info) {
		info->type = (int)e.type;
		info->has_message = e.has_message;
		memcpy(info->envelope_hash, e.envelope_hash, 32);
		memcpy(info->peer, e.peer, 32);
	}
	if (r == 0 && e.type == LOG_ENTRY_RECEIPT)
		r = log_verify_receipt(v, index, &e, info);
	log_entry_release(&e);
	return r;
}

int log_verify_entry(struct log_verify *v, uint64_t index, const uint8_t *entry, size_t len,
		     struct log_verify_info *info)
{
	uint8_t leaf[32];
	int r;

	if (info)
		memset(info, 0, sizeof(*info));
	if (index != v->range.size)
		return log_verify_failf(v, v->range.size, "entry %llu: missing (entry %llu comes "
					"next)", (unsigned long long)v->range.size,
					(unsigned long long)index);
	merkle_leaf_hash(entry, len, leaf);
	if (merkle_range_append(&v->range, leaf) != 0)
		return log_verify_failf(v, index, "entry %llu: the log is too long",
					(unsigned long long)index);
	if (info)
		memcpy(info->leaf, leaf, 32);
	if (v->opts.flags & LOG_VERIFY_HASH_ONLY)
		return 0;
	if ((r = log_verify_content(v, index, entry, len, info)) != 0)
		return r;
	return v->fail.failed ? ERR_PROTO : 0;
}

int log_verify_envelope(struct log_verify *v, uint64_t index, const uint8_t hash[32],
			const uint8_t *data, size_t len, void (*release)(void *owner), void *owner)
{
	struct log_verify_job *j;

	if ((v->opts.flags & LOG_VERIFY_HASH_ONLY) || !(j = job_new(LOG_VERIFY_JOB_ENVELOPE, index))) {
		if (release)
			release(owner);
		return (v->opts.flags & LOG_VERIFY_HASH_ONLY) ? 0 : ERR_NOMEM;
	}
	memcpy(j->hash, hash, 32);
	j->data = data;
	j->len = len;
	j->release = release;
	j->owner = owner;
	v->envelopes++;
	return log_verify_submit(v, j);
}

/* ------------------------------------------------------------------ heads */

/* The entry a head is located at: the last one it covers. */
static uint64_t head_index(uint64_t size)
{
	return size ? size - 1 : 0;
}

static int log_verify_head_time(struct log_verify *v, const struct tree_head *h)
{
	unsigned long long k = (unsigned long long)v->heads;

	if (h->time_ms < LOG_VERIFY_EPOCH_MS)
		return log_verify_failf(v, head_index(h->size), "head %llu: implausible time "
					"(before 2020)", k);
	if (v->opts.max_time_ms && h->time_ms > v->opts.max_time_ms)
		return log_verify_failf(v, head_index(h->size), "head %llu: dated in the future "
					"(%llu s after the latest plausible time)", k,
					(unsigned long long)(h->time_ms - v->opts.max_time_ms) / 1000);
	if (v->has_last && h->time_ms + v->opts.skew_ms < v->last.time_ms)
		return log_verify_failf(v, head_index(h->size), "head %llu: dated %llu s before "
					"head %llu", k,
					(unsigned long long)(v->last.time_ms - h->time_ms) / 1000,
					k - 1);
	return 0;
}

/* Names the entries a wrong root may come from: those after the previous head. */
static int log_verify_head_root(struct log_verify *v, const struct tree_head *h)
{
	uint64_t from = v->has_last ? v->last.size : 0;
	unsigned long long k = (unsigned long long)v->heads;
	uint8_t root[32];

	merkle_range_root(&v->range, root);
	if (sodium_memcmp(root, h->root, 32) == 0)
		return 0;
	if (h->size == from)
		return log_verify_failf(v, head_index(h->size), "head %llu: root differs from "
					"head %llu's of the same size", k, k - 1);
	if (h->size - from == 1)
		return log_verify_failf(v, from, "entry %llu: leaf does not match head %llu's root",
					(unsigned long long)from, k);
	return log_verify_failf(v, from, "entry %llu: entries %llu..%llu do not match head "
				"%llu's root", (unsigned long long)from, (unsigned long long)from,
				(unsigned long long)(h->size - 1), k);
}

int log_verify_head(struct log_verify *v, const struct tree_head *h)
{
	struct log_verify_job *j;
	uint64_t n = v->range.size;
	int r;

	if (h->size != n)
		return log_verify_failf(v, h->size > n ? n : head_index(n), "head %llu: out of place "
					"(size %llu after %llu entries)", (unsigned long long)v->heads,
					(unsigned long long)h->size, (unsigned long long)n);
	if (!(v->opts.flags & LOG_VERIFY_HASH_ONLY) && (r = log_verify_head_time(v, h)) != 0)
		return r;
	if ((r = log_verify_head_root(v, h)) != 0)
		return r;
	if (!(v->opts.flags & LOG_VERIFY_HASH_ONLY)) {
		if (!(j = job_new(LOG_VERIFY_JOB_HEAD, head_index(h->size))))
			return ERR_NOMEM;
		j->head_no = v->heads;
		memcpy(j->pk, v->opts.pk, 32);
		j->head = *h;
		if ((r = log_verify_submit(v, j)) != 0)
			return r;
	}
	v->heads++;
	v->has_last = true;
	v->last = *h;
	return 0;
}
