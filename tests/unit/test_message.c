/* wire/message: sealing and opening envelopes. A seals to B; C is a third party. Bodies,
 * Signed messages and hand-made (malicious) envelopes are built with the generated protobuf
 * code, so the tests do not trust the module to build what it checks. */
#include "testutil.h"

#include "crypto/identity.h"
#include "lib/err.h"
#include "wire/message.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { MAX = 1 << 20 };

static struct identity A, B, C;
static uint8_t k_ab[32], k_ba[32], k_ca[32];

struct body_opts {
	uint8_t id;                   /* the id is 16 bytes of this value */
	const uint8_t *author, *recipient;
	int thread, reply_to, forwarded;
	const char *title;
};

static uint8_t *make_body(const struct body_opts *o, size_t *len)
{
	Coex__Body b = COEX__BODY__INIT;
	Coex__Proposal p = COEX__PROPOSAL__INIT;
	Coex__Forwarded f = COEX__FORWARDED__INIT;
	uint8_t id[16], thread[16], reply[32], *out;

	memset(id, o->id, sizeof(id));
	memset(thread, 0x77, sizeof(thread));
	memset(reply, 0x88, sizeof(reply));
	b.id = (ProtobufCBinaryData){sizeof(id), id};
	b.author = (ProtobufCBinaryData){32, (uint8_t *)o->author};
	b.recipient = (ProtobufCBinaryData){32, (uint8_t *)o->recipient};
	b.created_ms = 1700000000000ull;
	b.expires_ms = 1800000000000ull;
	if (o->thread)
		b.thread = (ProtobufCBinaryData){sizeof(thread), thread};
	if (o->reply_to)
		b.reply_to = (ProtobufCBinaryData){sizeof(reply), reply};
	if (o->forwarded) {
		b.kind_case = COEX__BODY__KIND_FORWARDED;
		b.forwarded = &f;
		f.hops_left = 2;
	} else {
		b.kind_case = COEX__BODY__KIND_PROPOSAL;
		b.proposal = &p;
		if (o->title)
			p.title = (char *)o->title;
	}
	*len = coex__body__get_packed_size(&b);
	out = malloc(*len);
	assert_non_null(out);
	assert_int_equal(coex__body__pack(&b, out), *len);
	return out;
}

/* A plain body from A to B. */
static uint8_t *body_ab(size_t *len)
{
	struct body_opts o = {.id = 1, .author = A.pk, .recipient = B.pk, .title = "hello"};
	return make_body(&o, len);
}

static uint8_t *make_signed_sig(const uint8_t *body, size_t len, const uint8_t sig[64],
				size_t *out_len)
{
	Coex__Signed s = COEX__SIGNED__INIT;
	uint8_t *out;

	s.body = (ProtobufCBinaryData){len, (uint8_t *)body};
	s.signature = (ProtobufCBinaryData){64, (uint8_t *)sig};
	*out_len = coex__signed__get_packed_size(&s);
	out = malloc(*out_len);
	assert_non_null(out);
	coex__signed__pack(&s, out);
	return out;
}

static uint8_t *make_signed(const struct identity *signer, const uint8_t *body, size_t len,
			    size_t *out_len)
{
	uint8_t sig[64];
	assert_int_equal(identity_sign(signer, MESSAGE_DOMAIN_BODY, body, len, sig), 0);
	return make_signed_sig(body, len, sig, out_len);
}

/* An envelope around any Signed bytes, boxed under key: what a malicious author can send. */
static uint8_t *seal_raw(const uint8_t key[32], const uint8_t *from, const uint8_t *to,
			 uint8_t id_byte, const uint8_t *sig_msg, size_t slen, size_t *len)
{
	Coex__Envelope e = COEX__ENVELOPE__INIT;
	uint8_t id[16], nonce[24], *sealed, *out;

	memset(id, id_byte, sizeof(id));
	randombytes_buf(nonce, sizeof(nonce));
	sealed = malloc(slen + crypto_box_MACBYTES);
	assert_non_null(sealed);
	assert_int_equal(crypto_box_easy_afternm(sealed, sig_msg, slen, nonce, key), 0);
	e.id = (ProtobufCBinaryData){16, id};
	e.from = (ProtobufCBinaryData){32, (uint8_t *)from};
	e.to = (ProtobufCBinaryData){32, (uint8_t *)to};
	e.hops_left = 2;
	e.nonce = (ProtobufCBinaryData){24, nonce};
	e.sealed = (ProtobufCBinaryData){slen + crypto_box_MACBYTES, sealed};
	*len = coex__envelope__get_packed_size(&e);
	out = malloc(*len);
	assert_non_null(out);
	coex__envelope__pack(&e, out);
	free(sealed);
	return out;
}

/* Rewrites an envelope's from and to (NULL: keep), re-encoding the rest unchanged. */
static uint8_t *rewrite_env(const uint8_t *env, size_t len, const uint8_t *from,
			    const uint8_t *to, size_t *out_len)
{
	Coex__Envelope *e = coex__envelope__unpack(NULL, len, env);
	uint8_t *out;

	assert_non_null(e);
	if (from)
		memcpy(e->from.data, from, 32);
	if (to)
		memcpy(e->to.data, to, 32);
	*out_len = coex__envelope__get_packed_size(e);
	out = malloc(*out_len);
	assert_non_null(out);
	coex__envelope__pack(e, out);
	coex__envelope__free_unpacked(e, NULL);
	return out;
}

/* Seals a body from A to B with message_seal. */
static uint8_t *seal_ab(const uint8_t *body, size_t blen, size_t *len, uint8_t hash[32])
{
	uint8_t *env = NULL;
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, MAX, &env, len, hash, NULL, NULL), 0);
	return env;
}

static int setup(void **state)
{
	uint8_t seed[32];
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 1, sizeof(seed));
	identity_from_seed(&A, seed);
	memset(seed, 2, sizeof(seed));
	identity_from_seed(&B, seed);
	memset(seed, 3, sizeof(seed));
	identity_from_seed(&C, seed);
	if (message_box_key(&A, B.pk, k_ab) || message_box_key(&B, A.pk, k_ba) ||
	    message_box_key(&C, A.pk, k_ca))
		return -1;
	return 0;
}

static void test_box_key_symmetric(void **state)
{
	(void)state;
	assert_memory_equal(k_ab, k_ba, 32);
	assert_memory_not_equal(k_ab, k_ca, 32);
}

static void test_round_trip(void **state)
{
	struct body_opts o = {.id = 9, .author = A.pk, .recipient = B.pk, .thread = 1,
			      .reply_to = 1, .title = "a proposal"};
	struct message_meta want;
	struct message_opened m;
	uint8_t hash[32], h2[32], from[32], to[32], id[16];
	uint32_t hops;
	size_t blen, elen, slen;
	uint8_t *body = make_body(&o, &blen), *env = seal_ab(body, blen, &elen, hash);
	uint8_t *sig_msg = make_signed(&A, body, blen, &slen);
	(void)state;

	crypto_hash_sha256(h2, env, elen);
	assert_memory_equal(hash, h2, 32);
	assert_int_equal(message_envelope_peek(env, elen, from, to, id, &hops), 0);
	assert_memory_equal(from, A.pk, 32);
	assert_memory_equal(to, B.pk, 32);
	assert_int_equal(hops, 2);
	assert_int_equal(message_body_meta(body, blen, &want), 0);
	assert_memory_equal(id, want.id, 16);

	assert_int_equal(message_open(&B, k_ba, env, elen, &m), 0);
	assert_memory_equal(m.hash, hash, 32);
	assert_memory_equal(&m.meta, &want, sizeof(want));
	assert_true(m.meta.has_thread && m.meta.has_reply_to);
	assert_int_equal(m.meta.kind, MESSAGE_KIND_PROPOSAL);
	assert_int_equal(m.body_len, blen);
	assert_memory_equal(m.body, body, blen);
	assert_true(m.body >= m.signed_msg && m.body + m.body_len <= m.signed_msg + m.signed_len);
	/* Ed25519 is deterministic: the Signed bytes are exactly what A would pack */
	assert_int_equal(m.signed_len, slen);
	assert_memory_equal(m.signed_msg, sig_msg, slen);
	assert_memory_equal(m.from, A.pk, 32);
	assert_memory_equal(m.to, B.pk, 32);
	assert_int_equal(m.hops_left, 2);
	message_opened_free(&m);
	assert_null(m.signed_msg);
	message_opened_free(&m);
	message_opened_free(NULL);
	free(sig_msg);
	free(env);
	free(body);
}

/* Flips every byte of a small envelope to every other value. Open must fail, or succeed with
 * the same content: only hops_left is outside the box and the signature, and relays change it. */
static void test_tamper_every_byte(void **state)
{
	struct body_opts o = {.id = 3, .author = A.pk, .recipient = B.pk};
	struct message_opened ref, m;
	size_t blen, elen, ok = 0;
	uint8_t hash[32], *body = make_body(&o, &blen), *env = seal_ab(body, blen, &elen, hash);
	uint8_t *t = malloc(elen);
	/* id, from and to come first, each a 2-byte field header and its data; then hops_left */
	const size_t hops_off = 3 * 2 + 16 + 32 + 32;
	(void)state;

	assert_non_null(t);
	assert_int_equal(env[hops_off], 4 << 3);
	assert_int_equal(message_open(&B, k_ba, env, elen, &ref), 0);
	for (size_t i = 0; i < elen; i++) {
		for (int v = 1; v < 256; v++) {
			memcpy(t, env, elen);
			t[i] ^= (uint8_t)v;
			if (message_open(&B, k_ba, t, elen, &m) != 0)
				continue;
			assert_true(i == hops_off || i == hops_off + 1);
			assert_memory_equal(&m.meta, &ref.meta, sizeof(m.meta));
			assert_int_equal(m.signed_len, ref.signed_len);
			assert_memory_equal(m.signed_msg, ref.signed_msg, ref.signed_len);
			assert_memory_equal(m.from, ref.from, 32);
			assert_memory_equal(m.to, ref.to, 32);
			assert_memory_not_equal(m.hash, ref.hash, 32);
			message_opened_free(&m);
			ok++;
		}
	}
	assert_true(ok > 0 && ok < 2 * 255);
	message_opened_free(&ref);
	free(t);
	free(env);
	free(body);
}

static void test_wrong_recipient(void **state)
{
	struct message_opened m;
	size_t blen, elen, flen;
	uint8_t hash[32], *body = body_ab(&blen), *env = seal_ab(body, blen, &elen, hash), *forged;
	(void)state;

	/* C is not the addressee */
	assert_int_equal(message_open(&C, k_ca, env, elen, &m), ERR_DENIED);
	/* C rewrites `to` to itself: the box was made for B */
	forged = rewrite_env(env, elen, NULL, C.pk, &flen);
	assert_int_equal(message_open(&C, k_ca, forged, flen, &m), ERR_CRYPTO);
	free(forged);
	/* Reflected to A as if from B: the box key is symmetric and opens, the signature does not
	 * verify under B's key */
	forged = rewrite_env(env, elen, B.pk, A.pk, &flen);
	assert_int_equal(message_open(&A, k_ab, forged, flen, &m), ERR_CRYPTO);
	free(forged);
	free(env);
	free(body);
}

/* A malicious author signs a body for C and seals it to B: B refuses it. */
static void test_retargeted_body(void **state)
{
	struct body_opts o = {.id = 4, .author = A.pk, .recipient = C.pk};
	struct message_opened m;
	size_t blen, slen, elen;
	uint8_t *body = make_body(&o, &blen), *s = make_signed(&A, body, blen, &slen);
	uint8_t *env = seal_raw(k_ab, A.pk, B.pk, 4, s, slen, &elen);
	(void)state;

	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_DENIED);
	free(env);
	free(s);
	free(body);
}

static void test_author_mismatch(void **state)
{
	struct body_opts o = {.id = 5, .author = C.pk, .recipient = B.pk};
	struct message_opened m;
	size_t blen, slen, elen;
	uint8_t hash[32], *env = NULL, *body = make_body(&o, &blen), *s;
	(void)state;

	/* message_seal refuses to sign someone else's body */
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, MAX, &env, &elen, hash, NULL, NULL), ERR_INVAL);
	assert_null(env);
	/* signed by A (env.from), but the body says C wrote it */
	s = make_signed(&A, body, blen, &slen);
	env = seal_raw(k_ab, A.pk, B.pk, 5, s, slen, &elen);
	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_DENIED);
	free(env);
	free(s);
	/* signed by C, the body's author, but sealed and sent by A */
	s = make_signed(&C, body, blen, &slen);
	env = seal_raw(k_ab, A.pk, B.pk, 5, s, slen, &elen);
	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_CRYPTO);
	free(env);
	free(s);
	free(body);
}

static void test_wrong_signer(void **state)
{
	struct message_opened m;
	size_t blen, slen, elen;
	uint8_t *body = body_ab(&blen), *s = make_signed(&C, body, blen, &slen);
	uint8_t *env = seal_raw(k_ab, A.pk, B.pk, 1, s, slen, &elen);
	(void)state;

	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_CRYPTO);
	free(env);
	free(s);
	free(body);
}

static void test_id_mismatch(void **state)
{
	struct message_opened m;
	size_t blen, slen, elen;
	uint8_t *body = body_ab(&blen), *s = make_signed(&A, body, blen, &slen);
	uint8_t *env = seal_raw(k_ab, A.pk, B.pk, 2, s, slen, &elen); /* the body's id is 1s */
	(void)state;

	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_PROTO);
	free(env);
	/* the same Signed under the right id opens: the helpers are sound */
	env = seal_raw(k_ab, A.pk, B.pk, 1, s, slen, &elen);
	assert_int_equal(message_open(&B, k_ba, env, elen, &m), 0);
	message_opened_free(&m);
	free(env);
	free(s);
	free(body);
}

/* S + L is the same signature to a lax verifier (malleability); libsodium refuses it. */
static void test_noncanonical_signature(void **state)
{
	static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
				      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
				      [31] = 0x10};
	struct message_opened m;
	struct message_meta meta;
	const uint8_t *b;
	size_t blen, slen, elen, bl;
	uint8_t sig[64], *body = body_ab(&blen), *s, *env;
	unsigned carry = 0;
	(void)state;

	assert_int_equal(identity_sign(&A, MESSAGE_DOMAIN_BODY, body, blen, sig), 0);
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)sig[32 + i] + L[i];
		sig[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	assert_int_equal(carry, 0);
	s = make_signed_sig(body, blen, sig, &slen);
	env = seal_raw(k_ab, A.pk, B.pk, 1, s, slen, &elen);
	assert_int_equal(message_open(&B, k_ba, env, elen, &m), ERR_CRYPTO);
	assert_int_equal(message_verify_signed(s, slen, &meta, &b, &bl), ERR_CRYPTO);
	free(env);
	free(s);
	free(body);
}

static void test_truncated(void **state)
{
	struct message_opened m;
	size_t blen, elen;
	uint8_t hash[32], *body = body_ab(&blen), *env = seal_ab(body, blen, &elen, hash), *t;
	(void)state;

	for (size_t n = 0; n < elen; n++) {
		/* a copy of exactly n bytes, so the sanitizers catch any read past the end */
		t = malloc(n ? n : 1);
		assert_non_null(t);
		memcpy(t, env, n);
		assert_int_not_equal(message_open(&B, k_ba, t, n, &m), 0);
		assert_int_equal(message_envelope_peek(t, n, NULL, NULL, NULL, NULL), ERR_PROTO);
		free(t);
	}
	free(env);
	free(body);
}

static void test_oversize(void **state)
{
	struct body_opts o = {.id = 6, .author = A.pk, .recipient = B.pk, .title = "x"};
	uint8_t hash[32], keep[32], *env = NULL, *env2 = NULL;
	size_t blen, elen, elen2 = 12345;
	uint8_t *body = make_body(&o, &blen);
	(void)state;

	env = seal_ab(body, blen, &elen, hash);
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, elen, &env2, &elen2, hash, NULL, NULL), 0);
	assert_int_equal(elen2, elen);
	free(env2);
	env2 = NULL;
	elen2 = 12345;
	memcpy(keep, hash, 32);
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, elen - 1, &env2, &elen2, hash, NULL, NULL),
			 ERR_TOOBIG);
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, blen - 1, &env2, &elen2, hash, NULL, NULL),
			 ERR_TOOBIG);
	assert_int_equal(message_seal(&A, k_ab, body, blen, 2, 0, &env2, &elen2, hash, NULL, NULL), ERR_TOOBIG);
	assert_null(env2);
	assert_int_equal(elen2, 12345);
	assert_memory_equal(hash, keep, 32);
	free(env);
	free(body);
}

static void test_verify_signed(void **state)
{
	struct body_opts fo = {.id = 7, .author = A.pk, .recipient = B.pk, .forwarded = 1};
	struct message_meta meta;
	const uint8_t *b = NULL;
	size_t blen, slen, fblen, bl = 0, n;
	uint8_t *body = body_ab(&blen), *s = make_signed(&A, body, blen, &slen), *t;
	uint8_t *fbody = make_body(&fo, &fblen);
	(void)state;

	assert_int_equal(message_verify_signed(s, slen, &meta, &b, &bl), 0);
	assert_true(b > s && b + bl <= s + slen);
	assert_int_equal(bl, blen);
	assert_memory_equal(b, body, blen);
	assert_memory_equal(meta.author, A.pk, 32);
	assert_int_equal(meta.kind, MESSAGE_KIND_PROPOSAL);

	/* any flipped bit fails */
	t = malloc(slen + 2);
	assert_non_null(t);
	for (size_t i = 0; i < slen; i++) {
		memcpy(t, s, slen);
		t[i] ^= 0x01;
		assert_int_not_equal(message_verify_signed(t, slen, &meta, &b, &bl), 0);
	}
	/* not canonical: a trailing unknown field, or the fields in the other order */
	memcpy(t, s, slen);
	t[slen] = 3 << 3;
	t[slen + 1] = 1;
	assert_int_equal(message_verify_signed(t, slen + 2, &meta, &b, &bl), ERR_PROTO);
	memcpy(t, s + slen - 66, 66);
	memcpy(t + 66, s, slen - 66);
	assert_int_equal(message_verify_signed(t, slen, &meta, &b, &bl), ERR_PROTO);
	assert_int_equal(message_verify_signed(t, 0, &meta, &b, &bl), ERR_PROTO);
	free(t);
	free(s);

	/* signed by someone other than the body's author */
	s = make_signed(&C, body, blen, &slen);
	assert_int_equal(message_verify_signed(s, slen, &meta, &b, &bl), ERR_CRYPTO);
	free(s);
	/* a signature of the wrong length */
	{
		Coex__Signed m = COEX__SIGNED__INIT;
		uint8_t sig[63] = {0}, buf[512];
		m.body = (ProtobufCBinaryData){blen, body};
		m.signature = (ProtobufCBinaryData){sizeof(sig), sig};
		n = coex__signed__pack(&m, buf);
		assert_int_equal(message_verify_signed(buf, n, &meta, &b, &bl), ERR_PROTO);
	}
	/* a Forwarded body verifies the same way */
	s = make_signed(&A, fbody, fblen, &slen);
	assert_int_equal(message_verify_signed(s, slen, &meta, &b, &bl), 0);
	assert_int_equal(meta.kind, MESSAGE_KIND_FORWARDED);
	free(s);
	free(fbody);
	free(body);
}

/* Packs a body whose header fields have the given lengths (any content). */
static size_t pack_body_lens(size_t id, size_t author, size_t rcpt, size_t thread, size_t reply,
			     int has_kind, uint8_t *buf, size_t cap)
{
	static uint8_t junk[64];
	Coex__Body b = COEX__BODY__INIT;
	Coex__Response resp = COEX__RESPONSE__INIT;

	b.id = (ProtobufCBinaryData){id, junk};
	b.author = (ProtobufCBinaryData){author, junk};
	b.recipient = (ProtobufCBinaryData){rcpt, junk};
	b.thread = (ProtobufCBinaryData){thread, junk};
	b.reply_to = (ProtobufCBinaryData){reply, junk};
	if (has_kind) {
		b.kind_case = COEX__BODY__KIND_RESPONSE;
		b.response = &resp;
	}
	assert_true(coex__body__get_packed_size(&b) <= cap);
	return coex__body__pack(&b, buf);
}

static void test_body_meta(void **state)
{
	static const size_t bad[][6] = {
		{15, 32, 32, 0, 0, 1}, {17, 32, 32, 0, 0, 1}, {0, 32, 32, 0, 0, 1},
		{16, 31, 32, 0, 0, 1}, {16, 32, 33, 0, 0, 1}, {16, 32, 0, 0, 0, 1},
		{16, 32, 32, 15, 0, 1}, {16, 32, 32, 32, 0, 1}, {16, 32, 32, 0, 31, 1},
		{16, 32, 32, 0, 16, 1}, {16, 32, 32, 16, 32, 0},
	};
	struct message_meta meta, keep;
	size_t blen, n;
	uint8_t *body = body_ab(&blen), buf[512];
	(void)state;

	assert_int_equal(message_body_meta(body, blen, &meta), 0);
	assert_false(meta.has_thread || meta.has_reply_to);
	assert_int_equal(meta.created_ms, 1700000000000ull);
	assert_int_equal(meta.expires_ms, 1800000000000ull);
	n = pack_body_lens(16, 32, 32, 16, 32, 1, buf, sizeof(buf));
	assert_int_equal(message_body_meta(buf, n, &meta), 0);
	assert_true(meta.has_thread && meta.has_reply_to);
	assert_int_equal(meta.kind, MESSAGE_KIND_RESPONSE);

	keep = meta;
	assert_int_equal(message_body_meta(buf, 0, &meta), ERR_PROTO);
	memset(buf, 0xff, 16);
	assert_int_equal(message_body_meta(buf, 16, &meta), ERR_PROTO);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		n = pack_body_lens(bad[k][0], bad[k][1], bad[k][2], bad[k][3], bad[k][4],
				   (int)bad[k][5], buf, sizeof(buf));
		assert_int_equal(message_body_meta(buf, n, &meta), ERR_PROTO);
	}
	assert_memory_equal(&meta, &keep, sizeof(meta));
	free(body);
}

static void test_box_key_low_order(void **state)
{
	static const char *small[] = {
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	};
	uint8_t pk[32], key[32], zero[32] = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		tu_hex_exact(small[i], pk, sizeof(pk));
		memset(key, 0, sizeof(key));
		assert_int_equal(message_box_key(&A, pk, key), ERR_CRYPTO);
		assert_memory_equal(key, zero, 32);
	}
}

static void test_peek_garbage(void **state)
{
	struct message_opened m;
	uint8_t junk[200];
	(void)state;

	for (int i = 0; i < 50; i++) {
		randombytes_buf(junk, sizeof(junk));
		assert_int_not_equal(message_open(&B, k_ba, junk, sizeof(junk), &m), 0);
	}
	memset(junk, 0, sizeof(junk));
	assert_int_equal(message_envelope_peek(junk, 0, NULL, NULL, NULL, NULL), ERR_PROTO);
	assert_int_equal(message_open(&B, k_ba, junk, 0, &m), ERR_PROTO);
}

/* Ids: the time in front, big-endian, so ids of later times sort after; the rest random. */
static void test_id_new(void **state)
{
	uint8_t a[MESSAGE_ID_LEN], b[MESSAGE_ID_LEN], c[MESSAGE_ID_LEN];
	const uint8_t t[6] = {0x01, 0x9a, 0xb3, 0xc4, 0xd5, 0xe6};
	(void)state;

	message_id_new(0x019ab3c4d5e6ULL, a);
	assert_memory_equal(a, t, sizeof(t));
	message_id_new(0x019ab3c4d5e6ULL, b);
	assert_memory_equal(b, t, sizeof(t));
	assert_memory_not_equal(a + 6, b + 6, MESSAGE_ID_LEN - 6); /* 2^-80 to fail */
	message_id_new(0x019ab3c4d5e7ULL, c);
	assert_true(memcmp(c, a, MESSAGE_ID_LEN) > 0 && memcmp(c, b, MESSAGE_ID_LEN) > 0);
	message_id_new(0x0100ffffffffffffULL, c); /* only the low 48 bits are kept */
	assert_memory_equal(c, "\xff\xff\xff\xff\xff\xff", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_box_key_symmetric),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_wrong_recipient),
		cmocka_unit_test(test_retargeted_body),
		cmocka_unit_test(test_author_mismatch),
		cmocka_unit_test(test_wrong_signer),
		cmocka_unit_test(test_id_mismatch),
		cmocka_unit_test(test_noncanonical_signature),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_verify_signed),
		cmocka_unit_test(test_body_meta),
		cmocka_unit_test(test_box_key_low_order),
		cmocka_unit_test(test_peek_garbage),
		cmocka_unit_test(test_id_new),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
