/* The Hello and link Frame codecs (wire/hello.h, wire/link_frame.h). Invalid messages are
 * built with the generated protobuf code, so each breaks exactly one rule. */
#include "testutil.h"

#include "lib/err.h"
#include "wire/hello.h"
#include "wire/limits.h"
#include "wire/link_frame.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BUF = 8192 };

/* ---- helpers ---------------------------------------------------------------------- */

static void hello_full(struct hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version_min = 1;
	h->version_max = 3;
	randombytes_buf(h->identity, sizeof(h->identity));
	snprintf(h->name, sizeof(h->name), "%s", "Acme Logistik \xc3\x96sterreich");
	for (size_t i = 0; i < LIMIT_HELLO_LISTEN_MAX; i++)
		snprintf(h->listen[i], sizeof(h->listen[i]), "n%zu.acme.example:%zu", i, 7400 + i);
	h->n_listen = LIMIT_HELLO_LISTEN_MAX;
	h->timestamp_ms = UINT64_C(1700000000123);
	h->has_invite = true;
	randombytes_buf(h->invite_id, sizeof(h->invite_id));
	randombytes_buf(h->invite_mac, sizeof(h->invite_mac));
}

static void hello_equal(const struct hello *a, const struct hello *b)
{
	assert_int_equal(a->version_min, b->version_min);
	assert_int_equal(a->version_max, b->version_max);
	assert_memory_equal(a->identity, b->identity, 32);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->n_listen, b->n_listen);
	for (size_t i = 0; i < a->n_listen; i++)
		assert_string_equal(a->listen[i], b->listen[i]);
	assert_int_equal(a->timestamp_ms, b->timestamp_ms);
	assert_int_equal(a->has_invite, b->has_invite);
	if (a->has_invite) {
		assert_memory_equal(a->invite_id, b->invite_id, LIMIT_INVITE_ID);
		assert_memory_equal(a->invite_mac, b->invite_mac, LIMIT_INVITE_MAC);
	}
}

/* A valid protobuf Hello, with storage for its fields, that a test then breaks. */
struct pb_hello {
	Coex__Hello m;
	Coex__InviteProof ip;
	uint8_t identity[64], invite_id[64], mac[64];
	char name[512];
	char listen_buf[16][512];
	char *listen[16];
};

static void pb_hello_init(struct pb_hello *p)
{
	memset(p, 0, sizeof(*p));
	coex__hello__init(&p->m);
	coex__invite_proof__init(&p->ip);
	p->m.version_min = p->m.version_max = 1;
	randombytes_buf(p->identity, sizeof(p->identity));
	p->m.identity.data = p->identity;
	p->m.identity.len = 32;
	snprintf(p->name, sizeof(p->name), "%s", "Globex");
	p->m.name = p->name;
	for (size_t i = 0; i < 16; i++) {
		snprintf(p->listen_buf[i], sizeof(p->listen_buf[i]), "192.0.2.%zu:7400", i + 1);
		p->listen[i] = p->listen_buf[i];
	}
	p->m.listen = p->listen;
	p->m.n_listen = 1;
	p->m.timestamp_ms = 42;
	p->ip.invite_id.data = p->invite_id;
	p->ip.invite_id.len = LIMIT_INVITE_ID;
	p->ip.mac.data = p->mac;
	p->ip.mac.len = LIMIT_INVITE_MAC;
}

/* Packs p and decodes it with hello_decode; on failure checks out was not written. */
static int pb_hello_decode(struct pb_hello *p, struct hello *out)
{
	uint8_t buf[BUF];
	struct hello before;
	size_t n = coex__hello__get_packed_size(&p->m);
	int r;

	assert_true(n <= sizeof(buf));
	coex__hello__pack(&p->m, buf);
	memset(out, 0xa5, sizeof(*out));
	before = *out;
	r = hello_decode(buf, n, out);
	if (r != 0)
		assert_memory_equal(out, &before, sizeof(before));
	return r;
}

static int pb_hello_check(struct pb_hello *p)
{
	struct hello h;

	return pb_hello_decode(p, &h);
}

/* Ends of the top-level fields of a protobuf message (a minimal walker for the tests). */
static size_t pb_field_ends(const uint8_t *b, size_t n, size_t *ends, size_t cap)
{
	size_t o = 0, k = 0;

	while (o < n && k < cap) {
		uint64_t tag = 0, len = 0;
		int shift = 0;
		do {
			tag |= (uint64_t)(b[o] & 0x7f) << shift;
			shift += 7;
		} while (b[o++] & 0x80);
		switch (tag & 7) {
		case 0:
			while (b[o++] & 0x80)
				;
			break;
		case 1:
			o += 8;
			break;
		case 2:
			shift = 0;
			do {
				len |= (uint64_t)(b[o] & 0x7f) << shift;
				shift += 7;
			} while (b[o++] & 0x80);
			o += len;
			break;
		case 5:
			o += 4;
			break;
		default:
			fail_msg("unexpected wire type %d", (int)(tag & 7));
		}
		ends[k++] = o;
	}
	assert_int_equal(o, n);
	return k;
}

static int is_field_end(const size_t *ends, size_t k, size_t at)
{
	for (size_t i = 0; i < k; i++)
		if (ends[i] == at)
			return 1;
	return at == 0;
}

/* ---- Hello ------------------------------------------------------------------------ */

static void test_hello_round_trip(void **state)
{
	uint8_t buf[BUF];
	struct hello h, back;
	size_t n;

	(void)state;
	hello_full(&h);
	assert_int_equal(hello_encode(&h, buf, sizeof(buf), &n), 0);
	assert_int_equal(hello_decode(buf, n, &back), 0);
	hello_equal(&h, &back);
	/* the smallest: no listen address, no invite */
	h.n_listen = 0;
	h.has_invite = false;
	h.version_min = h.version_max = 1;
	snprintf(h.name, sizeof(h.name), "x");
	assert_int_equal(hello_encode(&h, buf, sizeof(buf), &n), 0);
	assert_int_equal(hello_decode(buf, n, &back), 0);
	hello_equal(&h, &back);
	assert_false(back.has_invite);
}

static void test_hello_encode_refusals(void **state)
{
	uint8_t buf[BUF];
	struct hello h;
	size_t n = 12345;

	(void)state;
	hello_full(&h);
	assert_int_equal(hello_encode(&h, buf, 10, &n), ERR_TOOBIG);
	assert_int_equal(n, 12345);
	h.n_listen = LIMIT_HELLO_LISTEN_MAX + 1;
	assert_int_equal(hello_encode(&h, buf, sizeof(buf), &n), ERR_INVAL);
	assert_int_equal(n, 12345);
}

static void test_hello_identity_length(void **state)
{
	struct pb_hello p;

	(void)state;
	pb_hello_init(&p);
	assert_int_equal(pb_hello_check(&p), 0);
	for (size_t len = 0; len <= 64; len++) {
		p.m.identity.len = len;
		assert_int_equal(pb_hello_check(&p), len == 32 ? 0 : ERR_PROTO);
	}
}

static void test_hello_name(void **state)
{
	static const char bad_chars[] = {'\n', '\r', '\t', '\x1b', '\x7f', '\x01', '\x1f'};
	struct pb_hello p;

	(void)state;
	pb_hello_init(&p);
	p.name[0] = '\0';
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	memset(p.name, 'n', 64);
	p.name[64] = '\0';
	assert_int_equal(pb_hello_check(&p), 0);
	p.name[64] = 'n';
	p.name[65] = '\0';
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	memset(p.name, 'n', 300);
	p.name[300] = '\0';
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	for (size_t i = 0; i < sizeof(bad_chars); i++) {
		snprintf(p.name, sizeof(p.name), "Acme%cCorp", bad_chars[i]);
		assert_int_equal(pb_hello_check(&p), ERR_PROTO);
		snprintf(p.name, sizeof(p.name), "%c", bad_chars[i]);
		assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	}
	/* UTF-8 and spaces are names */
	snprintf(p.name, sizeof(p.name), "%s", "Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale 1");
	assert_int_equal(pb_hello_check(&p), 0);
}

static void test_hello_listen(void **state)
{
	struct pb_hello p;
	struct hello h;

	(void)state;
	pb_hello_init(&p);
	p.m.n_listen = LIMIT_HELLO_LISTEN_MAX;
	assert_int_equal(pb_hello_decode(&p, &h), 0);
	assert_int_equal(h.n_listen, LIMIT_HELLO_LISTEN_MAX);
	p.m.n_listen = LIMIT_HELLO_LISTEN_MAX + 1;
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	p.m.n_listen = 16;
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	/* one address of the longest length, one longer, one empty, one with a newline */
	p.m.n_listen = 2;
	memset(p.listen_buf[1], 'a', LIMIT_ADDRESS_MAX - 5);
	memcpy(p.listen_buf[1] + LIMIT_ADDRESS_MAX - 5, ":7400", 6);
	assert_int_equal(pb_hello_check(&p), 0);
	memset(p.listen_buf[1], 'a', LIMIT_ADDRESS_MAX + 1);
	p.listen_buf[1][LIMIT_ADDRESS_MAX + 1] = '\0';
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	p.listen_buf[1][0] = '\0';
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	snprintf(p.listen_buf[1], sizeof(p.listen_buf[1]), "%s", "192.0.2.1:7400\nlevel=error");
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
}

static void test_hello_invite_proof(void **state)
{
	struct pb_hello p;
	struct hello h;

	(void)state;
	pb_hello_init(&p);
	p.m.invite = &p.ip;
	assert_int_equal(pb_hello_decode(&p, &h), 0);
	assert_true(h.has_invite);
	for (size_t len = 0; len <= 64; len++) {
		p.ip.invite_id.len = len;
		assert_int_equal(pb_hello_check(&p), len == LIMIT_INVITE_ID ? 0 : ERR_PROTO);
	}
	p.ip.invite_id.len = LIMIT_INVITE_ID;
	for (size_t len = 0; len <= 64; len++) {
		p.ip.mac.len = len;
		assert_int_equal(pb_hello_check(&p), len == LIMIT_INVITE_MAC ? 0 : ERR_PROTO);
	}
}

static void test_hello_versions(void **state)
{
	struct pb_hello p;

	(void)state;
	pb_hello_init(&p);
	p.m.version_min = 2;
	p.m.version_max = 1;
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	p.m.version_min = UINT32_MAX;
	p.m.version_max = 0;
	assert_int_equal(pb_hello_check(&p), ERR_PROTO);
	/* decoding does not judge which versions; the handshake does */
	p.m.version_min = p.m.version_max = 7;
	assert_int_equal(pb_hello_check(&p), 0);
	p.m.version_min = 0;
	p.m.version_max = UINT32_MAX;
	assert_int_equal(pb_hello_check(&p), 0);
}

/* A Hello written byte by byte, for strings protobuf-c's packer cannot produce (it sizes
 * strings with strlen): versions 1..1, a 32-byte identity, the name and one listen address
 * given with their lengths. Returns the length. */
static size_t raw_hello(uint8_t *out, const char *name, size_t nlen, const char *listen,
			size_t llen)
{
	size_t o = 0;

	assert_true(nlen < 128 && llen < 128);
	out[o++] = 0x08, out[o++] = 1;                        /* version_min */
	out[o++] = 0x10, out[o++] = 1;                        /* version_max */
	out[o++] = 0x1a, out[o++] = 32;                       /* identity */
	memset(out + o, 0x42, 32), o += 32;
	out[o++] = 0x22, out[o++] = (uint8_t)nlen;            /* name */
	memcpy(out + o, name, nlen), o += nlen;
	if (listen) {
		out[o++] = 0x2a, out[o++] = (uint8_t)llen;    /* listen */
		memcpy(out + o, listen, llen), o += llen;
	}
	return o;
}

/* A name or address with a NUL inside is refused, not accepted cut short. */
static void test_hello_embedded_nul(void **state)
{
	uint8_t buf[256];
	struct hello h;
	size_t n;

	(void)state;
	n = raw_hello(buf, "Acme", 4, "192.0.2.1:7400", 14);
	assert_int_equal(hello_decode(buf, n, &h), 0); /* the crafting is right */
	n = raw_hello(buf, "Acme\0Evil", 9, NULL, 0);
	assert_int_equal(hello_decode(buf, n, &h), ERR_PROTO);
	n = raw_hello(buf, "Acme", 4, "192.0.2.1:7400\0junk", 19);
	assert_int_equal(hello_decode(buf, n, &h), ERR_PROTO);
}

/* Names must be printable UTF-8: malformed UTF-8 and C1 controls (U+009B is CSI, a
 * terminal escape) are refused. */
static void test_hello_name_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{"\xff\xfe", 2},            /* not UTF-8 */
		{"\xc0\xaf", 2},            /* overlong '/' */
		{"ab\xc3", 3},              /* cut inside a character */
		{"\xed\xa0\x80", 3},        /* a surrogate */
		{"\xc2\x9b" "31m", 5},      /* C1 CSI */
	};
	uint8_t buf[256];
	struct hello h;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = raw_hello(buf, bad[i].s, bad[i].len, NULL, 0);
		assert_int_equal(hello_decode(buf, n, &h), ERR_PROTO);
	}
}

static void test_hello_truncated(void **state)
{
	uint8_t buf[BUF];
	size_t ends[64], k, n;
	struct hello h, back;

	(void)state;
	hello_full(&h);
	assert_int_equal(hello_encode(&h, buf, sizeof(buf), &n), 0);
	k = pb_field_ends(buf, n, ends, 64);
	for (size_t len = 0; len < n; len++) {
		int r = hello_decode(buf, len, &back);
		/* cut inside a field: never accepted; at a field boundary it may be a valid,
		 * shorter Hello (the name comes before everything optional) */
		if (!is_field_end(ends, k, len))
			assert_int_equal(r, ERR_PROTO);
		else
			assert_true(r == 0 || r == ERR_PROTO);
	}
	assert_int_equal(hello_decode(buf, 0, &back), ERR_PROTO); /* no identity, no name */
}

static void test_hello_garbage(void **state)
{
	uint8_t buf[512];
	struct hello back;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t n = randombytes_uniform(sizeof(buf));
		int r;
		randombytes_buf(buf, n);
		r = hello_decode(buf, n, &back);
		assert_true(r == 0 || r == ERR_PROTO);
	}
}

/* ---- link frames ------------------------------------------------------------------ */

static void frame_round_trip(const struct link_frame *f)
{
	uint8_t buf[BUF];
	struct link_frame back;
	size_t n;

	assert_int_equal(link_frame_encode(f, buf, sizeof(buf), &n), 0);
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(link_frame_decode(buf, n, &back), 0);
	assert_int_equal(back.kind, f->kind);
	if (f->kind != LINK_FRAME_CLOSE) {
		assert_int_equal(back.nonce, f->nonce);
	} else {
		assert_int_equal(back.reason, f->reason);
		assert_string_equal(back.detail, f->detail);
	}
}

static void test_frame_round_trip(void **state)
{
	struct link_frame f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = LINK_FRAME_PING;
	frame_round_trip(&f);
	f.nonce = UINT64_MAX;
	frame_round_trip(&f);
	f.kind = LINK_FRAME_PONG;
	f.nonce = 0x0123456789abcdefull;
	frame_round_trip(&f);
	f.kind = LINK_FRAME_CLOSE;
	for (int r = LINK_CLOSE_UNSPECIFIED; r <= LINK_CLOSE_LIMIT; r++) {
		f.reason = (enum link_close_reason)r;
		snprintf(f.detail, sizeof(f.detail), "reason %d", r);
		frame_round_trip(&f);
	}
	memset(f.detail, 'd', LIMIT_CLOSE_DETAIL_MAX);
	f.detail[LIMIT_CLOSE_DETAIL_MAX] = '\0';
	frame_round_trip(&f);
	f.detail[0] = '\0';
	frame_round_trip(&f);
}

static void test_frame_reason_names(void **state)
{
	(void)state;
	assert_string_equal(link_close_reason_str(LINK_CLOSE_UNSPECIFIED), "unspecified");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_SHUTDOWN), "shutdown");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_DUPLICATE), "duplicate");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_REMOVED), "removed");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_PROTOCOL), "protocol");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_TIMEOUT), "timeout");
	assert_string_equal(link_close_reason_str(LINK_CLOSE_LIMIT), "limit");
	assert_string_equal(link_close_reason_str((enum link_close_reason)99), "unspecified");
}

static void test_frame_encode_unknown_kind(void **state)
{
	uint8_t buf[64];
	struct link_frame f;
	size_t n = 777;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = (enum link_frame_kind)0;
	assert_int_equal(link_frame_encode(&f, buf, sizeof(buf), &n), ERR_INVAL);
	f.kind = (enum link_frame_kind)42;
	assert_int_equal(link_frame_encode(&f, buf, sizeof(buf), &n), ERR_INVAL);
	assert_int_equal(n, 777);
	f.kind = LINK_FRAME_PING;
	assert_int_equal(link_frame_encode(&f, buf, 1, &n), ERR_TOOBIG);
	assert_int_equal(n, 777);
}

static void test_frame_decode_unknown_kind(void **state)
{
	/* an empty Frame (no kind); a field no version knows (99, varint); a field 15 string */
	static const uint8_t empty[1] = {0}, unknown99[] = {0x98, 0x06, 0x01},
			     unknown15[] = {0x7a, 0x02, 0x08, 0x01};
	struct link_frame f, before;

	(void)state;
	memset(&f, 0xa5, sizeof(f));
	before = f;
	assert_int_equal(link_frame_decode(empty, 0, &f), ERR_PROTO);
	assert_int_equal(link_frame_decode(unknown99, sizeof(unknown99), &f), ERR_PROTO);
	assert_int_equal(link_frame_decode(unknown15, sizeof(unknown15), &f), ERR_PROTO);
	assert_memory_equal(&f, &before, sizeof(f));
}

static void test_frame_close_detail_and_reason(void **state)
{
	Coex__Frame m = COEX__FRAME__INIT;
	Coex__Close cl = COEX__CLOSE__INIT;
	char detail[1000];
	uint8_t buf[BUF];
	struct link_frame f;
	size_t n;

	(void)state;
	memset(detail, 'x', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	cl.reason = (Coex__CloseReason)77; /* a reason from a newer version */
	cl.detail = detail;
	m.kind_case = COEX__FRAME__KIND_CLOSE;
	m.close = &cl;
	n = coex__frame__get_packed_size(&m);
	assert_true(n <= sizeof(buf));
	coex__frame__pack(&m, buf);
	assert_int_equal(link_frame_decode(buf, n, &f), 0);
	assert_int_equal(f.kind, LINK_FRAME_CLOSE);
	assert_int_equal(f.reason, LINK_CLOSE_UNSPECIFIED);
	assert_int_equal(strlen(f.detail), LIMIT_CLOSE_DETAIL_MAX);
	cl.reason = (Coex__CloseReason)-1;
	coex__frame__pack(&m, buf);
	n = coex__frame__get_packed_size(&m);
	assert_int_equal(link_frame_decode(buf, n, &f), 0);
	assert_int_equal(f.reason, LINK_CLOSE_UNSPECIFIED);
}

static void test_frame_truncated(void **state)
{
	uint8_t buf[BUF];
	struct link_frame f, back;
	size_t n, ends[8], k;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = LINK_FRAME_CLOSE;
	f.reason = LINK_CLOSE_TIMEOUT;
	snprintf(f.detail, sizeof(f.detail), "%s", "no traffic for a long while");
	assert_int_equal(link_frame_encode(&f, buf, sizeof(buf), &n), 0);
	k = pb_field_ends(buf, n, ends, 8);
	assert_int_equal(k, 1); /* one field: the oneof member */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(link_frame_decode(buf, len, &back), ERR_PROTO);
	f.kind = LINK_FRAME_PING;
	f.nonce = UINT64_MAX;
	assert_int_equal(link_frame_encode(&f, buf, sizeof(buf), &n), 0);
	for (size_t len = 0; len < n; len++)
		assert_int_equal(link_frame_decode(buf, len, &back), ERR_PROTO);
}

/* Random bytes inside a Ping, Pong or Close field (the frames this layer owns; frames
 * that carry data have their own tests). */
static void test_frame_garbage(void **state)
{
	uint8_t buf[128];
	struct link_frame back;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		size_t n = 2 + randombytes_uniform(100);
		int r;
		buf[0] = (uint8_t)((1 + randombytes_uniform(3)) << 3 | 2);
		buf[1] = (uint8_t)(n - 2);
		randombytes_buf(buf + 2, n - 2);
		memset(&back, 0, sizeof(back));
		r = link_frame_decode(buf, n, &back);
		assert_true(r == 0 || r == ERR_PROTO);
		if (r == 0)
			assert_true(back.kind >= LINK_FRAME_PING && back.kind <= LINK_FRAME_CLOSE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_encode_refusals),
		cmocka_unit_test(test_hello_identity_length),
		cmocka_unit_test(test_hello_name),
		cmocka_unit_test(test_hello_listen),
		cmocka_unit_test(test_hello_invite_proof),
		cmocka_unit_test(test_hello_versions),
		cmocka_unit_test(test_hello_embedded_nul),
		cmocka_unit_test(test_hello_name_utf8),
		cmocka_unit_test(test_hello_truncated),
		cmocka_unit_test(test_hello_garbage),
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_reason_names),
		cmocka_unit_test(test_frame_encode_unknown_kind),
		cmocka_unit_test(test_frame_decode_unknown_kind),
		cmocka_unit_test(test_frame_close_detail_and_reason),
		cmocka_unit_test(test_frame_truncated),
		cmocka_unit_test(test_frame_garbage),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
