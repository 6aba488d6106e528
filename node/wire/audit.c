#include "wire/audit.h"
#include "lib/err.h"
#include "wire/log_entry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit {
	struct audit_opts opts;
	struct log_verify v;
	struct audit_result res;
	bool started;                    /* the verifier is set up (a header was read) */
	bool want_envelope;              /* the last entry was SENT/RECEIVED, no envelope yet */
	uint64_t want_index;
	uint8_t want_hash[32];
	char name[AUDIT_NAME_MAX + 1];   /* this file's node, for probe failures */
	struct audit_probe *by_index, *by_size;
	size_t n_probes, next_index, next_size;
	struct audit_probe *collected;
	size_t n_collected, cap_collected;
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

/* The log now has its first `size` entries: probes of that size get their root checked. */
static void probes_at_size(struct audit *a)
{
	uint64_t size = a->v.range.size;
	uint8_t root[32];
	bool have_root = false;

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
	probes_at_size(a);
	return 0;
}

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
	/* The job owns the record's memory from here: the bytes may be hashed on another thread. */
	return log_verify_envelope(&a->v, a->want_index, a->want_hash, rec->data, rec->len,
				   export_record_free_owner, export_record_take(rec));
}

int audit_record(struct audit *a, const uint8_t *in, size_t len)
{
	struct export_record rec;
	int r;

	if (a->v.fail.failed)
		return ERR_PROTO;
	if ((r = export_record_decode(in, len, &rec)) == ERR_NOMEM)
		return r;
	if (r != 0)
		return audit_fail(a, a->v.range.size, a->started ? "entry %llu: malformed record"
				  : "entry %llu: malformed header record",
				  (unsigned long long)a->v.range.size);
	if (!a->started && rec.kind != EXPORT_HEADER)
		r = audit_fail(a, 0, "header: missing (the file does not start with one)");
	else if (rec.kind == EXPORT_HEADER)
		r = audit_header(a, &rec.header);
	else if (rec.kind == EXPORT_ENTRY)
		r = audit_entry(a, &rec);
	else if (rec.kind == EXPORT_ENVELOPE)
		r = audit_envelope(a, &rec);
	else if ((r = audit_envelope_due(a)) == 0)
		r = log_verify_head(&a->v, &rec.head);
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
		return audit_fail(a, 0, "header: not a coex log export (no \"COEXLOG1\" magic)");
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
	if ((r = audit_envelope_due(a)) != 0)
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
		audit_magic_failed(a, r);
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
	return &a->res;
}
