/* wire/audit.h (and wire/log_verify.h, wire/export.h) in memory: two small logs built here
 * as two nodes would write them (acme sends to globex and back, receipts with inclusion
 * proofs), exported, audited alone and against each other; then tampered with in every way
 * the auditor must catch, each located at the right entry with the right reason. */
#include "testutil.h"
#include "tree_mem.h"

#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "lib/err.h"
#include "wire/audit.h"
#include "wire/export.h"
#include "wire/log_entry.h"
#include "wire/receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 UINT64_C(1700000000000)

/* ------------------------------------------------------------------ a log, built in memory */

static void tm_append(struct tree_mem *t, const uint8_t leaf[32])
{
	assert_int_equal(tree_mem_append(t, leaf), 0);
}

struct lb {
	struct identity id;
	const char *name;
	struct tree_mem t;
	struct export_buf body;       /* every record after the header */
	uint8_t *entries[32];         /* entry bytes, for receipts */
	size_t lens[32];
	uint64_t size, heads, now;
	struct tree_head last;
};

static void lb_init(struct lb *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(identity_generate(&b->id), 0);
	b->name = name;
	b->now = T0;
}

static void lb_free(struct lb *b)
{
	tree_mem_free(&b->t);
	export_buf_free(&b->body);
	for (size_t i = 0; i < b->size && i < 32; i++)
		free(b->entries[i]);
	identity_wipe(&b->id);
}

/* Appends an entry (with its envelope for SENT/RECEIVED); returns its index. */
static uint64_t lb_entry(struct lb *b, int type, const uint8_t peer[32], const uint8_t hash[32],
			 const uint8_t *env, size_t env_len, const uint8_t *receipt, size_t rlen)
{
	struct log_entry e;
	uint8_t *buf, leaf[32];
	size_t len;

	memset(&e, 0, sizeof(e));
	e.type = (enum log_entry_type)type;
	e.time_ms = b->now;
	memcpy(e.peer, peer, 32);
	if (hash) {
		e.has_message = true;
		memcpy(e.envelope_hash, hash, 32);
		memset(e.message_id, 7, 16);
		memcpy(e.author, type == LOG_ENTRY_RECEIVED ? peer : b->id.pk, 32);
	}
	e.receipt = receipt;
	e.receipt_len = rlen;
	if (type == LOG_ENTRY_PARTNER_ADDED)
		snprintf(e.note, sizeof(e.note), "partner");
	assert_int_equal(log_entry_encode(&e, &buf, &len), 0);
	assert_int_equal(export_put_entry(&b->body, b->size, buf, len), 0);
	if (env)
		assert_int_equal(export_put_envelope(&b->body, hash, env, env_len), 0);
	merkle_leaf_hash(buf, len, leaf);
	tm_append(&b->t, leaf);
	b->entries[b->size] = buf;
	b->lens[b->size] = len;
	return b->size++;
}

static void lb_head(struct lb *b)
{
	struct merkle_nodes rd = tree_mem_nodes(&b->t);
	struct tree_head h;

	memset(&h, 0, sizeof(h));
	h.size = b->size;
	h.time_ms = b->now += 1000;
	assert_int_equal(merkle_root(&rd, h.size, h.root), 0);
	assert_int_equal(tree_head_sign(&b->id, &h), 0);
	assert_int_equal(export_put_head(&b->body, &h), 0);
	b->last = h;
	b->heads++;
}

/* The receipt b gives for its entry at index under its latest head. */
static void lb_receipt(struct lb *b, uint64_t index, const uint8_t hash[32], uint8_t **out,
		       size_t *len)
{
	struct merkle_nodes rd = tree_mem_nodes(&b->t);
	struct receipt r;

	memset(&r, 0, sizeof(r));
	memcpy(r.envelope_hash, hash, 32);
	r.received_ms = b->now;
	r.log_index = index;
	r.entry = b->entries[index];
	r.entry_len = b->lens[index];
	r.head = b->last;
	assert_int_equal(merkle_prove_inclusion(&rd, index, b->last.size, r.proof, RECEIPT_PROOF_MAX,
						&r.n_proof), 0);
	assert_int_equal(receipt_encode(&r, out, len), 0);
}

/* The export file: magic, signed header, the records. */
static void lb_export(struct lb *b, struct export_buf *out)
{
	struct export_header h;

	memset(&h, 0, sizeof(h));
	memset(out, 0, sizeof(*out));
	h.version = EXPORT_VERSION;
	memcpy(h.key, b->id.pk, 32);
	snprintf(h.name, sizeof(h.name), "%s", b->name);
	h.created_ms = b->now + 1000;
	h.entry_count = b->size;
	h.head_count = b->heads;
	crypto_hash_sha256(h.alarms_hash, NULL, 0);
	assert_int_equal(export_header_sign(&b->id, &h), 0);
	assert_int_equal(export_put_magic(out), 0);
	assert_int_equal(export_put_header(out, &h), 0);
	assert_int_equal(export_buf_append(out, b->body.data, b->body.len), 0);
}

/* ------------------------------------------------------------------ the scenario
 *
 *   acme (A)                               globex (B)
 *   0 partner_added globex   [h0]          0 partner_added acme     [h0]
 *   1 sent m1 + envelope     [h1]   --->   1 received m1 + envelope [h1]
 *   2 receipt m1 (B's r1)    [h2]   <---
 *   3 received m2 + envelope [h3]   <---   2 sent m2 + envelope     [h2]
 *                                   --->   3 receipt m2 (A's r2)    [h3]
 *   4 sent m3 + envelope                   4 received m3 + envelope [h4]
 *   5 partner_added carol    [h4]   --->
 *   6 receipt m3 (B's r3)    [h5]   <---
 */

enum { ENV_LEN = 48 };

struct options {
	int forge_r1;                 /* r1's head re-signed by a stranger */
	int bad_proof_r1;             /* r1's inclusion proof damaged */
	int b_entry1_other;           /* globex's entry 1 differs from what r1 receipted */
	int b_entry0_other;           /* globex's entry 0 differs (its later roots too) */
	int a_uncovered;              /* acme appends an entry no head covers */
	int b_short;                  /* globex's export stops before m3 */
};

struct scenario {
	struct lb a, b;
	struct identity carol, stranger;
	struct export_buf ea, eb;
};

static void envelope(uint8_t env[ENV_LEN], uint8_t hash[32], uint8_t tag)
{
	memset(env, tag, ENV_LEN);
	crypto_hash_sha256(hash, env, ENV_LEN);
}

static void forge(struct scenario *s, uint8_t **r, size_t *len, const struct options *o)
{
	struct receipt rc;

	if (!o->forge_r1 && !o->bad_proof_r1)
		return;
	assert_int_equal(receipt_decode(*r, *len, &rc), 0);
	if (o->forge_r1)
		assert_int_equal(tree_head_sign(&s->stranger, &rc.head), 0);
	if (o->bad_proof_r1)
		rc.proof[0][0] ^= 1;
	free(*r);
	assert_int_equal(receipt_encode(&rc, r, len), 0);
	receipt_release(&rc);
}

static void scenario_build(struct scenario *s, const struct options *o)
{
	uint8_t env[3][ENV_LEN], h[3][32], *r = NULL;
	struct lb *a = &s->a, *b = &s->b;
	size_t rl;

	memset(s, 0, sizeof(*s));
	lb_init(a, "acme");
	lb_init(b, "globex");
	assert_int_equal(identity_generate(&s->carol), 0);
	assert_int_equal(identity_generate(&s->stranger), 0);
	for (int i = 0; i < 3; i++)
		envelope(env[i], h[i], (uint8_t)(0xa0 + i));
	lb_entry(a, LOG_ENTRY_PARTNER_ADDED, b->id.pk, NULL, NULL, 0, NULL, 0);
	lb_head(a);
	b->now += o->b_entry0_other ? 1 : 0;
	lb_entry(b, LOG_ENTRY_PARTNER_ADDED, a->id.pk, NULL, NULL, 0, NULL, 0);
	lb_head(b);
	lb_entry(a, LOG_ENTRY_SENT, b->id.pk, h[0], env[0], ENV_LEN, NULL, 0);
	lb_head(a);
	b->now += o->b_entry1_other ? 1 : 0;
	lb_entry(b, LOG_ENTRY_RECEIVED, a->id.pk, h[0], env[0], ENV_LEN, NULL, 0);
	lb_head(b);
	lb_receipt(b, 1, h[0], &r, &rl);
	forge(s, &r, &rl, o);
	lb_entry(a, LOG_ENTRY_RECEIPT, b->id.pk, h[0], NULL, 0, r, rl);
	lb_head(a);
	free(r);
	lb_entry(b, LOG_ENTRY_SENT, a->id.pk, h[1], env[1], ENV_LEN, NULL, 0);
	lb_head(b);
	lb_entry(a, LOG_ENTRY_RECEIVED, b->id.pk, h[1], env[1], ENV_LEN, NULL, 0);
	lb_head(a);
	lb_receipt(a, 3, h[1], &r, &rl);
	lb_entry(b, LOG_ENTRY_RECEIPT, a->id.pk, h[1], NULL, 0, r, rl);
	lb_head(b);
	free(r);
	lb_entry(a, LOG_ENTRY_SENT, b->id.pk, h[2], env[2], ENV_LEN, NULL, 0);
	lb_entry(a, LOG_ENTRY_PARTNER_ADDED, s->carol.pk, NULL, NULL, 0, NULL, 0);
	lb_head(a);
	lb_entry(b, LOG_ENTRY_RECEIVED, a->id.pk, h[2], env[2], ENV_LEN, NULL, 0);
	lb_head(b);
	lb_receipt(b, 4, h[2], &r, &rl);
	lb_entry(a, LOG_ENTRY_RECEIPT, b->id.pk, h[2], NULL, 0, r, rl);
	lb_head(a);
	free(r);
	if (o->a_uncovered)
		lb_entry(a, LOG_ENTRY_PARTNER_ADDED, s->carol.pk, NULL, NULL, 0, NULL, 0);
	lb_export(a, &s->ea);
	lb_export(b, &s->eb);
}

static void scenario_free(struct scenario *s)
{
	lb_free(&s->a);
	lb_free(&s->b);
	identity_wipe(&s->carol);
	identity_wipe(&s->stranger);
	export_buf_free(&s->ea);
	export_buf_free(&s->eb);
}

/* ------------------------------------------------------------------ running the auditor */

struct mem {
	const uint8_t *p;
	size_t len, at;
};

static int mem_read(void *arg, uint8_t *buf, size_t want, size_t *got)
{
	struct mem *m = arg;
	size_t n = m->len - m->at < want ? m->len - m->at : want;

	memcpy(buf, m->p + m->at, n);
	m->at += n;
	*got = n;
	return 0;
}

/* Deferred checks, run at the very end in reverse order: the result must not change. */
struct later {
	struct log_verify_job *jobs;
};

static void later_defer(void *arg, struct log_verify_job *j)
{
	struct later *l = arg;

	j->next = l->jobs;
	l->jobs = j;
}

static struct audit *audit_buf(const uint8_t *p, size_t len, const struct audit_opts *opts,
			       int deferred)
{
	struct mem m = {p, len, 0};
	struct audit_opts o = *opts;
	struct later l = {NULL};
	struct audit *a;

	if (deferred) {
		o.defer = later_defer;
		o.defer_arg = &l;
	}
	assert_int_equal(audit_new(&o, &a), 0);
	assert_int_equal(audit_stream(a, mem_read, &m, NULL, NULL), 0);
	while (l.jobs) {
		struct log_verify_job *j = l.jobs;
		l.jobs = j->next;
		log_verify_job_run(j);
		audit_job_done(a, j);
	}
	assert_int_equal(audit_pending(a), 0);
	return a;
}

static void expect_ok(const struct export_buf *e)
{
	struct audit_opts o = {0};
	struct audit *a = audit_buf(e->data, e->len, &o, 0);
	const struct audit_result *r = audit_result(a);

	if (r->failed)
		fail_msg("audit failed: %s", r->reason);
	audit_free(a);
}

/* The audit fails at index with a reason containing what; inline and deferred agree. */
static void expect_fail(const uint8_t *p, size_t len, uint64_t index, const char *what)
{
	struct audit_opts o = {0};

	for (int deferred = 0; deferred < 2; deferred++) {
		struct audit *a = audit_buf(p, len, &o, deferred);
		const struct audit_result *r = audit_result(a);
		if (!r->failed)
			fail_msg("audit passed; expected \"%s\" at %llu", what, (unsigned long long)index);
		if (r->first_bad_index != index || !strstr(r->reason, what))
			fail_msg("got \"%s\" at %llu; expected \"%s\" at %llu", r->reason,
				 (unsigned long long)r->first_bad_index, what, (unsigned long long)index);
		audit_free(a);
	}
}

/* Where each record of an export starts (its length prefix), what it is and its index. */
struct loc {
	size_t off, len;             /* the whole framed record */
	enum export_kind kind;
	uint64_t index;
};

static size_t locate(const struct export_buf *e, struct loc *out, size_t cap)
{
	size_t off = EXPORT_MAGIC_LEN, n = 0;

	while (off < e->len) {
		const uint8_t *p = e->data + off;
		size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		struct export_record rec;
		assert_true(n < cap);
		assert_int_equal(export_record_decode(p + 4, len, &rec), 0);
		out[n].off = off;
		out[n].len = 4 + len;
		out[n].kind = rec.kind;
		out[n].index = rec.index;
		export_record_release(&rec);
		off += 4 + len;
		n++;
	}
	return n;
}

/* The record of entry index (kind ENTRY), or of kind after it. */
static const struct loc *find(const struct loc *l, size_t n, enum export_kind kind, uint64_t nth)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].kind == kind && nth-- == 0)
			return &l[i];
	fail_msg("no such record");
	return NULL;
}

/* A copy of e without the bytes [off, off + len). */
static uint8_t *cut(const struct export_buf *e, size_t off, size_t len, size_t *out_len)
{
	uint8_t *p = malloc(e->len);

	assert_non_null(p);
	memcpy(p, e->data, off);
	memcpy(p + off, e->data + off + len, e->len - off - len);
	*out_len = e->len - len;
	return p;
}

/* ------------------------------------------------------------------ tests */

static const struct options plain;

static void test_clean_exports_verify(void **state)
{
	struct scenario s;
	struct audit_opts o = {0};
	struct audit *a;
	const struct audit_result *r;

	(void)state;
	scenario_build(&s, &plain);
	expect_ok(&s.ea);
	expect_ok(&s.eb);
	a = audit_buf(s.ea.data, s.ea.len, &o, 1);
	r = audit_result(a);
	assert_false(r->failed);
	assert_true(r->header_ok);
	assert_string_equal(r->header.name, "acme");
	assert_memory_equal(r->header.key, s.a.id.pk, 32);
	assert_int_equal(r->entries, 7);
	assert_int_equal(r->heads, 6);
	assert_int_equal(r->receipts, 2);
	assert_int_equal(r->envelopes, 3);
	audit_free(a);
	scenario_free(&s);
}

/* Every single byte changed (two ways): always found. A change that still decodes meets a
 * hash or a signature. Inline and deferred checks name the same failure. */
static void test_every_byte_flip_is_caught(void **state)
{
	static const uint8_t masks[] = {0xff, 0x01};
	struct audit_opts o = {0};
	struct scenario s;
	uint8_t *p;

	(void)state;
	scenario_build(&s, &plain);
	p = malloc(s.ea.len);
	assert_non_null(p);
	for (size_t m = 0; m < sizeof(masks); m++) {
		for (size_t i = 0; i < s.ea.len; i++) {
			struct audit *x, *y;
			memcpy(p, s.ea.data, s.ea.len);
			p[i] ^= masks[m];
			x = audit_buf(p, s.ea.len, &o, 0);
			if (!audit_result(x)->failed)
				fail_msg("flipping byte %zu (mask %02x) went unnoticed", i, masks[m]);
			if (i % 5 == 0) {
				y = audit_buf(p, s.ea.len, &o, 1);
				assert_int_equal(audit_result(y)->first_bad_index,
						 audit_result(x)->first_bad_index);
				assert_string_equal(audit_result(y)->reason, audit_result(x)->reason);
				audit_free(y);
			}
			audit_free(x);
		}
	}
	free(p);
	scenario_free(&s);
}

static void test_truncation(void **state)
{
	struct loc l[64];
	struct scenario s;
	const struct loc *e5;
	size_t n;

	(void)state;
	scenario_build(&s, &plain);
	n = locate(&s.ea, l, 64);
	/* every shorter file fails */
	for (size_t len = 0; len < s.ea.len; len++) {
		struct audit_opts o = {0};
		struct audit *a = audit_buf(s.ea.data, len, &o, 0);
		if (!audit_result(a)->failed)
			fail_msg("a file cut to %zu bytes passed", len);
		audit_free(a);
	}
	e5 = find(l, n, EXPORT_ENTRY, 5);
	expect_fail(s.ea.data, e5->off + 7, 5, "entry 5: truncated record");
	expect_fail(s.ea.data, e5->off + 2, 5, "entry 5: truncated record");
	/* at a record boundary: the header's count says entries are missing */
	expect_fail(s.ea.data, e5->off, 5, "entry 5: missing (the file ends after 5 of the 7");
	expect_fail(s.ea.data, 3, 0, "not a coex log export");
	scenario_free(&s);
}

static void test_deleted_entry(void **state)
{
	struct loc l[64];
	struct scenario s;
	const struct loc *e4, *e5;
	uint8_t *p;
	size_t n, len;

	(void)state;
	scenario_build(&s, &plain);
	n = locate(&s.ea, l, 64);
	/* entry 5 (no envelope, its head follows) */
	e5 = find(l, n, EXPORT_ENTRY, 5);
	p = cut(&s.ea, e5->off, e5->len, &len);
	expect_fail(p, len, 5, "head 4: out of place (size 6 after 5 entries)");
	free(p);
	/* entry 4 and its envelope */
	e4 = find(l, n, EXPORT_ENTRY, 4);
	p = cut(&s.ea, e4->off, e4[1].off + e4[1].len - e4->off, &len);
	expect_fail(p, len, 4, "entry 4: missing (entry 5 comes next)");
	free(p);
	/* an envelope alone */
	p = cut(&s.ea, e4[1].off, e4[1].len, &len);
	expect_fail(p, len, 4, "entry 4: envelope missing");
	free(p);
	/* a head alone: the later head still covers everything, the header's count tells */
	p = cut(&s.ea, e5[1].off, e5[1].len, &len);
	expect_fail(p, len, 6, "heads: the file has 5 signed heads, the header counts 6");
	free(p);
	scenario_free(&s);
}

/* A record's bytes replaced by other bytes, re-framed. */
static uint8_t *replace(const struct export_buf *e, const struct loc *at, const struct export_buf *with,
			size_t *out_len)
{
	size_t len = e->len - at->len + with->len;
	uint8_t *p = malloc(len);

	assert_non_null(p);
	memcpy(p, e->data, at->off);
	memcpy(p + at->off, with->data, with->len);
	memcpy(p + at->off + with->len, e->data + at->off + at->len, e->len - at->off - at->len);
	*out_len = len;
	return p;
}

static void test_swapped_entries(void **state)
{
	struct export_buf x = {0}, y = {0};
	struct loc l[64];
	struct scenario s;
	const struct loc *e0, *e5;
	uint8_t *p, *q;
	size_t n, len, len2;

	(void)state;
	scenario_build(&s, &plain);
	n = locate(&s.ea, l, 64);
	/* whole records of entries 4 (+ envelope) and 5 swapped */
	e5 = find(l, n, EXPORT_ENTRY, 5);
	p = malloc(s.ea.len);
	assert_non_null(p);
	memcpy(p, s.ea.data, s.ea.len);
	{
		const struct loc *e4 = find(l, n, EXPORT_ENTRY, 4);
		size_t a = e4->off, blen = e5->len, alen = e5->off - e4->off;
		memcpy(p + a, s.ea.data + e5->off, blen);
		memcpy(p + a + blen, s.ea.data + a, alen);
	}
	expect_fail(p, s.ea.len, 4, "entry 4: missing (entry 5 comes next)");
	free(p);
	/* the bytes of entries 0 and 5 (both partner_added) swapped, indices kept */
	e0 = find(l, n, EXPORT_ENTRY, 0);
	assert_int_equal(export_put_entry(&x, 0, s.a.entries[5], s.a.lens[5]), 0);
	assert_int_equal(export_put_entry(&y, 5, s.a.entries[0], s.a.lens[0]), 0);
	p = replace(&s.ea, e5, &y, &len);
	{
		struct export_buf tmp = {p, len, len};
		q = replace(&tmp, e0, &x, &len2);
	}
	expect_fail(q, len2, 0, "entry 0: leaf does not match head 0's root");
	free(p);
	free(q);
	export_buf_free(&x);
	export_buf_free(&y);
	scenario_free(&s);
}

static void test_head_signed_by_another_key(void **state)
{
	struct export_buf x = {0};
	struct identity other;
	struct tree_head h;
	struct export_record rec;
	struct loc l[64];
	struct scenario s;
	const struct loc *h2;
	uint8_t *p;
	size_t n, len;

	(void)state;
	scenario_build(&s, &plain);
	assert_int_equal(identity_generate(&other), 0);
	n = locate(&s.ea, l, 64);
	h2 = find(l, n, EXPORT_HEAD, 2);
	assert_int_equal(export_record_decode(s.ea.data + h2->off + 4, h2->len - 4, &rec), 0);
	h = rec.head;
	export_record_release(&rec);
	assert_int_equal(tree_head_sign(&other, &h), 0);
	assert_int_equal(export_put_head(&x, &h), 0);
	p = replace(&s.ea, h2, &x, &len);
	expect_fail(p, len, 2, "head 2: signature does not verify with the node's key");
	free(p);
	export_buf_free(&x);
	identity_wipe(&other);
	scenario_free(&s);
}

static void test_forged_receipts(void **state)
{
	struct options forged = {.forge_r1 = 1}, bad_proof = {.bad_proof_r1 = 1};
	struct scenario s;

	(void)state;
	scenario_build(&s, &forged);
	expect_fail(s.ea.data, s.ea.len, 2, "entry 2: receipt's tree head is not signed by the partner");
	scenario_free(&s);
	scenario_build(&s, &bad_proof);
	expect_fail(s.ea.data, s.ea.len, 2, "entry 2: receipt's inclusion proof does not lead");
	scenario_free(&s);
}

static void test_envelope_changed(void **state)
{
	struct export_record rec;
	struct export_buf x = {0};
	struct loc l[64];
	struct scenario s;
	const struct loc *e1;
	uint8_t other[ENV_LEN], h[32], *p;
	size_t n, len;

	(void)state;
	scenario_build(&s, &plain);
	n = locate(&s.ea, l, 64);
	e1 = find(l, n, EXPORT_ENVELOPE, 0);
	/* other bytes, the record still naming the entry's hash */
	envelope(other, h, 0x55);
	assert_int_equal(export_record_decode(s.ea.data + e1->off + 4, e1->len - 4, &rec), 0);
	assert_int_equal(export_put_envelope(&x, rec.hash, other, sizeof(other)), 0);
	export_record_release(&rec);
	p = replace(&s.ea, e1, &x, &len);
	expect_fail(p, len, 1, "entry 1: envelope does not match the hash the entry names");
	free(p);
	export_buf_free(&x);
	/* an envelope that is right for another message */
	envelope(other, h, 0x56);
	assert_int_equal(export_put_envelope(&x, h, other, sizeof(other)), 0);
	p = replace(&s.ea, e1, &x, &len);
	expect_fail(p, len, 1, "entry 1: envelope record is for another message");
	free(p);
	export_buf_free(&x);
	scenario_free(&s);
}

static void test_header_and_coverage(void **state)
{
	struct options uncovered = {.a_uncovered = 1};
	struct export_buf x = {0};
	struct export_header h;
	struct export_record rec;
	struct loc l[64];
	struct scenario s;
	uint8_t *p;
	size_t n, len;

	(void)state;
	scenario_build(&s, &uncovered);
	expect_fail(s.ea.data, s.ea.len, 7, "entry 7: not covered by any signed head");
	scenario_free(&s);

	scenario_build(&s, &plain);
	n = locate(&s.ea, l, 64);
	assert_int_equal(export_record_decode(s.ea.data + l[0].off + 4, l[0].len - 4, &rec), 0);
	h = rec.header;
	export_record_release(&rec);
	/* a count changed and signed again: the file is short of it */
	h.entry_count = 8;
	assert_int_equal(export_header_sign(&s.a.id, &h), 0);
	assert_int_equal(export_put_header(&x, &h), 0);
	p = replace(&s.ea, &l[0], &x, &len);
	expect_fail(p, len, 7, "entry 7: missing (the file ends after 7 of the 8");
	free(p);
	x.len = 0;
	/* a name changed, not signed again */
	h.entry_count = 7;
	snprintf(h.name, sizeof(h.name), "acmf");
	assert_int_equal(export_put_header(&x, &h), 0);
	p = replace(&s.ea, &l[0], &x, &len);
	expect_fail(p, len, 0, "header: signature does not verify");
	free(p);
	/* no header; two headers */
	p = cut(&s.ea, l[0].off, l[0].len, &len);
	expect_fail(p, len, 0, "header: missing");
	free(p);
	x.len = 0;
	assert_int_equal(export_buf_append(&x, s.ea.data, s.ea.len), 0);
	assert_int_equal(export_buf_append(&x, s.ea.data + l[0].off, l[0].len), 0);
	expect_fail(x.data, x.len, 7, "entry 7: a second header");
	export_buf_free(&x);
	(void)n;
	scenario_free(&s);
}

/* ------------------------------------------------------------------ two parties */

struct cross {
	uint64_t a_found, b_found;
	int failed;
	uint64_t index;                  /* in the file holding the receipt */
	char reason[LOG_VERIFY_REASON_MAX];
	char file;                       /* 'a' or 'b' */
};

/* The three passes of coex audit A --against B. */
static void cross_check(const struct export_buf *ea, const struct export_buf *eb,
			const struct lb *la, const struct lb *lb, struct cross *out)
{
	struct audit_opts oa = {.collect_peer = lb->id.pk},
			  ob = {.collect_peer = la->id.pk, .probes_name = lb->name};
	struct audit_opts oa2 = {.flags = LOG_VERIFY_HASH_ONLY, .probes_name = la->name};
	const struct audit_result *ra, *rb, *ra2;
	struct audit *a, *b, *a2;

	memset(out, 0, sizeof(*out));
	a = audit_buf(ea->data, ea->len, &oa, 0);
	ra = audit_result(a);
	assert_false(ra->failed);
	ob.probes = ra->collected;
	ob.n_probes = ra->n_collected;
	b = audit_buf(eb->data, eb->len, &ob, 1);
	rb = audit_result(b);
	if (rb->failed)
		fail_msg("globex's own audit failed: %s", rb->reason);
	out->a_found = rb->probes_checked;
	if (rb->probe_failed) {
		out->failed = 1;
		out->file = 'a';
		out->index = rb->probe_index;
		snprintf(out->reason, sizeof(out->reason), "%s", rb->probe_reason);
		goto done;
	}
	oa2.probes = rb->collected;
	oa2.n_probes = rb->n_collected;
	a2 = audit_buf(ea->data, ea->len, &oa2, 0);
	ra2 = audit_result(a2);
	assert_false(ra2->failed);
	out->b_found = ra2->probes_checked;
	if (ra2->probe_failed) {
		out->failed = 1;
		out->file = 'b';
		out->index = ra2->probe_index;
		snprintf(out->reason, sizeof(out->reason), "%s", ra2->probe_reason);
	}
	audit_free(a2);
done:
	audit_free(a);
	audit_free(b);
}

static void test_against_consistent(void **state)
{
	struct scenario s;
	struct cross c;

	(void)state;
	scenario_build(&s, &plain);
	cross_check(&s.ea, &s.eb, &s.a, &s.b, &c);
	assert_false(c.failed);
	assert_int_equal(c.a_found, 2);  /* r1, r3 */
	assert_int_equal(c.b_found, 1);  /* r2 */
	cross_check(&s.eb, &s.ea, &s.b, &s.a, &c);
	assert_false(c.failed);
	scenario_free(&s);
}

/* globex's log again, from the same messages and with the same key, with o's changes:
 * a valid log on its own, which only the cross-check can tell from what globex receipted. */
static struct export_buf rebuilt_b(const struct scenario *s, const struct options *o)
{
	uint8_t env[3][ENV_LEN], h[3][32];
	struct export_buf out;
	struct log_entry e;
	struct lb b;

	lb_init(&b, "globex");
	memcpy(&b.id, &s->b.id, sizeof(b.id));
	for (int i = 0; i < 3; i++)
		envelope(env[i], h[i], (uint8_t)(0xa0 + i));
	b.now += o->b_entry0_other ? 1 : 0;
	lb_entry(&b, LOG_ENTRY_PARTNER_ADDED, s->a.id.pk, NULL, NULL, 0, NULL, 0);
	b.now -= o->b_entry0_other ? 1 : 0;
	lb_head(&b);
	b.now += o->b_entry1_other ? 1 : 0;
	lb_entry(&b, LOG_ENTRY_RECEIVED, s->a.id.pk, h[0], env[0], ENV_LEN, NULL, 0);
	lb_head(&b);
	lb_entry(&b, LOG_ENTRY_SENT, s->a.id.pk, h[1], env[1], ENV_LEN, NULL, 0);
	lb_head(&b);
	/* its receipt of m2 is still acme's r2, from globex's original entry 3 */
	assert_int_equal(log_entry_decode(s->b.entries[3], s->b.lens[3], &e), 0);
	lb_entry(&b, LOG_ENTRY_RECEIPT, s->a.id.pk, h[1], NULL, 0, e.receipt, e.receipt_len);
	log_entry_release(&e);
	lb_head(&b);
	if (!o->b_short) {
		lb_entry(&b, LOG_ENTRY_RECEIVED, s->a.id.pk, h[2], env[2], ENV_LEN, NULL, 0);
		lb_head(&b);
	}
	lb_export(&b, &out);
	sodium_memzero(&b.id, sizeof(b.id)); /* a copy of s->b's: not wiped twice */
	lb_free(&b);
	return out;
}

static void expect_cross(const struct scenario *s, const struct options *o, int swap,
			 char file, uint64_t index, const char *what)
{
	struct export_buf eb = rebuilt_b(s, o);
	struct cross c;

	expect_ok(&eb);
	if (swap)
		cross_check(&eb, &s->ea, &s->b, &s->a, &c);
	else
		cross_check(&s->ea, &eb, &s->a, &s->b, &c);
	if (!c.failed)
		fail_msg("cross-check passed; expected \"%s\"", what);
	if (c.file != file || c.index != index || !strstr(c.reason, what))
		fail_msg("got %c:%llu \"%s\"; expected %c:%llu \"%s\"", c.file,
			 (unsigned long long)c.index, c.reason, file, (unsigned long long)index, what);
	export_buf_free(&eb);
}

static void test_against_rewritten(void **state)
{
	struct options same = {0}, b1 = {.b_entry1_other = 1}, b0 = {.b_entry0_other = 1},
		       shrt = {.b_short = 1};
	struct export_buf eb;
	struct scenario s;
	struct cross c;

	(void)state;
	scenario_build(&s, &plain);
	/* rebuilt unchanged: identical, consistent */
	eb = rebuilt_b(&s, &same);
	assert_int_equal(eb.len, s.eb.len);
	cross_check(&s.ea, &eb, &s.a, &s.b, &c);
	assert_false(c.failed);
	export_buf_free(&eb);
	/* the receipted entry itself differs */
	expect_cross(&s, &b1, 0, 'a', 2, "receipt in entry 2 is not in globex's log at index 1");
	/* an entry before it differs: the receipted head's root is not globex's */
	expect_cross(&s, &b0, 0, 'a', 2, "receipt in entry 2: globex's log of 2 entries does not "
		     "have the receipted root");
	/* globex's export ends before the entry receipted in acme's entry 6 */
	expect_cross(&s, &shrt, 0, 'a', 6, "receipt in entry 6 is not in globex's log at index 4: "
		     "its export ends after 4 entries");
	/* the same, audited from globex's side: found in the third pass */
	expect_cross(&s, &b1, 1, 'b', 2, "receipt in entry 2 is not in globex's log at index 1");
	scenario_free(&s);
}


/* ------------------------------------------------------------------ alarms */

/* b's head of size (its real root, or root if given), dated t, signed by who. */
static void alarm_head(struct lb *b, const struct identity *who, uint64_t size, uint64_t t,
		       const uint8_t *root, struct tree_head *h)
{
	struct merkle_nodes rd = tree_mem_nodes(&b->t);

	memset(h, 0, sizeof(*h));
	h->size = size;
	h->time_ms = t;
	if (root)
		memcpy(h->root, root, 32);
	else
		assert_int_equal(merkle_root(&rd, size, h->root), 0);
	assert_int_equal(tree_head_sign(who, h), 0);
}

/* b's export with alarms right after the header; count and hash as given if bad_count. */
static void lb_export_alarms(struct lb *b, const struct export_alarm *al, size_t n,
			     struct export_buf *out, uint64_t claimed)
{
	struct export_buf ab = {0};
	struct export_header h;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(export_put_alarm(&ab, &al[i]), 0);
	memset(&h, 0, sizeof(h));
	memset(out, 0, sizeof(*out));
	h.version = EXPORT_VERSION;
	memcpy(h.key, b->id.pk, 32);
	snprintf(h.name, sizeof(h.name), "%s", b->name);
	h.created_ms = b->now + 1000;
	h.entry_count = b->size;
	h.head_count = b->heads;
	h.alarm_count = claimed;
	crypto_hash_sha256(h.alarms_hash, ab.data, ab.len);
	assert_int_equal(export_header_sign(&b->id, &h), 0);
	assert_int_equal(export_put_magic(out), 0);
	assert_int_equal(export_put_header(out, &h), 0);
	assert_int_equal(export_buf_append(out, ab.data, ab.len), 0);
	assert_int_equal(export_buf_append(out, b->body.data, b->body.len), 0);
	export_buf_free(&ab);
}

/* Three alarms acme raised about globex: a fork (two roots of size 3), a shrink (5, then 2
 * signed ten minutes later), and heads of 5 and 3 in the usual order (signed only). */
static void alarms_about_b(struct scenario *s, struct export_alarm al[3])
{
	uint8_t other[32];
	struct lb *b = &s->b;

	memset(al, 0, 3 * sizeof(*al));
	memset(other, 0x5a, 32);
	for (int i = 0; i < 3; i++) {
		memcpy(al[i].peer, b->id.pk, 32);
		al[i].detected_ms = T0 + 99000;
	}
	snprintf(al[0].reason, sizeof(al[0].reason), "two heads of the same size with different roots");
	alarm_head(b, &b->id, 3, T0 + 3000, NULL, &al[0].seen);
	alarm_head(b, &b->id, 3, T0 + 4000, other, &al[0].offered);
	snprintf(al[1].reason, sizeof(al[1].reason), "the partner cannot prove its earlier head");
	alarm_head(b, &b->id, 5, T0 + 5000, NULL, &al[1].seen);
	alarm_head(b, &b->id, 2, T0 + 5000 + 10 * 60 * 1000, NULL, &al[1].offered);
	snprintf(al[2].reason, sizeof(al[2].reason), "consistency proof failed");
	alarm_head(b, &b->id, 5, T0 + 5000, NULL, &al[2].seen);
	alarm_head(b, &b->id, 3, T0 + 3000, NULL, &al[2].offered);
}

static void test_alarm_record_round_trip(void **state)
{
	struct export_alarm al[3], big;
	struct export_buf x = {0};
	struct export_record rec;
	struct scenario s;

	(void)state;
	scenario_build(&s, &plain);
	alarms_about_b(&s, al);
	assert_int_equal(export_put_alarm(&x, &al[0]), 0);
	assert_int_equal(export_record_decode(x.data + 4, x.len - 4, &rec), 0);
	assert_int_equal(rec.kind, EXPORT_ALARM);
	assert_memory_equal(rec.alarm.peer, al[0].peer, 32);
	assert_int_equal(rec.alarm.detected_ms, al[0].detected_ms);
	assert_string_equal(rec.alarm.reason, al[0].reason);
	assert_memory_equal(&rec.alarm.seen, &al[0].seen, sizeof(al[0].seen));
	assert_memory_equal(&rec.alarm.offered, &al[0].offered, sizeof(al[0].offered));
	export_record_release(&rec);
	/* the longest reason the format allows is written */
	big = al[0];
	memset(big.reason, 'x', sizeof(big.reason) - 1);
	big.reason[sizeof(big.reason) - 1] = '\0';
	x.len = 0;
	assert_int_equal(export_put_alarm(&x, &big), 0);
	export_buf_free(&x);
	scenario_free(&s);
}

static void test_alarms_in_export(void **state)
{
	struct audit_opts o = {0};
	struct export_alarm al[3];
	struct export_buf e, x = {0};
	struct loc l[64];
	struct scenario s;
	size_t n, first, end;

	(void)state;
	scenario_build(&s, &plain);
	alarms_about_b(&s, al);
	lb_export_alarms(&s.a, al, 3, &e, 3);
	for (int deferred = 0; deferred < 2; deferred++) {
		struct audit *a = audit_buf(e.data, e.len, &o, deferred);
		const struct audit_result *r = audit_result(a);
		if (r->failed)
			fail_msg("audit failed: %s", r->reason);
		assert_int_equal(r->n_alarms, 3);
		assert_int_equal(r->alarms[0].evidence, AUDIT_EVIDENCE_PROVEN);
		assert_int_equal(r->alarms[1].evidence, AUDIT_EVIDENCE_PROVEN);
		assert_int_equal(r->alarms[2].evidence, AUDIT_EVIDENCE_SIGNED);
		assert_memory_equal(r->alarms[0].alarm.peer, s.b.id.pk, 32);
		audit_free(a);
	}
	/* every changed byte of the alarm records is caught */
	n = locate(&e, l, 64);
	assert_true(n > 4 && l[1].kind == EXPORT_ALARM && l[3].kind == EXPORT_ALARM);
	first = l[1].off;
	end = l[3].off + l[3].len;
	for (size_t i = first; i < end; i++) {
		struct audit *a;
		e.data[i] ^= 0x01;
		a = audit_buf(e.data, e.len, &o, 0);
		if (!audit_result(a)->failed)
			fail_msg("byte %zu of the alarms changed, not caught", i);
		audit_free(a);
		e.data[i] ^= 0x01;
	}
	export_buf_free(&e);

	/* evidence not signed by the partner: shown as bad, and the file fails */
	alarm_head(&s.b, &s.stranger, 3, T0 + 4000, NULL, &al[0].offered);
	lb_export_alarms(&s.a, al, 3, &e, 3);
	expect_fail(e.data, e.len, 0, "alarm 0: bad evidence: the head the node was shown (size 3) "
		    "is not signed by the partner");
	{
		struct audit *a = audit_buf(e.data, e.len, &o, 0);
		assert_int_equal(audit_result(a)->n_alarms, 3);
		assert_int_equal(audit_result(a)->alarms[0].evidence, AUDIT_EVIDENCE_BAD);
		audit_free(a);
	}
	export_buf_free(&e);
	/* two heads of one tree prove nothing */
	al[0].offered = al[0].seen;
	lb_export_alarms(&s.a, al, 1, &e, 1);
	expect_fail(e.data, e.len, 0, "alarm 0: bad evidence: both heads are of one tree");
	export_buf_free(&e);
	/* counts: an alarm the header does not count, one it counts that is not there */
	lb_export_alarms(&s.a, al + 1, 1, &e, 0);
	expect_fail(e.data, e.len, 0, "alarm 0: beyond the 0 alarms the header counts");
	export_buf_free(&e);
	lb_export_alarms(&s.a, al, 0, &e, 1);
	expect_fail(e.data, e.len, 0, "alarms: the file has 0 alarms, the header counts 1");
	export_buf_free(&e);
	/* an alarm among the entries */
	lb_export_alarms(&s.a, al, 0, &e, 0);
	assert_int_equal(export_put_alarm(&x, &al[1]), 0);
	n = locate(&e, l, 64);
	{
		uint8_t *p = malloc(e.len + x.len);
		assert_non_null(p);
		memcpy(p, e.data, l[3].off);
		memcpy(p + l[3].off, x.data, x.len);
		memcpy(p + l[3].off + x.len, e.data + l[3].off, e.len - l[3].off);
		expect_fail(p, e.len + x.len, l[3].index, "alarm 0: out of place");
		free(p);
	}
	export_buf_free(&x);
	export_buf_free(&e);
	scenario_free(&s);
}

/* Against the accused partner's export: a fork is confirmed (a head its log lacks, named in
 * its file); heads its log holds both of are not. */
static void test_alarms_against_partner(void **state)
{
	struct export_alarm al[3];
	struct audit_probe p[4];
	struct audit_opts o = {.probes_name = "globex", .alarms_name = "acme",
			       .alarm_probes = p, .n_alarm_probes = 2};
	const struct audit_result *r;
	struct scenario s;
	struct audit *a;

	(void)state;
	scenario_build(&s, &plain);
	alarms_about_b(&s, al);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 2; i++) {
		const struct export_alarm *x = &al[i ? 2 : 0];
		p[2 * i].origin = p[2 * i + 1].origin = (uint64_t)(i ? 2 : 0);
		p[2 * i].size = x->seen.size;
		memcpy(p[2 * i].root, x->seen.root, 32);
		p[2 * i + 1].size = x->offered.size;
		memcpy(p[2 * i + 1].root, x->offered.root, 32);
	}
	/* the fork: globex's log has one of the two roots of size 3 */
	a = audit_buf(s.eb.data, s.eb.len, &o, 1);
	r = audit_result(a);
	assert_false(r->failed);
	assert_true(r->alarm_probe_failed);
	assert_int_equal(r->alarm_probe_index, 2);
	assert_non_null(strstr(r->alarm_probe_reason, "alarm 0 of acme: globex's log of 3 entries "
			       "does not have the root"));
	assert_int_equal(r->n_alarm_probes, 2);
	assert_int_equal(r->alarm_probes[0].missing + r->alarm_probes[1].missing, 1);
	audit_free(a);
	/* heads of 5 and 3 that globex's log holds: nothing to confirm */
	o.alarm_probes = p + 2;
	a = audit_buf(s.eb.data, s.eb.len, &o, 0);
	r = audit_result(a);
	assert_false(r->failed || r->alarm_probe_failed);
	assert_false(r->alarm_probes[0].missing || r->alarm_probes[1].missing);
	assert_true(r->alarm_probes[0].checked && r->alarm_probes[1].checked);
	audit_free(a);
	/* a head beyond the end of globex's export */
	p[2].size = 9;
	a = audit_buf(s.eb.data, s.eb.len, &o, 0);
	r = audit_result(a);
	assert_true(r->alarm_probe_failed);
	assert_int_equal(r->alarm_probe_index, 5);
	assert_non_null(strstr(r->alarm_probe_reason, "alarm 2 of acme: globex's export ends after "
			       "5 entries, before the head of 9"));
	audit_free(a);
	scenario_free(&s);
}

/* ------------------------------------------------------------------ the proof memo */

/* A receipt job for b's entry at index under b's latest head, its proof changed at step
 * `damage` (or not, if negative). */
static struct log_verify_job *memo_job(struct lb *b, uint64_t index, int damage)
{
	struct log_verify_job *j = calloc(1, sizeof(*j));
	struct log_entry e;
	uint8_t *r;
	size_t rl;

	assert_non_null(j);
	assert_int_equal(log_entry_decode(b->entries[index], b->lens[index], &e), 0);
	lb_receipt(b, index, e.envelope_hash, &r, &rl);
	j->kind = LOG_VERIFY_JOB_RECEIPT;
	j->index = index;
	memcpy(j->pk, b->id.pk, 32);
	memcpy(j->hash, e.envelope_hash, 32);
	assert_int_equal(receipt_decode(r, rl, &j->receipt), 0);
	if (damage >= 0) {
		assert_true((size_t)damage < j->receipt.n_proof);
		j->receipt.proof[damage][7] ^= 0x20;
	}
	free(r);
	log_entry_release(&e);
	return j;
}

static int memo_run(struct lb *b, struct log_verify_memo *m, uint64_t index, int damage)
{
	struct log_verify_job *j = memo_job(b, index, damage), *k = memo_job(b, index, damage);
	int err;

	log_verify_job_run_memo(j, m);
	log_verify_job_run(k); /* the reference: without the memo */
	assert_int_equal(j->err, k->err);
	err = j->err;
	receipt_release(&j->receipt);
	receipt_release(&k->receipt);
	free(j);
	free(k);
	return err;
}

/* With the memo, every receipt gets the verdict it gets without: a proof changed above the
 * step where it meets the remembered one is still caught. */
static void test_proof_memo_same_verdicts(void **state)
{
	struct log_verify_memo m;
	struct lb b;
	uint8_t h[32];

	(void)state;
	memset(&m, 0, sizeof(m));
	lb_init(&b, "globex");
	for (int i = 0; i < 13; i++) {
		memset(h, i + 1, 32);
		lb_entry(&b, LOG_ENTRY_RECEIVED, b.id.pk, h, NULL, 0, NULL, 0);
	}
	lb_head(&b);
	assert_int_equal(memo_run(&b, &m, 8, -1), 0);
	assert_true(m.valid);
	assert_int_equal(memo_run(&b, &m, 9, -1), 0);     /* meets 8's path at step 1 */
	for (int d = 0; d < 4; d++)                        /* any step changed: caught */
		assert_int_not_equal(memo_run(&b, &m, 9, d), 0);
	assert_int_equal(memo_run(&b, &m, 9, -1), 0);
	assert_int_equal(memo_run(&b, &m, 12, -1), 0);    /* the right edge */
	assert_int_not_equal(memo_run(&b, &m, 12, 1), 0);
	assert_int_equal(memo_run(&b, &m, 0, -1), 0);
	assert_int_not_equal(memo_run(&b, &m, 1, 3), 0);
	assert_int_equal(memo_run(&b, &m, 1, -1), 0);
	lb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_exports_verify),
		cmocka_unit_test(test_every_byte_flip_is_caught),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_deleted_entry),
		cmocka_unit_test(test_swapped_entries),
		cmocka_unit_test(test_head_signed_by_another_key),
		cmocka_unit_test(test_forged_receipts),
		cmocka_unit_test(test_envelope_changed),
		cmocka_unit_test(test_header_and_coverage),
		cmocka_unit_test(test_against_consistent),
		cmocka_unit_test(test_against_rewritten),
		cmocka_unit_test(test_alarm_record_round_trip),
		cmocka_unit_test(test_alarms_in_export),
		cmocka_unit_test(test_alarms_against_partner),
		cmocka_unit_test(test_proof_memo_same_verdicts),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
