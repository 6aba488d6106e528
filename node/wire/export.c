#include "wire/export.h"
#include "crypto/identity.h"
#include "lib/err.h"

#include "coex.pb-c.h"

#include <stdlib.h>
#include <string.h>

enum { EXPORT_SIGNED_MAX = 4 + 32 + 1 + EXPORT_NAME_MAX + 4 * 8 + 32 };

/* ------------------------------------------------------------------ the header */

static size_t put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return (size_t)n;
}

/* The signed bytes, after the domain. Returns their length, or 0 if the name is too long. */
static size_t export_header_message(const struct export_header *h, uint8_t out[EXPORT_SIGNED_MAX])
{
	size_t name_len = strnlen(h->name, sizeof(h->name)), n = 0;

	if (name_len > EXPORT_NAME_MAX)
		return 0;
	n += put_be(out + n, h->version, 4);
	memcpy(out + n, h->key, 32);
	n += 32;
	out[n++] = (uint8_t)name_len;
	memcpy(out + n, h->name, name_len);
	n += name_len;
	n += put_be(out + n, h->created_ms, 8);
	n += put_be(out + n, h->entry_count, 8);
	n += put_be(out + n, h->head_count, 8);
	n += put_be(out + n, h->alarm_count, 8);
	memcpy(out + n, h->alarms_hash, 32);
	n += 32;
	return n;
}

int export_header_sign(const struct identity *id, struct export_header *h)
{
	uint8_t msg[EXPORT_SIGNED_MAX];
	size_t n = export_header_message(h, msg);

	if (n == 0)
		return ERR_INVAL;
	return identity_sign(id, EXPORT_HEADER_DOMAIN, msg, n, h->signature);
}

int export_header_verify(const struct export_header *h)
{
	uint8_t msg[EXPORT_SIGNED_MAX];
	size_t n = export_header_message(h, msg);

	if (n == 0)
		return ERR_INVAL;
	return identity_verify(h->key, EXPORT_HEADER_DOMAIN, msg, n, h->signature);
}

/* ------------------------------------------------------------------ writing */

void export_buf_free(struct export_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int export_buf_reserve(struct export_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (more > SIZE_MAX / 2 - b->len)
		return ERR_NOMEM;
	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	if (!(p = realloc(b->data, cap)))
		return ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int export_buf_append(struct export_buf *b, const uint8_t *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = export_buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int export_put_magic(struct export_buf *b)
{
	return export_buf_append(b, (const uint8_t *)EXPORT_MAGIC, EXPORT_MAGIC_LEN);
}

static int export_put_record(struct export_buf *b, const Coex__ExportRecord *m)
{
	size_t n = coex__export_record__get_packed_size(m);
	int r;

	if (n > EXPORT_RECORD_MAX)
		return ERR_INVAL;
	if ((r = export_buf_reserve(b, EXPORT_LEN_PREFIX + n)) != 0)
		return r;
	put_be(b->data + b->len, n, EXPORT_LEN_PREFIX);
	coex__export_record__pack(m, b->data + b->len + EXPORT_LEN_PREFIX);
	b->len += EXPORT_LEN_PREFIX + n;
	return 0;
}

int export_put_header(struct export_buf *b, const struct export_header *h)
{
	Coex__ExportRecord m = COEX__EXPORT_RECORD__INIT;
	Coex__ExportHeader x = COEX__EXPORT_HEADER__INIT;

	if (strnlen(h->name, sizeof(h->name)) > EXPORT_NAME_MAX)
		return ERR_INVAL;
	x.version = h->version;
	x.node_key.data = (uint8_t *)h->key;
	x.node_key.len = 32;
	x.name = (char *)h->name;
	x.created_ms = h->created_ms;
	x.entry_count = h->entry_count;
	x.head_count = h->head_count;
	x.signature.data = (uint8_t *)h->signature;
	x.signature.len = 64;
	x.alarm_count = h->alarm_count;
	x.alarms_hash.data = (uint8_t *)h->alarms_hash;
	x.alarms_hash.len = 32;
	m.kind_case = COEX__EXPORT_RECORD__KIND_HEADER;
	m.header = &x;
	return export_put_record(b, &m);
}

int export_put_entry(struct export_buf *b, uint64_t index, const uint8_t *entry, size_t len)
{
	Coex__ExportRecord m = COEX__EXPORT_RECORD__INIT;
	Coex__ExportEntry x = COEX__EXPORT_ENTRY__INIT;

	x.index = index;
	x.entry.data = (uint8_t *)entry;
	x.entry.len = len;
	m.kind_case = COEX__EXPORT_RECORD__KIND_ENTRY;
	m.entry = &x;
	return export_put_record(b, &m);
}

int export_put_head(struct export_buf *b, const struct tree_head *h)
{
	Coex__ExportRecord m = COEX__EXPORT_RECORD__INIT;
	Coex__SignedTreeHead x = COEX__SIGNED_TREE_HEAD__INIT;

	x.size = h->size;
	x.root.data = (uint8_t *)h->root;
	x.root.len = 32;
	x.time_ms = h->time_ms;
	x.signature.data = (uint8_t *)h->signature;
	x.signature.len = 64;
	m.kind_case = COEX__EXPORT_RECORD__KIND_HEAD;
	m.head = &x;
	return export_put_record(b, &m);
}

int export_put_envelope(struct export_buf *b, const uint8_t hash[32], const uint8_t *env,
			size_t len)
{
	Coex__ExportRecord m = COEX__EXPORT_RECORD__INIT;
	Coex__ExportEnvelope x = COEX__EXPORT_ENVELOPE__INIT;

	x.hash.data = (uint8_t *)hash;
	x.hash.len = 32;
	x.envelope.data = (uint8_t *)env;
	x.envelope.len = len;
	m.kind_case = COEX__EXPORT_RECORD__KIND_ENVELOPE;
	m.envelope = &x;
	return export_put_record(b, &m);
}

static void export_head_pb(const struct tree_head *h, Coex__SignedTreeHead *x)
{
	coex__signed_tree_head__init(x);
	x->size = h->size;
	x->root.data = (uint8_t *)h->root;
	x->root.len = 32;
	x->time_ms = h->time_ms;
	x->signature.data = (uint8_t *)h->signature;
	x->signature.len = 64;
}

int export_put_alarm(struct export_buf *b, const struct export_alarm *a)
{
	Coex__ExportRecord m = COEX__EXPORT_RECORD__INIT;
	Coex__ExportAlarm x = COEX__EXPORT_ALARM__INIT;
	Coex__SignedTreeHead seen, offered;

	if (strnlen(a->reason, sizeof(a->reason)) > EXPORT_REASON_MAX)
		return ERR_INVAL;
	x.peer.data = (uint8_t *)a->peer;
	x.peer.len = 32;
	x.detected_ms = a->detected_ms;
	x.reason = (char *)a->reason;
	export_head_pb(&a->seen, &seen);
	export_head_pb(&a->offered, &offered);
	x.seen = &seen;
	x.offered = &offered;
	m.kind_case = COEX__EXPORT_RECORD__KIND_ALARM;
	m.alarm = &x;
	return export_put_record(b, &m);
}

/* ------------------------------------------------------------------ decoding */

/* A ProtobufCBuffer that compares what is packed with the input instead of storing it. */
struct export_cmp {
	ProtobufCBuffer base;
	const uint8_t *in;
	size_t len, at;
	bool differs;
};

static void export_cmp_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
	struct export_cmp *c = (struct export_cmp *)buf;

	if (c->differs || len > c->len - c->at || memcmp(c->in + c->at, data, len) != 0) {
		c->differs = true;
		return;
	}
	c->at += len;
}

/* Whether packing m gives exactly in[0..len): one encoding per value. */
static bool export_canonical(const Coex__ExportRecord *m, const uint8_t *in, size_t len)
{
	struct export_cmp c = {.base = {.append = export_cmp_append}, .in = in, .len = len};

	if (coex__export_record__get_packed_size(m) != len)
		return false;
	coex__export_record__pack_to_buffer(m, &c.base);
	return !c.differs && c.at == len;
}

static int export_copy_header(const Coex__ExportHeader *x, struct export_record *out)
{
	struct export_header *h = &out->header;
	size_t n;

	if (x->base.n_unknown_fields || x->node_key.len != 32 || x->signature.len != 64 ||
	    x->alarms_hash.len != 32)
		return ERR_PROTO;
	n = strlen(x->name);
	if (n > EXPORT_NAME_MAX)
		return ERR_PROTO;
	h->version = x->version;
	memcpy(h->key, x->node_key.data, 32);
	memcpy(h->name, x->name, n + 1);
	h->created_ms = x->created_ms;
	h->entry_count = x->entry_count;
	h->head_count = x->head_count;
	h->alarm_count = x->alarm_count;
	memcpy(h->alarms_hash, x->alarms_hash.data, 32);
	memcpy(h->signature, x->signature.data, 64);
	return 0;
}

static int export_copy_head(const Coex__SignedTreeHead *x, struct tree_head *h)
{
	if (x->base.n_unknown_fields || x->root.len != 32 || x->signature.len != 64)
		return ERR_PROTO;
	h->size = x->size;
	memcpy(h->root, x->root.data, 32);
	h->time_ms = x->time_ms;
	memcpy(h->signature, x->signature.data, 64);
	return 0;
}

static int export_copy_alarm(const Coex__ExportAlarm *x, struct export_alarm *a)
{
	size_t n;

	if (x->base.n_unknown_fields || x->peer.len != 32 || !x->seen || !x->offered)
		return ERR_PROTO;
	n = strlen(x->reason);
	if (n > EXPORT_REASON_MAX)
		return ERR_PROTO;
	memcpy(a->peer, x->peer.data, 32);
	a->detected_ms = x->detected_ms;
	memcpy(a->reason, x->reason, n + 1);
	if (export_copy_head(x->seen, &a->seen) != 0 || export_copy_head(x->offered, &a->offered) != 0)
		return ERR_PROTO;
	return 0;
}

static int export_copy(const Coex__ExportRecord *m, struct export_record *out)
{
	if (m->base.n_unknown_fields)
		return ERR_PROTO;
	switch (m->kind_case) {
	case COEX__EXPORT_RECORD__KIND_HEADER:
		out->kind = EXPORT_HEADER;
		return export_copy_header(m->header, out);
	case COEX__EXPORT_RECORD__KIND_ENTRY:
		if (m->entry->base.n_unknown_fields)
			return ERR_PROTO;
		out->kind = EXPORT_ENTRY;
		out->index = m->entry->index;
		out->data = m->entry->entry.data;
		out->len = m->entry->entry.len;
		return 0;
	case COEX__EXPORT_RECORD__KIND_HEAD:
		out->kind = EXPORT_HEAD;
		return export_copy_head(m->head, &out->head);
	case COEX__EXPORT_RECORD__KIND_ENVELOPE:
		if (m->envelope->base.n_unknown_fields || m->envelope->hash.len != 32)
			return ERR_PROTO;
		out->kind = EXPORT_ENVELOPE;
		memcpy(out->hash, m->envelope->hash.data, 32);
		out->data = m->envelope->envelope.data;
		out->len = m->envelope->envelope.len;
		return 0;
	case COEX__EXPORT_RECORD__KIND_ALARM:
		out->kind = EXPORT_ALARM;
		return export_copy_alarm(m->alarm, &out->alarm);
	default:
		return ERR_PROTO;
	}
}

/* ------------------------------------------------------------------ the fast path
 *
 * Entries, envelopes and heads (all but a handful of the records) are read in place, without
 * unpacking: their canonical encoding is fixed, so it is checked byte by byte. Whatever this
 * does not accept goes the general way (unpack, copy, re-pack and compare), which accepts
 * the same canonical records and rejects the rest: the fast path changes speed, not what is
 * accepted. */

/* A shortest-form varint at in[*at..end). Returns 0 or ERR_PROTO. */
static int fast_varint(const uint8_t *in, size_t end, size_t *at, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = *at;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;
		if (i >= end)
			return ERR_PROTO;
		b = in[i++];
		if (shift == 63 && b > 1)
			return ERR_PROTO;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift > 0)
				return ERR_PROTO; /* not the shortest form */
			*at = i;
			*out = v;
			return 0;
		}
	}
	return ERR_PROTO;
}

/* Field key then, for a length-delimited field, its bytes: in[*at] must be key. */
static int fast_bytes(const uint8_t *in, size_t end, size_t *at, uint8_t key, const uint8_t **p,
		      size_t *n)
{
	uint64_t len;
	size_t i = *at + 1;

	if (*at >= end || in[*at] != key || fast_varint(in, end, &i, &len) != 0 || len > end - i)
		return ERR_PROTO;
	*p = in + i;
	*n = (size_t)len;
	*at = i + (size_t)len;
	return 0;
}

/* An optional varint field (absent when 0, never present as 0). */
static int fast_opt_varint(const uint8_t *in, size_t end, size_t *at, uint8_t key, uint64_t *out)
{
	*out = 0;
	if (*at >= end || in[*at] != key)
		return 0;
	(*at)++;
	if (fast_varint(in, end, at, out) != 0 || *out == 0)
		return ERR_PROTO;
	return 0;
}

static int fast_head(const uint8_t *in, size_t end, size_t at, struct tree_head *h)
{
	const uint8_t *p;
	size_t n;

	if (fast_opt_varint(in, end, &at, 0x08, &h->size) != 0 ||
	    fast_bytes(in, end, &at, 0x12, &p, &n) != 0 || n != 32)
		return ERR_PROTO;
	memcpy(h->root, p, 32);
	if (fast_opt_varint(in, end, &at, 0x18, &h->time_ms) != 0 ||
	    fast_bytes(in, end, &at, 0x22, &p, &n) != 0 || n != 64)
		return ERR_PROTO;
	memcpy(h->signature, p, 64);
	return at == end ? 0 : ERR_PROTO;
}

/* A record's last field: bytes 2, optional but not empty when present; nothing may follow. */
static int fast_tail_data(const uint8_t *in, size_t end, size_t at, struct export_record *out)
{
	out->data = NULL;
	out->len = 0;
	if (at < end && (fast_bytes(in, end, &at, 0x12, &out->data, &out->len) != 0 ||
			 out->len == 0))
		return ERR_PROTO;
	return at == end ? 0 : ERR_PROTO;
}

/* Returns 0 with *out filled (pb NULL, data into in), or ERR_PROTO: take the general way. */
static int export_decode_fast(const uint8_t *in, size_t len, struct export_record *out)
{
	const uint8_t *body, *p;
	size_t at = 0, n, end;

	if (len < 2 || fast_bytes(in, len, &at, in[0], &body, &end) != 0 || at != len)
		return ERR_PROTO;
	at = (size_t)(body - in);
	end += at;
	switch (in[0]) {
	case 0x12: /* entry */
		out->kind = EXPORT_ENTRY;
		if (fast_opt_varint(in, end, &at, 0x08, &out->index) != 0)
			return ERR_PROTO;
		return fast_tail_data(in, end, at, out);
	case 0x1a: /* head */
		out->kind = EXPORT_HEAD;
		return fast_head(in, end, at, &out->head);
	case 0x22: /* envelope */
		out->kind = EXPORT_ENVELOPE;
		if (fast_bytes(in, end, &at, 0x0a, &p, &n) != 0 || n != 32)
			return ERR_PROTO;
		memcpy(out->hash, p, 32);
		return fast_tail_data(in, end, at, out);
	default:
		return ERR_PROTO;
	}
}

int export_record_decode(const uint8_t *in, size_t len, struct export_record *out)
{
	Coex__ExportRecord *m;
	struct export_record rec;
	int r;

	if (len > EXPORT_RECORD_MAX)
		return ERR_PROTO;
	memset(&rec, 0, sizeof(rec));
	if (export_decode_fast(in, len, &rec) == 0) {
		*out = rec;
		return 0;
	}
	if (!(m = coex__export_record__unpack(NULL, len, in)))
		return ERR_PROTO;
	memset(&rec, 0, sizeof(rec));
	if ((r = export_copy(m, &rec)) == 0 && !export_canonical(m, in, len))
		r = ERR_PROTO;
	if (r != 0) {
		coex__export_record__free_unpacked(m, NULL);
		return r;
	}
	rec.pb = m;
	*out = rec;
	return 0;
}

void export_record_free_owner(void *owner)
{
	if (owner)
		coex__export_record__free_unpacked(owner, NULL);
}

void export_record_release(struct export_record *r)
{
	export_record_free_owner(r->pb);
	r->pb = NULL;
	r->data = NULL;
}

void *export_record_take(struct export_record *r)
{
	void *pb = r->pb;

	r->pb = NULL;
	return pb;
}

/* ------------------------------------------------------------------ reading */

void export_reader_init(struct export_reader *r, export_read_fn read, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->read = read;
	r->arg = arg;
}

void export_reader_free(struct export_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Reads exactly n bytes; *got tells how many came before the end of the file. */
static int export_read_full(struct export_reader *r, uint8_t *buf, size_t n, size_t *got)
{
	size_t have = 0, k;
	int e;

	while (have < n) {
		if ((e = r->read(r->arg, buf + have, n - have, &k)) != 0)
			return e;
		if (k == 0)
			break;
		have += k;
	}
	r->offset += have;
	*got = have;
	return 0;
}

int export_reader_magic(struct export_reader *r)
{
	uint8_t m[EXPORT_MAGIC_LEN];
	size_t got;
	int e;

	if ((e = export_read_full(r, m, sizeof(m), &got)) != 0)
		return e;
	r->old_version = got == sizeof(m) && memcmp(m, EXPORT_MAGIC_V1, sizeof(m)) == 0;
	return got == sizeof(m) && memcmp(m, EXPORT_MAGIC, sizeof(m)) == 0 ? 0 : ERR_PROTO;
}

int export_reader_next(struct export_reader *r, const uint8_t **rec, size_t *len)
{
	uint8_t hdr[EXPORT_LEN_PREFIX];
	size_t got, n;
	int e;

	if ((e = export_read_full(r, hdr, sizeof(hdr), &got)) != 0)
		return e;
	if (got == 0)
		return 0;
	if (got < sizeof(hdr))
		return ERR_PROTO;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n > EXPORT_RECORD_MAX)
		return ERR_TOOBIG;
	if (n > r->cap) {
		/* Grown only as far as a length we have checked, and only by reading. */
		uint8_t *p = realloc(r->buf, n);
		if (!p)
			return ERR_NOMEM;
		r->buf = p;
		r->cap = n;
	}
	if ((e = export_read_full(r, r->buf, n, &got)) != 0)
		return e;
	if (got < n)
		return ERR_PROTO;
	r->records++;
	*rec = r->buf;
	*len = n;
	return 1;
}

int export_mem_next(const uint8_t *data, size_t len, size_t *at, const uint8_t **rec,
		    size_t *rec_len)
{
	size_t left = len - *at, n;
	const uint8_t *p = data + *at;

	if (left == 0)
		return 0;
	if (left < EXPORT_LEN_PREFIX)
		return ERR_PROTO;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n > EXPORT_RECORD_MAX)
		return ERR_TOOBIG;
	if (n > left - EXPORT_LEN_PREFIX)
		return ERR_PROTO;
	*rec = p + EXPORT_LEN_PREFIX;
	*rec_len = n;
	*at += EXPORT_LEN_PREFIX + n;
	return 1;
}
