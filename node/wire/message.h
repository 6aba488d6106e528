/* Messages (design.md section 4): a Body, composed elsewhere, signed by its author
 * (Signed = {body, Ed25519 over "coex/1/body" || body}), encrypted to its recipient with a
 * precomputed crypto_box key and carried in an Envelope {id, from, to, hops_left, nonce,
 * sealed}. The envelope's SHA-256 names the message everywhere.
 *
 * Verify first, decode after: opening authenticates the box and the signature over the body
 * bytes verbatim (never re-encoded) before the body is decoded. The generated protobuf types
 * stay inside message.c. No I/O, no logging. */
#ifndef COEX_WIRE_MESSAGE_H
#define COEX_WIRE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity;

#define MESSAGE_DOMAIN_BODY "coex/1/body"   /* every body signature covers it */

enum {
	MESSAGE_ID_LEN = 16,
	MESSAGE_KEY_LEN = 32,      /* Ed25519 public keys (author, recipient, from, to) */
	MESSAGE_HASH_LEN = 32,     /* SHA-256 of envelope bytes */
	MESSAGE_SIG_LEN = 64,
	MESSAGE_NONCE_LEN = 24,    /* crypto_box nonce */
	MESSAGE_BOX_KEY_LEN = 32,  /* crypto_box_beforenm shared key */
};

enum message_kind {
	MESSAGE_KIND_PROPOSAL = 1,
	MESSAGE_KIND_RESPONSE,
	MESSAGE_KIND_REFERRAL,
	MESSAGE_KIND_REFERRAL_ANSWER,
	MESSAGE_KIND_FORWARDED,
};

/* A Body's header fields; the kind-specific part is decoded from the body bytes elsewhere. */
struct message_meta {
	uint8_t id[MESSAGE_ID_LEN];
	uint8_t author[MESSAGE_KEY_LEN];
	uint8_t recipient[MESSAGE_KEY_LEN];
	uint64_t created_ms, expires_ms;  /* expires_ms 0: never */
	bool has_thread;
	uint8_t thread[MESSAGE_ID_LEN];
	bool has_reply_to;
	uint8_t reply_to[MESSAGE_HASH_LEN];
	enum message_kind kind;
};

/* An opened envelope. Owns signed_msg; body points into it. Free with message_opened_free. */
struct message_opened {
	uint8_t hash[MESSAGE_HASH_LEN];   /* SHA-256 of the envelope bytes as received */
	struct message_meta meta;
	uint8_t *signed_msg;              /* the Signed bytes, verbatim (malloc'd) */
	size_t signed_len;
	const uint8_t *body;              /* the Body bytes, verbatim, inside signed_msg */
	size_t body_len;
	uint8_t signature[MESSAGE_SIG_LEN];
	uint32_t hops_left;
	uint8_t from[MESSAGE_KEY_LEN], to[MESSAGE_KEY_LEN];
};

/* Decodes a Body and validates its header: id exactly 16 bytes, author and recipient 32,
 * thread empty or 16, reply_to empty or 32, one kind set. Does not check any signature.
 * Returns 0, ERR_PROTO or ERR_NOMEM. */
int message_body_meta(const uint8_t *body, size_t len, struct message_meta *out);

/* Precomputes the crypto_box key between self's X25519 secret and the X25519 form of
 * peer_pk (an Ed25519 key). Costs ~70 us: callers cache it per peer. The key is the same in
 * both directions. Returns 0 or ERR_CRYPTO (peer_pk not a valid point, or of low order). */
int message_box_key(const struct identity *self, const uint8_t peer_pk[MESSAGE_KEY_LEN],
		    uint8_t key[MESSAGE_BOX_KEY_LEN]);

/* Signs body (its author must be author->pk) and seals it to the body's recipient under
 * box_key (message_box_key with that recipient; not checked here) with a random nonce.
 * On success *env_out is a malloc'd envelope of *env_len <= max_bytes bytes (the caller
 * frees it) and hash_out its SHA-256. If signed_out is not NULL it receives the plaintext
 * Signed bytes (malloc'd, *signed_len bytes; the caller frees them).
 * Returns 0, ERR_PROTO (body header invalid), ERR_INVAL (body author is not author),
 * ERR_TOOBIG (the envelope would exceed max_bytes), ERR_CRYPTO or ERR_NOMEM. */
int message_seal(const struct identity *author, const uint8_t box_key[MESSAGE_BOX_KEY_LEN],
		 const uint8_t *body, size_t body_len, uint32_t hops_left, size_t max_bytes,
		 uint8_t **env_out, size_t *env_len, uint8_t hash_out[MESSAGE_HASH_LEN],
		 uint8_t **signed_out, size_t *signed_len);

/* A new Body id: 6 bytes of now_ms (milliseconds since the Unix epoch, big-endian, its low
 * 48 bits) then 10 random bytes. Ids from one clock sort by time, so the stores' indexes
 * keyed by id append instead of touching a random page per message; 80 random bits keep
 * them unique. A departure from "16 random bytes" (docs/protocol.md): receivers must not
 * rely on either form, since other implementations may send random ids. */
void message_id_new(uint64_t now_ms, uint8_t id[MESSAGE_ID_LEN]);

/* Decodes only the envelope's header, for relays that cannot open it. Checks its shape
 * (id 16 bytes, from and to 32, nonce 24, sealed at least a box tag); authenticates nothing.
 * Any out-pointer may be NULL. Returns 0, ERR_PROTO or ERR_NOMEM. */
int message_envelope_peek(const uint8_t *env, size_t len, uint8_t from[MESSAGE_KEY_LEN],
			  uint8_t to[MESSAGE_KEY_LEN], uint8_t id[MESSAGE_ID_LEN],
			  uint32_t *hops_left);

/* Opens an envelope addressed to self. box_key is the key with the envelope's from (peek it
 * first to pick the cached key). In order: decode the envelope (ERR_PROTO), check it is for
 * self (ERR_DENIED), open the box (ERR_CRYPTO), decode Signed (ERR_PROTO), verify from's
 * signature over the body bytes verbatim (ERR_CRYPTO), then decode the body header (ERR_PROTO)
 * and check its author is from and its recipient is self (ERR_DENIED: the recipient is
 * signed, so a sealed message cannot be re-targeted) and its id is the envelope's (ERR_PROTO).
 * hops_left is not authenticated (relays change it). On success *out owns memory: free it
 * with message_opened_free. May also return ERR_NOMEM. */
int message_open(const struct identity *self, const uint8_t box_key[MESSAGE_BOX_KEY_LEN],
		 const uint8_t *env, size_t len, struct message_opened *out);

/* Wipes and frees what message_open allocated; accepts NULL and a zeroed struct. */
void message_opened_free(struct message_opened *m);

/* Verifies a Signed message on its own (a Forwarded body's original): decodes it, decodes its
 * body's header and checks the signature by the body's author over the body bytes verbatim.
 * *body points into signed_msg. The body field must come first in Signed, as every protobuf
 * encoder writes it. Returns 0, ERR_PROTO, ERR_CRYPTO or ERR_NOMEM. */
int message_verify_signed(const uint8_t *signed_msg, size_t len, struct message_meta *meta_out,
			  const uint8_t **body, size_t *body_len);

#endif
