/* Noise_IK_25519_ChaChaPoly_BLAKE2b, without I/O.
 *
 *   IK:
 *     <- s
 *     ...
 *     -> e, es, s, ss      (initiation: initiator's payload, not KCI-resistant)
 *     <- e, ee, se         (response)
 *
 * Bytes in, bytes out: the caller frames messages and moves them. Randomness for the
 * ephemeral key comes from libsodium unless noise_handshake_set_ephemeral() injected one
 * (tests). All secrets live inside the structs and are wiped by the *_wipe functions.
 * Every function returns 0 or a negative ERR_* code (lib/err.h) and writes its
 * out-parameters only on success. A failed handshake step leaves the state unusable:
 * errors found before a step starts (ERR_STATE, ERR_PROTO for a too-short message,
 * ERR_TOOBIG) leave hs unchanged, so the caller may retry or drop the message; a failure
 * during the step (ERR_CRYPTO, ERR_LIMIT) wipes hs, and every later call on it returns
 * ERR_STATE. Output buffers (out, payload) may be partly written or zeroed on failure;
 * the *_len out-parameters are written only on success. */
#ifndef COEX_CRYPTO_NOISE_H
#define COEX_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NOISE_DH_LEN = 32,
	NOISE_KEY_LEN = 32,
	NOISE_HASH_LEN = 64,
	NOISE_TAG_LEN = 16,
	NOISE_MAX_MSG = 65535,
	/* initiation = e (32) + enc s (48) + enc payload (n + 16) */
	NOISE_INITIATION_OVERHEAD = 32 + 48 + 16,
	/* response = e (32) + enc payload (n + 16) */
	NOISE_RESPONSE_OVERHEAD = 32 + 16,
};

enum noise_role { NOISE_INITIATOR = 1, NOISE_RESPONDER = 2 };

struct noise_cipher {
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
	bool has_key;
};

struct noise_handshake {
	enum noise_role role;
	int step; /* which message comes next; internal */
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	struct noise_cipher cs;
	uint8_t s_priv[NOISE_DH_LEN], s_pub[NOISE_DH_LEN];
	uint8_t e_priv[NOISE_DH_LEN], e_pub[NOISE_DH_LEN];
	bool e_injected;
	uint8_t rs[NOISE_DH_LEN]; /* remote static: given (initiator) or learnt (responder) */
	uint8_t re[NOISE_DH_LEN]; /* remote ephemeral */
	int (*ss_lookup)(void *arg, const uint8_t rs[NOISE_DH_LEN], uint8_t ss[NOISE_DH_LEN]);
	void *ss_arg;
};

/* The two transport ciphers and the handshake hash, after Split(). */
struct noise_session {
	struct noise_cipher send;
	struct noise_cipher recv;
	uint8_t handshake_hash[NOISE_HASH_LEN];
};

/* Initializes a handshake. s_priv and s_pub are this side's X25519 key pair (the caller keeps
 * s_pub: computing it here would cost a scalar multiplication per handshake; a pub that does
 * not match priv only makes the handshake fail). For the initiator rs (the responder's X25519
 * public key) is required; the responder passes NULL. Returns 0 or ERR_INVAL. */
int noise_handshake_init(struct noise_handshake *hs, enum noise_role role,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t s_priv[NOISE_DH_LEN], const uint8_t s_pub[NOISE_DH_LEN],
			 const uint8_t *rs);

/* X25519 as Noise's DH(): out = priv * pub. Returns 0, or ERR_CRYPTO for an all-zero result
 * (a low-order pub), which is refused. */
int noise_dh(uint8_t out[NOISE_DH_LEN], const uint8_t priv[NOISE_DH_LEN],
	     const uint8_t pub[NOISE_DH_LEN]);

/* A precomputed ss. IK's ss = DH(s, rs) is the same in every handshake between two static
 * keys, so a node may compute it once per partner (WireGuard does so per peer) and hand it in
 * here: at the ss token (the initiation, either role) lookup(arg, rs, ss) is asked first; it
 * writes exactly noise_dh(ss, s_priv, rs) and returns 0, or returns nonzero for "not known",
 * and ss is computed. It must not keep rs or change state. Call after noise_handshake_init(),
 * which clears it; lookup and arg must stay valid until that message is written or read,
 * after which hs forgets them. */
void noise_handshake_set_ss_lookup(struct noise_handshake *hs,
				   int (*lookup)(void *arg, const uint8_t rs[NOISE_DH_LEN],
						 uint8_t ss[NOISE_DH_LEN]),
				   void *arg);

/* Tests only: use e_priv as the ephemeral private key instead of a random one.
 * Call after noise_handshake_init(), which clears it. */
void noise_handshake_set_ephemeral(struct noise_handshake *hs, const uint8_t e_priv[NOISE_DH_LEN]);

/* Initiator: writes the initiation (-> e, es, s, ss, payload) into out.
 * Returns 0, ERR_STATE (wrong role/step), ERR_TOOBIG (out_cap or NOISE_MAX_MSG exceeded),
 * ERR_CRYPTO (a DH gave the all-zero output). */
int noise_create_initiation(struct noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			    uint8_t *out, size_t out_cap, size_t *out_len);

/* Responder: reads an initiation, learning hs->rs and hs->re, and decrypts the payload into
 * payload (payload_cap >= msg_len - NOISE_INITIATION_OVERHEAD). The payload is NOT
 * KCI-resistant: use it only to decide whether to answer.
 * Returns 0, ERR_STATE, ERR_PROTO (too short), ERR_TOOBIG, ERR_CRYPTO (decryption failed). */
int noise_consume_initiation(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
			     uint8_t *payload, size_t payload_cap, size_t *payload_len);

/* Responder: writes the response (<- e, ee, se, payload). Same errors as create_initiation. */
int noise_create_response(struct noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			  uint8_t *out, size_t out_cap, size_t *out_len);

/* Initiator: reads the response and decrypts its payload. Same errors as consume_initiation. */
int noise_consume_response(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
			   uint8_t *payload, size_t payload_cap, size_t *payload_len);

/* After both handshake messages: derives the transport ciphers (initiator sends with the
 * first, as Noise's Split()), copies the handshake hash, and wipes hs.
 * Returns 0 or ERR_STATE. */
int noise_handshake_split(struct noise_handshake *hs, struct noise_session *out);

/* Encrypts a transport message: out gets len + NOISE_TAG_LEN bytes. Empty associated data.
 * Returns 0, ERR_TOOBIG (out_cap, or len + tag > NOISE_MAX_MSG), ERR_LIMIT (nonce exhausted:
 * n = 2^64-1 is reserved), ERR_STATE (the cipher has no key, e.g. it was wiped). */
int noise_session_encrypt(struct noise_cipher *c, const uint8_t *in, size_t len,
			  uint8_t *out, size_t out_cap, size_t *out_len);

/* Decrypts a transport message: out gets len - NOISE_TAG_LEN bytes. The nonce advances only
 * on success. Returns 0, ERR_PROTO (shorter than a tag), ERR_TOOBIG, ERR_CRYPTO, ERR_LIMIT,
 * ERR_STATE (no key). */
int noise_session_decrypt(struct noise_cipher *c, const uint8_t *in, size_t len,
			  uint8_t *out, size_t out_cap, size_t *out_len);

/* Noise's Rekey(): k = ENCRYPT(k, maxnonce, empty, zeros)[0..32]; n is kept. Both sides
 * must rekey the matching ciphers at the same point in the stream. No-op without a key. */
void noise_cipher_rekey(struct noise_cipher *c);

/* Zero all state, secrets included. Both accept NULL. */
void noise_handshake_wipe(struct noise_handshake *hs);
void noise_session_wipe(struct noise_session *s);

#endif
