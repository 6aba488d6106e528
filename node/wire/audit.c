#include "wire/audit.h"
#include "crypto/sha256.h"
#include "lib/err.h"
#include "wire/log_entry.h"
#include "wire/tree_head.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit {
	struct audit_opts opts;
	struct log_verify v;
	struct audit_result res;
	bool started;                    /* the verifier is set up (a header was read) */
	bool stable;                     /* the bytes fed stay valid until audit_free (mapped) */
	bool want_envelope;              /* the last entry was SENT/RECEIVED, no envelope yet */
	uint64_t want_index;
	uint8_t want_hash[32];
	char name[AUDIT_NAME_MAX + 1];   /* this file's node, for probe failures */
	struct audit_probe *by_index, *by_size;
	size_t n_probes, next_index, next_size;
	struct audit_probe *collected;
	size_t n_collected, cap_collected;
	/* The alarm records right after the header, hashed as they come. */
	bool alarms_closed;
	struct sha256_state alarms_st;
	struct audit_alarm *alarms;
	size_t n_alarms;
	char alarms_name[AUDIT_NAME_MAX + 1];
	struct audit_probe *alarm_probes;  /* sorted by size */
	size_t n_alarm_probes, next_alarm;
};

static int probe_cmp_index(const void *a, const void *b)
{
	const struct audit_probe *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static int probe_cmp_size(const void *a, const void *b)
{
	const struct audit_probe *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size ? 1 : 0;
}

int audit_new(const struct audit_opts *opts, struct audit **out)
{
	struct audit *a = calloc(1, sizeof(*a));
	size_t n = opts->n_probes;

	if (!a)
		return ERR_NOMEM;
	a->opts = *opts;
	snprintf(a->name, sizeof(a->name), "%s", opts->probes_name ? opts->probes_name : "the other");
	if (n) {
		if (n > SIZE_MAX / sizeof(*a->by_index) || !(a->by_index = malloc(n * sizeof(*a->by_index))) ||
		    !(a->by_size = malloc(n * sizeof(*a->by_size)))) {
			audit_free(a);
			return ERR_NOMEM;
		}
		memcpy(a->by_index, opts->probes, n * sizeof(*a->by_index));
		memcpy(a->by_size, opts->probes, n * sizeof(*a->by_size));
		qsort(a->by_index, n, sizeof(*a->by_index), probe_cmp_index);
		qsort(a->by_size, n, sizeof(*a->by_size), probe_cmp_size);
		a->n_probes = n;
	}
	a->opts.probes = NULL;
	snprintf(a->alarms_name, sizeof(a->alarms_name), "%s",
		 opts->alarms_name ? opts->alarms_name : "the other");
	if ((n = opts->n_alarm_probes) != 0) {
		if (n > SIZE_MAX / sizeof(*a->alarm_probes) ||
		    !(a->alarm_probes = malloc(n * sizeof(*a->alarm_probes)))) {
			audit_free(a);
			return ERR_NOMEM;
		}
		memcpy(a->alarm_probes, opts->alarm_probes, n * sizeof(*a->alarm_probes));
		qsort(a->alarm_probes, n, sizeof(*a->alarm_probes), probe_cmp_size);
		a->n_alarm_probes = n;
	}
	a->opts.alarm_probes = NULL;
	*out = a;
	return 0;
}

void audit_free(struct audit *a)
{
	if (!a)
		return;
	free(a->by_index);
	free(a->by_size);
	free(a->collected);
	free(a->alarms);
	free(a->alarm_probes);
	free(a);
}

/* ------------------------------------------------------------------ probes */

static void probe_fail(struct audit *a, uint64_t origin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keeps the probe failure with the smallest origin. */
static void probe_fail(struct audit *a, uint64_t origin, const char *fmt, ...)
{
	va_list ap;

	if (a->res.probe_failed && a->res.probe_index <= origin)
		return;
	a->res.probe_failed = true;
	a->res.probe_index = origin;
	va_start(ap, fmt);
	vsnprintf(a->res.probe_reason, sizeof(a->res.probe_reason), fmt, ap);
	va_end(ap);
}

/* The entry at index, with leaf hash leaf, just went by. */
static void probes_at_index(struct audit *a, uint64_t index, const uint8_t leaf[32])
{
	for (; a->next_index < a->n_probes && a->by_index[a->next_index].index <= index;
	     a->next_index++) {
		const struct audit_probe *p = &a->by_index[a->next_index];
		if (p->index == index && memcmp(p->leaf, leaf, 32) == 0)
			continue;
		probe_fail(a, p->origin, "receipt in entry %llu is not in %s's log at index %llu",
			   (unsigned long long)p->origin, a->name, (unsigned long long)p->index);
	}
}

static void alarm_probe_fail(struct audit *a, struct audit_probe *p, uint64_t index,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An evidence head this log does not have: kept if it is the first. */
static void alarm_probe_fail(struct audit *a, struct audit_probe *p, uint64_t index,
			     const char *fmt, ...)
{
	va_list ap;

	p->checked = true;
	p->missing = true;
	if (a->res.alarm_probe_failed)
		return;
	a->res.alarm_probe_failed = true;
	a->res.alarm_probe_index = index;
	va_start(ap, fmt);
	vsnprintf(a->res.alarm_probe_reason, sizeof(a->res.alarm_probe_reason), fmt, ap);
	va_end(ap);
}

static void alarm_probes_at_size(struct audit *a, const uint8_t root[32])
{
	uint64_t size = a->v.range.size;

	for (; a->next_alarm < a->n_alarm_probes && a->alarm_probes[a->next_alarm].size <= size;
	     a->next_alarm++) {
		struct audit_probe *p = &a->alarm_probes[a->next_alarm];
		p->checked = true;
		if (p->size == size && memcmp(p->root, root, 32) == 0)
			continue;
		alarm_probe_fail(a, p, size ? size - 1 : 0, "alarm %llu of %s: %s's log of %llu "
				 "entries does not have the root of the head of that size it signed "
				 "(the evidence): a forked or rewritten log", (unsigned long long)p->origin,
				 a->alarms_name, a->name, (unsigned long long)size);
	}
}

/* The log now has its first `size` entries: probes of that size get their root checked. */
static void probes_at_size(struct audit *a)
{
	uint64_t size = a->v.range.size;
	uint8_t root[32];
	bool have_root = false;

	if (a->next_alarm < a->n_alarm_probes && a->alarm_probes[a->next_alarm].size <= size) {
		merkle_range_root(&a->v.range, root);
		have_root = true;
		alarm_probes_at_size(a, root);
	}

	for (; a->next_size < a->n_probes && a->by_size[a->next_size].size <= size; a->next_size++) {
		const struct audit_probe *p = &a->by_size[a->next_size];
		if (!have_root) {
			merkle_range_root(&a->v.range, root);
			have_root = true;
		}
		a->res.probes_checked++;
		if (p->size == size && memcmp(p->root, root, 32) == 0)
			continue;
		probe_fail(a, p->origin, "receipt in entry %llu: %s's log of %llu entries does not "
			   "have the receipted root (a forked or rewritten log)",
			   (unsigned long long)p->origin, a->name, (unsigned long long)p->size);
	}
}

/* The file ended: probes beyond its end fail. */
static void probes_finish(struct audit *a)
{
	unsigned long long n = (unsigned long long)a->v.range.size;

	for (; a->next_index < a->n_probes; a->next_index++) {
		const struct audit_probe *p = &a->by_index[a->next_index];
		probe_fail(a, p->origin, "receipt in entry %llu is not in %s's log at index %llu: "
			   "its export ends after %llu entries", (unsigned long long)p->origin,
			   a->name, (unsigned long long)p->index, n);
	}
	for (; a->next_size < a->n_probes; a->next_size++) {
		const struct audit_probe *p = &a->by_size[a->next_size];
		probe_fail(a, p->origin, "receipt in entry %llu: %s's export ends after %llu "
			   "entries, before the receipted head of %llu", (unsigned long long)p->origin,
			   a->name, n, (unsigned long long)p->size);
	}
	for (; a->next_alarm < a->n_alarm_probes; a->next_alarm++) {
		struct audit_probe *p = &a->alarm_probes[a->next_alarm];
		alarm_probe_fail(a, p, n, "alarm %llu of %s: %s's export ends after %llu entries, "
				 "before the head of %llu it signed (the evidence): its log shrank",
				 (unsigned long long)p->origin, a->alarms_name, a->name, n,
				 (unsigned long long)p->size);
	}
}

static int probe_collect(struct audit *a, uint64_t origin, const struct log_verify_info *info)
{
	struct audit_probe *p;

	if (a->n_collected == a->cap_collected) {
		size_t cap = a->cap_collected ? a->cap_collected * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*p) || !(p = realloc(a->collected, cap * sizeof(*p))))
			return ERR_NOMEM;
		a->collected = p;
		a->cap_collected = cap;
	}
	p = &a->collected[a->n_collected++];
	p->origin = origin;
	p->index = info->receipt_index;
	memcpy(p->leaf, info->receipt_leaf, 32);
	p->size = info->receipt_size;
	memcpy(p->root, info->receipt_root, 32);
	return 0;
}

/* ------------------------------------------------------------------ records */

static int audit_fail(struct audit *a, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int audit_fail(struct audit *a, uint64_t index, const char *fmt, ...)
{
	char reason[LOG_VERIFY_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return log_verify_failf(&a->v, index, "%s", reason);
}

static int audit_header(struct audit *a, const struct export_header *h)
{
	struct log_verify_opts vo = {
		.flags = a->opts.flags | (a->opts.collect_peer ? LOG_VERIFY_RECEIPT_LEAF : 0),
		.skew_ms = AUDIT_SKEW_MS,
		.defer = a->opts.defer, .defer_arg = a->opts.defer_arg,
	};

	if (a->started)
		return audit_fail(a, a->v.range.size, "entry %llu: a second header",
				  (unsigned long long)a->v.range.size);
	a->res.header = *h;
	vo.pk = a->res.header.key;
	vo.max_time_ms = h->created_ms + AUDIT_SKEW_MS;
	log_verify_init(&a->v, &vo);
	a->started = true;
	if (h->version != EXPORT_VERSION)
		return audit_fail(a, 0, "header: version %u is not one this auditor reads (%d)",
				  (unsigned)h->version, EXPORT_VERSION);
	if (!(a->opts.flags & LOG_VERIFY_HASH_ONLY) && export_header_verify(h) != 0)
		return audit_fail(a, 0, "header: signature does not verify with its node key");
	a->res.header_ok = true;
	sha256_init(&a->alarms_st);
	probes_at_size(a);
	return 0;
}

/* ------------------------------------------------------------------ alarms */

/* What the two heads show by themselves (docs/export-format.md §6.1). */
static void alarm_evaluate(struct audit_alarm *x)
{
	const struct export_alarm *al = &x->alarm;
	const struct tree_head *s = &al->seen, *o = &al->offered, *lo, *hi;
	char *d = x->detail;
	size_t dn = sizeof(x->detail);

	x->evidence = AUDIT_EVIDENCE_BAD;
	if (tree_head_verify(al->peer, s) != 0) {
		snprintf(d, dn, "the head the node held (size %llu) is not signed by the partner",
			 (unsigned long long)s->size);
		return;
	}
	if (tree_head_verify(al->peer, o) != 0) {
		snprintf(d, dn, "the head the node was shown (size %llu) is not signed by the "
			 "partner", (unsigned long long)o->size);
		return;
	}
	if (s->size == o->size) {
		if (sodium_memcmp(s->root, o->root, 32) == 0) {
			snprintf(d, dn, "both heads are of one tree (size %llu, one root): nothing "
				 "inconsistent", (unsigned long long)s->size);
			return;
		}
		x->evidence = AUDIT_EVIDENCE_PROVEN;
		snprintf(d, dn, "two heads of size %llu with different roots, both signed by the "
			 "partner: a forked log", (unsigned long long)s->size);
		return;
	}
	lo = s->size < o->size ? s : o;
	hi = lo == s ? o : s;
	if (lo->time_ms > hi->time_ms + AUDIT_SKEW_MS) {
		x->evidence = AUDIT_EVIDENCE_PROVEN;
		snprintf(d, dn, "the partner signed a head of %llu entries %llu s after one of %llu: "
			 "its log shrank", (unsigned long long)lo->size,
			 (unsigned long long)(lo->time_ms - hi->time_ms) / 1000,
			 (unsigned long long)hi->size);
		return;
	}
	x->evidence = AUDIT_EVIDENCE_SIGNED;
	snprintf(d, dn, "heads of %llu and %llu entries, both signed by the partner; that no "
		 "consistency proof joins them is not in the file: audit against the partner's "
		 "export to see it", (unsigned long long)s->size, (unsigned long long)o->size);
}

static int audit_alarm(struct audit *a, const struct export_record *rec, const uint8_t *in,
		       size_t len)
{
	uint64_t k = a->n_alarms, count = a->res.header.alarm_count;
	uint8_t prefix[EXPORT_LEN_PREFIX] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
					      (uint8_t)(len >> 8), (uint8_t)len};
	struct audit_alarm *p;

	if (a->opts.flags & LOG_VERIFY_HASH_ONLY)
		return 0;
	if (a->alarms_closed)
		return audit_fail(a, a->v.range.size, "alarm %llu: out of place (alarms come right "
				  "after the header)", (unsigned long long)k);
	if (k >= count)
		return audit_fail(a, 0, "alarm %llu: beyond the %llu alarms the header counts",
				  (unsigned long long)k, (unsigned long long)count);
	sha256_update(&a->alarms_st, prefix, sizeof(prefix));
	sha256_update(&a->alarms_st, in, len);
	if (!(p = realloc(a->alarms, (k + 1) * sizeof(*p))))
		return ERR_NOMEM;
	a->alarms = p;
	p = &a->alarms[a->n_alarms++];
	memset(p, 0, sizeof(*p));
	p->alarm = rec->alarm;
	alarm_evaluate(p);
	return 0;
}

/* The first record after the alarms (or the end): their count and hash, as signed. */
static int audit_alarms_close(struct audit *a)
{
	uint8_t h[32];

	if (a->alarms_closed || (a->opts.flags & LOG_VERIFY_HASH_ONLY))
		return 0;
	a->alarms_closed = true;
	if (a->n_alarms != a->res.header.alarm_count)
		return audit_fail(a, 0, "alarms: the file has %llu alarms, the header counts %llu",
				  (unsigned long long)a->n_alarms,
				  (unsigned long long)a->res.header.alarm_count);
	sha256_final(&a->alarms_st, h);
	if (sodium_memcmp(h, a->res.header.alarms_hash, 32) != 0)
		return audit_fail(a, 0, "alarms: the alarm records do not match the hash the header "
				  "signs");
	return 0;
}

/* ------------------------------------------------------------------ log records */

/* A SENT/RECEIVED entry must be followed by its envelope before anything else. */
static int audit_envelope_due(struct audit *a)
{
	if (!a->want_envelope)
		return 0;
	return audit_fail(a, a->want_index, "entry %llu: envelope missing",
			  (unsigned long long)a->want_index);
}

static int audit_entry(struct audit *a, const struct export_record *rec)
{
	struct log_verify_info info;
	uint64_t n = a->v.range.size;
	int r;

	if ((r = audit_envelope_due(a)) != 0)
		return r;
	if (rec->index == n && n >= a->res.header.entry_count)
		return audit_fail(a, n, "entry %llu: beyond the %llu entries the header counts",
				  (unsigned long long)n, (unsigned long long)a->res.header.entry_count);
	if ((r = log_verify_entry(&a->v, rec->index, rec->data, rec->len, &info)) != 0)
		return r;
	probes_at_index(a, rec->index, info.leaf);
	probes_at_size(a);
	if ((info.type == LOG_ENTRY_SENT || info.type == LOG_ENTRY_RECEIVED) && info.has_message) {
		a->want_envelope = true;
		a->want_index = rec->index;
		memcpy(a->want_hash, info.envelope_hash, 32);
	}
	if (info.has_receipt && a->opts.collect_peer &&
	    memcmp(info.peer, a->opts.collect_peer, 32) == 0)
		return probe_collect(a, rec->index, &info);
	return 0;
}

static int audit_envelope(struct audit *a, struct export_record *rec)
{
	uint64_t last = a->v.range.size ? a->v.range.size - 1 : 0;

	if (a->opts.flags & LOG_VERIFY_HASH_ONLY)
		return 0;
	if (!a->want_envelope)
		return audit_fail(a, last, "entry %llu: an envelope no entry asks for",
				  (unsigned long long)last);
	a->want_envelope = false;
	if (memcmp(rec->hash, a->want_hash, 32) != 0)
		return audit_fail(a, a->want_index, "entry %llu: envelope record is for another "
				  "message", (unsigned long long)a->want_index);
	/* The job owns the record's memory from here: the bytes may be hashed on another thread.
	 * Bytes read in place are copied, unless they stay valid (a mapped file). */
	if (!rec->pb && !a->stable && a->opts.defer && rec->len) {
		uint8_t *copy = malloc(rec->len);
		if (!copy)
			return ERR_NOMEM;
		memcpy(copy, rec->data, rec->len);
		return log_verify_envelope(&a->v, a->want_index, a->want_hash, copy, rec->len,
					   free, copy);
	}
	return log_verify_envelope(&a->v, a->want_index, a->want_hash, rec->data, rec->len,
				   export_record_free_owner, export_record_take(rec));
}

/* An entry, envelope or head: the alarms are behind. */
static int audit_log_record(struct audit *a, struct export_record *rec)
{
	int r;

	if ((r = audit_alarms_close(a)) != 0)
		return r;
	if (rec->kind == EXPORT_ENTRY)
		return audit_entry(a, rec);
	if (rec->kind == EXPORT_ENVELOPE)
		return audit_envelope(a, rec);
	if ((r = audit_envelope_due(a)) != 0)
		return r;
	return log_verify_head(&a->v, &rec->head);
}

int audit_record(struct audit *a, const uint8_t *in, size_t len)
{
	struct export_record rec;
	int r;

	if (a->v.fail.failed)
		return ERR_PROTO;
	if ((r = export_record_decode(in, len, &rec)) == ERR_NOMEM)
		return r;
	if (r != 0 && a->started && !a->alarms_closed && a->n_alarms < a->res.header.alarm_count)
		return audit_fail(a, 0, "alarm %llu: malformed record", (unsigned long long)a->n_alarms);
	if (r != 0)
		return audit_fail(a, a->v.range.size, a->started ? "entry %llu: malformed record"
				  : "entry %llu: malformed header record",
				  (unsigned long long)a->v.range.size);
	if (!a->started && rec.kind != EXPORT_HEADER)
		r = audit_fail(a, 0, "header: missing (the file does not start with one)");
	else if (rec.kind == EXPORT_HEADER)
		r = audit_header(a, &rec.header);
	else if (rec.kind == EXPORT_ALARM)
		r = audit_alarm(a, &rec, in, len);
	else
		r = audit_log_record(a, &rec);
	export_record_release(&rec);
	if (r == 0 && a->v.fail.failed)
		r = ERR_PROTO;
	return r;
}

int audit_read_failed(struct audit *a, int r)
{
	uint64_t n = a->v.range.size;

	if (a->v.fail.failed)
		return ERR_PROTO;
	if (r == ERR_TOOBIG)
		return audit_fail(a, n, "entry %llu: record longer than any export holds",
				  (unsigned long long)n);
	if (r == ERR_PROTO)
		return audit_fail(a, n, "entry %llu: truncated record", (unsigned long long)n);
	return audit_fail(a, n, "entry %llu: cannot read the file: %s", (unsigned long long)n,
			  err_str(r));
}

int audit_magic_failed(struct audit *a, int r)
{
	if (r == ERR_PROTO)
		return audit_fail(a, 0, "header: not a coex log export (no \"COEXLOG2\" magic)");
	if (r == ERR_STATE)
		return audit_fail(a, 0, "header: an export of format version 1 (\"COEXLOG1\"), which "
				  "this auditor does not read: export the log again");
	return audit_read_failed(a, r);
}

int audit_finish(struct audit *a)
{
	const struct export_header *h = &a->res.header;
	uint64_t n = a->v.range.size;
	int r;

	if (a->v.fail.failed)
		return ERR_PROTO;
	if (!a->started)
		return audit_fail(a, 0, "header: missing (the file holds no records)");
	if ((r = audit_alarms_close(a)) != 0 || (r = audit_envelope_due(a)) != 0)
		return r;
	probes_finish(a);
	if (n < h->entry_count)
		return audit_fail(a, n, "entry %llu: missing (the file ends after %llu of the %llu "
				  "entries the header counts)", (unsigned long long)n,
				  (unsigned long long)n, (unsigned long long)h->entry_count);
	if (n > 0 && (!a->v.has_last || a->v.last.size != n))
		return audit_fail(a, a->v.has_last ? a->v.last.size : 0, "entry %llu: not covered by "
				  "any signed head", (unsigned long long)(a->v.has_last ? a->v.last.size : 0));
	if (a->v.heads != h->head_count)
		return audit_fail(a, n ? n - 1 : 0, "heads: the file has %llu signed heads, the "
				  "header counts %llu", (unsigned long long)a->v.heads,
				  (unsigned long long)h->head_count);
	/* An alarm whose heads show nothing is a false statement the node signed. */
	for (size_t i = 0; i < a->n_alarms; i++)
		if (a->alarms[i].evidence == AUDIT_EVIDENCE_BAD)
			return audit_fail(a, 0, "alarm %llu: bad evidence: %s", (unsigned long long)i,
					  a->alarms[i].detail);
	return 0;
}

int audit_stream(struct audit *a, export_read_fn read, void *arg,
		 void (*tick)(void *tick_arg, uint64_t offset), void *tick_arg)
{
	struct export_reader rd;
	const uint8_t *rec;
	size_t len;
	int r;

	export_reader_init(&rd, read, arg);
	if ((r = export_reader_magic(&rd)) != 0) {
		audit_magic_failed(a, rd.old_version ? ERR_STATE : r);
		r = 0;
		goto out;
	}
	while ((r = export_reader_next(&rd, &rec, &len)) == 1) {
		if ((r = audit_record(a, rec, len)) != 0)
			goto out; /* found bad (audit_result says), or out of memory */
		if (tick && rd.records % AUDIT_TICK_RECORDS == 0)
			tick(tick_arg, rd.offset);
	}
	if (r == 0)
		r = audit_finish(a);
	else if (r != ERR_NOMEM)
		r = audit_read_failed(a, r);
out:
	export_reader_free(&rd);
	return r == ERR_NOMEM ? r : 0;
}

int audit_stream_mem(struct audit *a, const uint8_t *data, size_t len,
		     void (*tick)(void *tick_arg, uint64_t offset), void *tick_arg)
{
	const uint8_t *rec;
	size_t at = EXPORT_MAGIC_LEN, n;
	uint64_t records = 0;
	int r;

	a->stable = true;
	if (len < EXPORT_MAGIC_LEN || memcmp(data, EXPORT_MAGIC, EXPORT_MAGIC_LEN) != 0) {
		audit_magic_failed(a, len >= EXPORT_MAGIC_LEN && memcmp(data, EXPORT_MAGIC_V1,
						 EXPORT_MAGIC_LEN) == 0 ? ERR_STATE : ERR_PROTO);
		return 0;
	}
	while ((r = export_mem_next(data, len, &at, &rec, &n)) == 1) {
		if ((r = audit_record(a, rec, n)) != 0)
			return r == ERR_NOMEM ? r : 0;
		if (tick && ++records % AUDIT_TICK_RECORDS == 0)
			tick(tick_arg, at);
	}
	if (r == 0)
		audit_finish(a);
	else
		audit_read_failed(a, r);
	return 0;
}

void audit_job_done(struct audit *a, struct log_verify_job *j)
{
	log_verify_job_done(&a->v, j);
}

uint64_t audit_pending(const struct audit *a)
{
	return a->v.pending;
}

const struct audit_result *audit_result(struct audit *a)
{
	const struct log_verify_fail *f = log_verify_result(&a->v);

	a->res.entries = a->v.range.size;
	a->res.heads = a->v.heads;
	a->res.receipts = a->v.receipts;
	a->res.envelopes = a->v.envelopes;
	a->res.failed = f->failed;
	a->res.first_bad_index = f->index;
	snprintf(a->res.reason, sizeof(a->res.reason), "%s", f->reason);
	a->res.collected = a->collected;
	a->res.n_collected = a->n_collected;
	a->res.alarms = a->alarms;
	a->res.n_alarms = a->n_alarms;
	a->res.alarm_probes = a->alarm_probes;
	a->res.n_alarm_probes = a->n_alarm_probes;
	return &a->res;
}
