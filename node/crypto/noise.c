/* Noise_IK_25519_ChaChaPoly_BLAKE2b (Noise spec rev 34), bytes in, bytes out.
 *
 * The handshake functions follow the spec's token order literally; each token is
 * commented. Only the pieces IK needs are here: no PSK, HKDF with two outputs. */
#include "crypto/noise.h"
#include "lib/err.h"

#include <sodium.h>
#include <string.h>

enum {
	NOISE_BLOCK_LEN = 128, /* BLAKE2b block, for HMAC */
	NOISE_NONCE_LEN = 12,  /* 4 zero bytes || 64-bit little-endian counter */
	NOISE_NONCE_PAD = 4,
	NOISE_ENC_S_LEN = NOISE_DH_LEN + NOISE_TAG_LEN,
};

/* Which message comes next (hs->step). Zero is a wiped, unusable state. */
enum { NOISE_STEP_INITIATION = 1, NOISE_STEP_RESPONSE = 2, NOISE_STEP_SPLIT = 3 };

static const char noise_protocol_name[] = "Noise_IK_25519_ChaChaPoly_BLAKE2b";

_Static_assert(sizeof(noise_protocol_name) - 1 <= NOISE_HASH_LEN, "name is padded, not hashed");
_Static_assert((int)NOISE_HASH_LEN <= (int)NOISE_BLOCK_LEN, "HMAC keys are never hashed down");
_Static_assert(NOISE_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES &&
	       NOISE_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES &&
	       NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_IETF_NPUBBYTES, "ChaChaPoly");

/* out = BLAKE2b-512(a || b || c); any part may be empty (libsodium accepts NULL, 0). */
static void noise_hash3(uint8_t out[NOISE_HASH_LEN], const uint8_t *a, size_t alen,
			const uint8_t *b, size_t blen, const uint8_t *c, size_t clen)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_blake2b_update(&st, a, alen);
	crypto_generichash_blake2b_update(&st, b, blen);
	crypto_generichash_blake2b_update(&st, c, clen);
	crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* HMAC-BLAKE2b (RFC 2104) of a || b. The spec's HMAC is this construction over the
 * plain hash with its 128-byte block; keyed BLAKE2b is a different function. Keys here
 * are always HASHLEN bytes, so they are only zero-padded, never hashed down. */
static void noise_hmac(uint8_t out[NOISE_HASH_LEN], const uint8_t key[NOISE_HASH_LEN],
		       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t ipad[NOISE_BLOCK_LEN], opad[NOISE_BLOCK_LEN], inner[NOISE_HASH_LEN];

	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (size_t i = 0; i < NOISE_HASH_LEN; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
	noise_hash3(inner, ipad, sizeof(ipad), a, alen, b, blen);
	noise_hash3(out, opad, sizeof(opad), inner, sizeof(inner), NULL, 0);
	sodium_memzero(ipad, sizeof(ipad));
	sodium_memzero(opad, sizeof(opad));
	sodium_memzero(inner, sizeof(inner));
}

/* The spec's HKDF with two outputs. out1 may alias ck: ck is read first. */
static void noise_hkdf(uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN],
		       const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp_key[NOISE_HASH_LEN];

	noise_hmac(temp_key, ck, ikm, ikm_len, NULL, 0);
	noise_hmac(out1, temp_key, &one, 1, NULL, 0);
	noise_hmac(out2, temp_key, out1, NOISE_HASH_LEN, &two, 1);
	sodium_memzero(temp_key, sizeof(temp_key));
}

static void noise_cipher_set(struct noise_cipher *c, const uint8_t k[NOISE_KEY_LEN])
{
	memcpy(c->k, k, NOISE_KEY_LEN);
	c->n = 0;
	c->has_key = true;
}

static void noise_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n)
{
	memset(nonce, 0, NOISE_NONCE_PAD);
	for (size_t i = 0; i < sizeof(n); i++)
		nonce[NOISE_NONCE_PAD + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, in): out gets len + NOISE_TAG_LEN bytes. */
static void noise_seal(const uint8_t k[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		       const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(nonce, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len, NULL, nonce, k);
}

/* EncryptWithAd(). n = 2^64-1 is reserved for Rekey(), so the counter stops before it. */
static int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
				const uint8_t *in, size_t len, uint8_t *out)
{
	if (c->n == UINT64_MAX)
		return ERR_LIMIT;
	noise_seal(c->k, c->n, ad, ad_len, in, len, out);
	c->n++;
	return 0;
}

/* DecryptWithAd(): len counts the tag. The counter advances only on success. */
static int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
				const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	if (c->n == UINT64_MAX)
		return ERR_LIMIT;
	noise_nonce(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, ad_len, nonce,
						      c->k) != 0)
		return ERR_CRYPTO;
	c->n++;
	return 0;
}

static void noise_mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t len)
{
	noise_hash3(hs->h, hs->h, NOISE_HASH_LEN, data, len, NULL, 0);
}

static void noise_mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASH_LEN];

	noise_hkdf(hs->ck, temp_k, hs->ck, ikm, len);
	noise_cipher_set(&hs->cs, temp_k); /* truncated to NOISE_KEY_LEN, as HASHLEN is 64 */
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* An all-zero result means a low-order public key: refused. */
int noise_dh(uint8_t out[NOISE_DH_LEN], const uint8_t priv[NOISE_DH_LEN],
	     const uint8_t pub[NOISE_DH_LEN])
{
	uint8_t shared[NOISE_DH_LEN];
	int r = ERR_CRYPTO;

	if (crypto_scalarmult_curve25519(shared, priv, pub) != 0 ||
	    sodium_is_zero(shared, sizeof(shared)))
		goto out;
	memcpy(out, shared, NOISE_DH_LEN);
	r = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	return r;
}

/* MixKey(DH(priv, pub)). */
static int noise_mix_dh(struct noise_handshake *hs, const uint8_t priv[NOISE_DH_LEN],
			const uint8_t pub[NOISE_DH_LEN])
{
	uint8_t shared[NOISE_DH_LEN];
	int r;

	if ((r = noise_dh(shared, priv, pub)) == 0)
		noise_mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return r;
}

/* MixKey(DH(s, rs)), from the caller's precomputed secret when it has one. */
static int noise_mix_ss(struct noise_handshake *hs)
{
	uint8_t ss[NOISE_DH_LEN];
	int r = 0;

	if (!hs->ss_lookup || hs->ss_lookup(hs->ss_arg, hs->rs, ss) != 0)
		r = noise_mix_dh(hs, hs->s_priv, hs->rs);
	else if (sodium_is_zero(ss, sizeof(ss))) /* noise_dh() never gives it: a broken lookup */
		r = ERR_CRYPTO;
	else
		noise_mix_key(hs, ss, sizeof(ss));
	sodium_memzero(ss, sizeof(ss));
	hs->ss_lookup = NULL; /* asked once: the caller's arg need not outlive this message */
	hs->ss_arg = NULL;
	return r;
}

/* Every EncryptAndHash in IK comes after es, so the cipher always has a key. */
static int noise_encrypt_and_hash(struct noise_handshake *hs, const uint8_t *in, size_t len,
				  uint8_t *out)
{
	int r;

	if ((r = noise_cipher_encrypt(&hs->cs, hs->h, NOISE_HASH_LEN, in, len, out)) != 0)
		return r;
	noise_mix_hash(hs, out, len + NOISE_TAG_LEN);
	return 0;
}

/* len counts the tag; out gets len - NOISE_TAG_LEN bytes. */
static int noise_decrypt_and_hash(struct noise_handshake *hs, const uint8_t *in, size_t len,
				  uint8_t *out)
{
	int r;

	if ((r = noise_cipher_decrypt(&hs->cs, hs->h, NOISE_HASH_LEN, in, len, out)) != 0)
		return r;
	noise_mix_hash(hs, in, len);
	return 0;
}

/* The e token when writing: a fresh (or injected) key pair, sent in clear and hashed. */
static int noise_write_e(struct noise_handshake *hs, uint8_t out[NOISE_DH_LEN])
{
	if (!hs->e_injected)
		randombytes_buf(hs->e_priv, sizeof(hs->e_priv));
	if (crypto_scalarmult_curve25519_base(hs->e_pub, hs->e_priv) != 0)
		return ERR_CRYPTO;
	memcpy(out, hs->e_pub, NOISE_DH_LEN);
	noise_mix_hash(hs, hs->e_pub, NOISE_DH_LEN);
	return 0;
}

static void noise_read_e(struct noise_handshake *hs, const uint8_t in[NOISE_DH_LEN])
{
	memcpy(hs->re, in, NOISE_DH_LEN);
	noise_mix_hash(hs, hs->re, NOISE_DH_LEN);
}

static int noise_check_step(const struct noise_handshake *hs, enum noise_role role, int step)
{
	return hs->role == role && hs->step == step ? 0 : ERR_STATE;
}

static int noise_check_write(size_t payload_len, size_t overhead, size_t out_cap)
{
	if (payload_len > NOISE_MAX_MSG - overhead || payload_len + overhead > out_cap)
		return ERR_TOOBIG;
	return 0;
}

static int noise_check_read(size_t msg_len, size_t overhead, size_t payload_cap)
{
	if (msg_len < overhead)
		return ERR_PROTO;
	if (msg_len > NOISE_MAX_MSG || msg_len - overhead > payload_cap)
		return ERR_TOOBIG;
	return 0;
}

int noise_handshake_init(struct noise_handshake *hs, enum noise_role role,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t s_priv[NOISE_DH_LEN], const uint8_t s_pub[NOISE_DH_LEN],
			 const uint8_t *rs)
{
	struct noise_handshake t;
	int r = ERR_INVAL;

	sodium_memzero(&t, sizeof(t));
	if (!hs || !s_priv || !s_pub || (!prologue && prologue_len))
		goto out;
	if (!(role == NOISE_INITIATOR && rs) && !(role == NOISE_RESPONDER && !rs))
		goto out;
	t.role = role;
	t.step = NOISE_STEP_INITIATION;
	memcpy(t.s_priv, s_priv, NOISE_DH_LEN);
	memcpy(t.s_pub, s_pub, NOISE_DH_LEN);
	/* InitializeSymmetric(): the name fits in HASHLEN, so h = name || zeros; ck = h */
	memcpy(t.h, noise_protocol_name, sizeof(noise_protocol_name) - 1);
	memcpy(t.ck, t.h, NOISE_HASH_LEN);
	noise_mix_hash(&t, prologue, prologue_len);
	/* <- s (pre-message: both sides hash the responder's static key) */
	if (rs)
		memcpy(t.rs, rs, NOISE_DH_LEN);
	noise_mix_hash(&t, role == NOISE_INITIATOR ? t.rs : t.s_pub, NOISE_DH_LEN);
	*hs = t;
	r = 0;
out:
	sodium_memzero(&t, sizeof(t));
	return r;
}

void noise_handshake_set_ephemeral(struct noise_handshake *hs, const uint8_t e_priv[NOISE_DH_LEN])
{
	memcpy(hs->e_priv, e_priv, NOISE_DH_LEN);
	hs->e_injected = true;
}

void noise_handshake_set_ss_lookup(struct noise_handshake *hs,
				   int (*lookup)(void *arg, const uint8_t rs[NOISE_DH_LEN],
						 uint8_t ss[NOISE_DH_LEN]),
				   void *arg)
{
	hs->ss_lookup = lookup;
	hs->ss_arg = arg;
}

int noise_create_initiation(struct noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			    uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t *p = out;
	int r;

	if ((r = noise_check_step(hs, NOISE_INITIATOR, NOISE_STEP_INITIATION)) != 0 ||
	    (r = noise_check_write(payload_len, NOISE_INITIATION_OVERHEAD, out_cap)) != 0)
		return r; /* nothing done yet: hs stays usable */
	/* e */
	if ((r = noise_write_e(hs, p)) != 0)
		goto out;
	p += NOISE_DH_LEN;
	/* es */
	if ((r = noise_mix_dh(hs, hs->e_priv, hs->rs)) != 0)
		goto out;
	/* s */
	if ((r = noise_encrypt_and_hash(hs, hs->s_pub, NOISE_DH_LEN, p)) != 0)
		goto out;
	p += NOISE_ENC_S_LEN;
	/* ss */
	if ((r = noise_mix_ss(hs)) != 0)
		goto out;
	/* payload */
	if ((r = noise_encrypt_and_hash(hs, payload, payload_len, p)) != 0)
		goto out;
	hs->step = NOISE_STEP_RESPONSE;
	*out_len = payload_len + NOISE_INITIATION_OVERHEAD;
out:
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}

int noise_consume_initiation(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
			     uint8_t *payload, size_t payload_cap, size_t *payload_len)
{
	const uint8_t *p = msg;
	int r;

	if ((r = noise_check_step(hs, NOISE_RESPONDER, NOISE_STEP_INITIATION)) != 0 ||
	    (r = noise_check_read(msg_len, NOISE_INITIATION_OVERHEAD, payload_cap)) != 0)
		return r; /* nothing done yet: hs stays usable */
	/* e */
	noise_read_e(hs, p);
	p += NOISE_DH_LEN;
	/* es */
	if ((r = noise_mix_dh(hs, hs->s_priv, hs->re)) != 0)
		goto out;
	/* s */
	if ((r = noise_decrypt_and_hash(hs, p, NOISE_ENC_S_LEN, hs->rs)) != 0)
		goto out;
	p += NOISE_ENC_S_LEN;
	/* ss */
	if ((r = noise_mix_ss(hs)) != 0)
		goto out;
	/* payload */
	if ((r = noise_decrypt_and_hash(hs, p, msg_len - (size_t)(p - msg), payload)) != 0)
		goto out;
	hs->step = NOISE_STEP_RESPONSE;
	*payload_len = msg_len - NOISE_INITIATION_OVERHEAD;
out:
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}

int noise_create_response(struct noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			  uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t *p = out;
	int r;

	if ((r = noise_check_step(hs, NOISE_RESPONDER, NOISE_STEP_RESPONSE)) != 0 ||
	    (r = noise_check_write(payload_len, NOISE_RESPONSE_OVERHEAD, out_cap)) != 0)
		return r; /* nothing done yet: hs stays usable */
	/* e */
	if ((r = noise_write_e(hs, p)) != 0)
		goto out;
	p += NOISE_DH_LEN;
	/* ee */
	if ((r = noise_mix_dh(hs, hs->e_priv, hs->re)) != 0)
		goto out;
	/* se */
	if ((r = noise_mix_dh(hs, hs->e_priv, hs->rs)) != 0)
		goto out;
	/* payload */
	if ((r = noise_encrypt_and_hash(hs, payload, payload_len, p)) != 0)
		goto out;
	hs->step = NOISE_STEP_SPLIT;
	*out_len = payload_len + NOISE_RESPONSE_OVERHEAD;
out:
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}

int noise_consume_response(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
			   uint8_t *payload, size_t payload_cap, size_t *payload_len)
{
	int r;

	if ((r = noise_check_step(hs, NOISE_INITIATOR, NOISE_STEP_RESPONSE)) != 0 ||
	    (r = noise_check_read(msg_len, NOISE_RESPONSE_OVERHEAD, payload_cap)) != 0)
		return r; /* nothing done yet: hs stays usable */
	/* e */
	noise_read_e(hs, msg);
	/* ee */
	if ((r = noise_mix_dh(hs, hs->e_priv, hs->re)) != 0)
		goto out;
	/* se */
	if ((r = noise_mix_dh(hs, hs->s_priv, hs->re)) != 0)
		goto out;
	/* payload */
	if ((r = noise_decrypt_and_hash(hs, msg + NOISE_DH_LEN, msg_len - NOISE_DH_LEN, payload)) != 0)
		goto out;
	hs->step = NOISE_STEP_SPLIT;
	*payload_len = msg_len - NOISE_RESPONSE_OVERHEAD;
out:
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}

int noise_handshake_split(struct noise_handshake *hs, struct noise_session *out)
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];
	struct noise_session s;
	bool initiator = hs->role == NOISE_INITIATOR;

	if (hs->step != NOISE_STEP_SPLIT) /* only reached with a valid role */
		return ERR_STATE;
	noise_hkdf(k1, k2, hs->ck, NULL, 0);
	/* the initiator sends with the first key, the responder with the second */
	noise_cipher_set(&s.send, initiator ? k1 : k2);
	noise_cipher_set(&s.recv, initiator ? k2 : k1);
	memcpy(s.handshake_hash, hs->h, NOISE_HASH_LEN);
	*out = s;
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(&s, sizeof(s));
	noise_handshake_wipe(hs);
	return 0;
}

int noise_session_encrypt(struct noise_cipher *c, const uint8_t *in, size_t len,
			  uint8_t *out, size_t out_cap, size_t *out_len)
{
	int r;

	if (!c->has_key)
		return ERR_STATE;
	if (len > NOISE_MAX_MSG - NOISE_TAG_LEN || len + NOISE_TAG_LEN > out_cap)
		return ERR_TOOBIG;
	if ((r = noise_cipher_encrypt(c, NULL, 0, in, len, out)) != 0)
		return r;
	*out_len = len + NOISE_TAG_LEN;
	return 0;
}

int noise_session_decrypt(struct noise_cipher *c, const uint8_t *in, size_t len,
			  uint8_t *out, size_t out_cap, size_t *out_len)
{
	int r;

	if (!c->has_key)
		return ERR_STATE;
	if (len < NOISE_TAG_LEN)
		return ERR_PROTO;
	if (len > NOISE_MAX_MSG || len - NOISE_TAG_LEN > out_cap)
		return ERR_TOOBIG;
	if ((r = noise_cipher_decrypt(c, NULL, 0, in, len, out)) != 0)
		return r;
	*out_len = len - NOISE_TAG_LEN;
	return 0;
}

void noise_cipher_rekey(struct noise_cipher *c)
{
	static const uint8_t zeros[NOISE_KEY_LEN];
	uint8_t k[NOISE_KEY_LEN + NOISE_TAG_LEN];

	if (!c->has_key)
		return;
	noise_seal(c->k, UINT64_MAX, NULL, 0, zeros, sizeof(zeros), k);
	memcpy(c->k, k, NOISE_KEY_LEN);
	sodium_memzero(k, sizeof(k));
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	if (hs)
		sodium_memzero(hs, sizeof(*hs));
}

void noise_session_wipe(struct noise_session *s)
{
	if (s)
		sodium_memzero(s, sizeof(*s));
}
