#include "wire/message.h"
#include "crypto/identity.h"
#include "crypto/sha256.h"
#include "lib/err.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { MESSAGE_ID_TIME_LEN = 6 };

void message_id_new(uint64_t now_ms, uint8_t id[MESSAGE_ID_LEN])
{
	for (size_t i = 0; i < MESSAGE_ID_TIME_LEN; i++)
		id[i] = (uint8_t)(now_ms >> (8 * (MESSAGE_ID_TIME_LEN - 1 - i)));
	randombytes_buf(id + MESSAGE_ID_TIME_LEN, MESSAGE_ID_LEN - MESSAGE_ID_TIME_LEN);
}

/* Protobuf wire tags of Signed's two fields (field << 3 | length-delimited), and the longest
 * varint. Used only to check that Signed is in its canonical form. */
enum {
	SIGNED_TAG_BODY = 1 << 3 | 2,
	SIGNED_TAG_SIGNATURE = 2 << 3 | 2,
	VARINT_MAX = 10,
};

static int message_kind_from(Coex__Body__KindCase c, enum message_kind *kind)
{
	switch (c) {
	case COEX__BODY__KIND_PROPOSAL:
		*kind = MESSAGE_KIND_PROPOSAL;
		return 0;
	case COEX__BODY__KIND_RESPONSE:
		*kind = MESSAGE_KIND_RESPONSE;
		return 0;
	case COEX__BODY__KIND_REFERRAL:
		*kind = MESSAGE_KIND_REFERRAL;
		return 0;
	case COEX__BODY__KIND_REFERRAL_ANSWER:
		*kind = MESSAGE_KIND_REFERRAL_ANSWER;
		return 0;
	case COEX__BODY__KIND_FORWARDED:
		*kind = MESSAGE_KIND_FORWARDED;
		return 0;
	default:
		return ERR_PROTO;
	}
}

static int message_meta_copy(const Coex__Body *b, struct message_meta *m)
{
	if (b->id.len != MESSAGE_ID_LEN || b->author.len != MESSAGE_KEY_LEN ||
	    b->recipient.len != MESSAGE_KEY_LEN)
		return ERR_PROTO;
	if ((b->thread.len != 0 && b->thread.len != MESSAGE_ID_LEN) ||
	    (b->reply_to.len != 0 && b->reply_to.len != MESSAGE_HASH_LEN))
		return ERR_PROTO;
	if (message_kind_from(b->kind_case, &m->kind) != 0)
		return ERR_PROTO;
	memcpy(m->id, b->id.data, MESSAGE_ID_LEN);
	memcpy(m->author, b->author.data, MESSAGE_KEY_LEN);
	memcpy(m->recipient, b->recipient.data, MESSAGE_KEY_LEN);
	m->created_ms = b->created_ms;
	m->expires_ms = b->expires_ms;
	m->has_thread = b->thread.len != 0;
	if (m->has_thread)
		memcpy(m->thread, b->thread.data, MESSAGE_ID_LEN);
	m->has_reply_to = b->reply_to.len != 0;
	if (m->has_reply_to)
		memcpy(m->reply_to, b->reply_to.data, MESSAGE_HASH_LEN);
	return 0;
}

int message_body_meta(const uint8_t *body, size_t len, struct message_meta *out)
{
	Coex__Body *b = coex__body__unpack(NULL, len, body);
	struct message_meta m;
	int r;

	if (!b)
		return ERR_PROTO;
	memset(&m, 0, sizeof(m));
	r = message_meta_copy(b, &m);
	coex__body__free_unpacked(b, NULL);
	if (r == 0)
		*out = m;
	return r;
}

int message_box_key(const struct identity *self, const uint8_t peer_pk[MESSAGE_KEY_LEN],
		    uint8_t key[MESSAGE_BOX_KEY_LEN])
{
	uint8_t x_pk[32], k[crypto_box_BEFORENMBYTES];
	int r = ERR_CRYPTO;

	/* Both refuse low-order points: the conversion checks the Ed25519 key, beforenm an
	 * all-zero shared secret. */
	if (identity_pk_to_x25519(peer_pk, x_pk) != 0)
		goto out;
	if (crypto_box_beforenm(k, x_pk, self->x_sk) != 0)
		goto out;
	memcpy(key, k, sizeof(k));
	r = 0;
out:
	sodium_memzero(k, sizeof(k));
	return r;
}

/* Decodes an Envelope and checks its shape. On success the caller frees *out. */
static int message_envelope_decode(const uint8_t *env, size_t len, Coex__Envelope **out)
{
	Coex__Envelope *e = coex__envelope__unpack(NULL, len, env);

	if (!e)
		return ERR_PROTO;
	if (e->id.len != MESSAGE_ID_LEN || e->from.len != MESSAGE_KEY_LEN ||
	    e->to.len != MESSAGE_KEY_LEN || e->nonce.len != MESSAGE_NONCE_LEN ||
	    e->sealed.len < crypto_box_MACBYTES) {
		coex__envelope__free_unpacked(e, NULL);
		return ERR_PROTO;
	}
	*out = e;
	return 0;
}

int message_envelope_peek(const uint8_t *env, size_t len, uint8_t from[MESSAGE_KEY_LEN],
			  uint8_t to[MESSAGE_KEY_LEN], uint8_t id[MESSAGE_ID_LEN],
			  uint32_t *hops_left)
{
	Coex__Envelope *e;
	int r;

	if ((r = message_envelope_decode(env, len, &e)) != 0)
		return r;
	if (from)
		memcpy(from, e->from.data, MESSAGE_KEY_LEN);
	if (to)
		memcpy(to, e->to.data, MESSAGE_KEY_LEN);
	if (id)
		memcpy(id, e->id.data, MESSAGE_ID_LEN);
	if (hops_left)
		*hops_left = e->hops_left;
	coex__envelope__free_unpacked(e, NULL);
	return 0;
}

static size_t message_varint(uint8_t out[VARINT_MAX], uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Checks that s is exactly the canonical encoding of m: the body field, then the signature
 * field, nothing else. Then the Signed bytes are a function of (body, signature), so hashes
 * of them agree everywhere, and the body's offset in s is known without a second parser. */
static int message_signed_canonical(const uint8_t *s, size_t len, const Coex__Signed *m,
				    size_t *body_off)
{
	uint8_t pre[1 + VARINT_MAX];
	size_t n, blen = m->body.len;
	const uint8_t *p;

	pre[0] = SIGNED_TAG_BODY;
	n = 1 + message_varint(pre + 1, blen);
	/* blen <= len (decoded from s): no overflow */
	if (len != n + blen + 2 + MESSAGE_SIG_LEN || memcmp(s, pre, n) != 0 ||
	    memcmp(s + n, m->body.data, blen) != 0)
		return ERR_PROTO;
	p = s + n + blen;
	if (p[0] != SIGNED_TAG_SIGNATURE || p[1] != MESSAGE_SIG_LEN ||
	    memcmp(p + 2, m->signature.data, MESSAGE_SIG_LEN) != 0)
		return ERR_PROTO;
	*body_off = n;
	return 0;
}

/* Splits Signed bytes into the body (a pointer into s) and the signature. */
static int message_signed_split(const uint8_t *s, size_t len, const uint8_t **body,
				size_t *body_len, uint8_t sig[MESSAGE_SIG_LEN])
{
	Coex__Signed *m = coex__signed__unpack(NULL, len, s);
	size_t off;
	int r = ERR_PROTO;

	if (!m)
		return ERR_PROTO;
	if (m->body.len == 0 || m->signature.len != MESSAGE_SIG_LEN)
		goto out;
	if ((r = message_signed_canonical(s, len, m, &off)) != 0)
		goto out;
	*body = s + off;
	*body_len = m->body.len;
	memcpy(sig, m->signature.data, MESSAGE_SIG_LEN);
out:
	coex__signed__free_unpacked(m, NULL);
	return r;
}

/* Points e's fields at the header in meta and at nonce and sealed (contents may come later). */
static void message_envelope_fill(Coex__Envelope *e, struct message_meta *meta,
				  uint32_t hops_left, uint8_t nonce[MESSAGE_NONCE_LEN],
				  uint8_t *sealed, size_t sealed_len)
{
	e->id.data = meta->id;
	e->id.len = MESSAGE_ID_LEN;
	e->from.data = meta->author;
	e->from.len = MESSAGE_KEY_LEN;
	e->to.data = meta->recipient;
	e->to.len = MESSAGE_KEY_LEN;
	e->hops_left = hops_left;
	e->nonce.data = nonce;
	e->nonce.len = MESSAGE_NONCE_LEN;
	e->sealed.data = sealed;
	e->sealed.len = sealed_len;
}

int message_seal(const struct identity *author, const uint8_t box_key[MESSAGE_BOX_KEY_LEN],
		 const uint8_t *body, size_t body_len, uint32_t hops_left, size_t max_bytes,
		 uint8_t **env_out, size_t *env_len, uint8_t hash_out[MESSAGE_HASH_LEN],
		 uint8_t **signed_out, size_t *signed_len)
{
	Coex__Signed s = COEX__SIGNED__INIT;
	Coex__Envelope e = COEX__ENVELOPE__INIT;
	struct message_meta meta;
	uint8_t sig[MESSAGE_SIG_LEN], nonce[MESSAGE_NONCE_LEN];
	uint8_t *plain = NULL, *sealed = NULL, *env = NULL;
	size_t plain_len = 0, sealed_len, len;
	int r;

	if (body_len > max_bytes)
		return ERR_TOOBIG;
	if ((r = message_body_meta(body, body_len, &meta)) != 0)
		return r;
	if (memcmp(meta.author, author->pk, MESSAGE_KEY_LEN) != 0)
		return ERR_INVAL;

	/* Every size is known before anything is signed or allocated past max_bytes. */
	s.body.data = (uint8_t *)body;
	s.body.len = body_len;
	s.signature.data = sig;
	s.signature.len = sizeof(sig);
	plain_len = coex__signed__get_packed_size(&s);
	sealed_len = plain_len + crypto_box_MACBYTES;
	if (sealed_len > max_bytes)
		return ERR_TOOBIG;
	r = ERR_NOMEM;
	if (!(plain = malloc(plain_len)) || !(sealed = malloc(sealed_len)))
		goto out;
	message_envelope_fill(&e, &meta, hops_left, nonce, sealed, sealed_len);
	len = coex__envelope__get_packed_size(&e);
	if (len > max_bytes) {
		r = ERR_TOOBIG;
		goto out;
	}
	if (!(env = malloc(len)))
		goto out;

	if ((r = identity_sign(author, MESSAGE_DOMAIN_BODY, body, body_len, sig)) != 0)
		goto out;
	coex__signed__pack(&s, plain);
	randombytes_buf(nonce, sizeof(nonce));
	r = ERR_CRYPTO;
	if (crypto_box_easy_afternm(sealed, plain, plain_len, nonce, box_key) != 0)
		goto out;
	coex__envelope__pack(&e, env);
	sha256(hash_out, env, len);
	*env_out = env;
	*env_len = len;
	env = NULL;
	if (signed_out) { /* the author keeps its own signed copy, e.g. to show it later */
		*signed_out = plain;
		*signed_len = plain_len;
		plain = NULL;
	}
	r = 0;
out:
	if (plain)
		sodium_memzero(plain, plain_len);
	free(plain);
	free(sealed);
	free(env);
	return r;
}

/* Opens e's box and verifies what is inside; fills o (which then owns the plaintext). */
static int message_open_sealed(const struct identity *self, const uint8_t *box_key,
			       const Coex__Envelope *e, struct message_opened *o)
{
	size_t plain_len = e->sealed.len - crypto_box_MACBYTES;
	uint8_t *plain = malloc(plain_len ? plain_len : 1);
	int r = ERR_CRYPTO;

	if (!plain)
		return ERR_NOMEM;
	if (crypto_box_open_easy_afternm(plain, e->sealed.data, e->sealed.len, e->nonce.data,
					 box_key) != 0)
		goto out;
	if ((r = message_signed_split(plain, plain_len, &o->body, &o->body_len, o->signature)) != 0)
		goto out;
	if ((r = identity_verify(e->from.data, MESSAGE_DOMAIN_BODY, o->body, o->body_len,
				 o->signature)) != 0)
		goto out;
	/* Authenticated from here on. */
	if ((r = message_body_meta(o->body, o->body_len, &o->meta)) != 0)
		goto out;
	r = ERR_DENIED;
	if (memcmp(o->meta.author, e->from.data, MESSAGE_KEY_LEN) != 0 ||
	    memcmp(o->meta.recipient, self->pk, MESSAGE_KEY_LEN) != 0)
		goto out;
	r = ERR_PROTO;
	if (memcmp(o->meta.id, e->id.data, MESSAGE_ID_LEN) != 0)
		goto out;
	o->signed_msg = plain;
	o->signed_len = plain_len;
	plain = NULL;
	r = 0;
out:
	if (plain) {
		sodium_memzero(plain, plain_len);
		free(plain);
	}
	return r;
}

int message_open(const struct identity *self, const uint8_t box_key[MESSAGE_BOX_KEY_LEN],
		 const uint8_t *env, size_t len, struct message_opened *out)
{
	Coex__Envelope *e = NULL;
	struct message_opened o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = message_envelope_decode(env, len, &e)) != 0)
		goto out;
	if (memcmp(e->to.data, self->pk, MESSAGE_KEY_LEN) != 0) {
		r = ERR_DENIED;
		goto out;
	}
	if ((r = message_open_sealed(self, box_key, e, &o)) != 0)
		goto out;
	sha256(o.hash, env, len);
	o.hops_left = e->hops_left;
	memcpy(o.from, e->from.data, MESSAGE_KEY_LEN);
	memcpy(o.to, e->to.data, MESSAGE_KEY_LEN);
	*out = o;
out:
	coex__envelope__free_unpacked(e, NULL);
	sodium_memzero(&o, sizeof(o));
	return r;
}

void message_opened_free(struct message_opened *m)
{
	if (!m)
		return;
	if (m->signed_msg) {
		sodium_memzero(m->signed_msg, m->signed_len);
		free(m->signed_msg);
	}
	sodium_memzero(m, sizeof(*m));
}

int message_verify_signed(const uint8_t *signed_msg, size_t len, struct message_meta *meta_out,
			  const uint8_t **body, size_t *body_len)
{
	struct message_meta meta;
	uint8_t sig[MESSAGE_SIG_LEN];
	const uint8_t *b;
	size_t blen;
	int r;

	if ((r = message_signed_split(signed_msg, len, &b, &blen, sig)) != 0)
		return r;
	/* The signer is named inside what it signed, so the body is decoded first; nothing
	 * it says is used before the signature by that key is checked. */
	if ((r = message_body_meta(b, blen, &meta)) != 0)
		return r;
	if ((r = identity_verify(meta.author, MESSAGE_DOMAIN_BODY, b, blen, sig)) != 0)
		return r;
	*meta_out = meta;
	*body = b;
	*body_len = blen;
	return 0;
}
