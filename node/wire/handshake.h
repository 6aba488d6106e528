/* The coex link handshake on top of Noise IK, without I/O: Hello payloads, identity
 * binding, clock tolerance, replay and admission checks. The caller moves the bytes.
 *
 *   initiator                                   responder
 *   handshake_initiate  -- initiation -->       handshake_respond (admit? else silence)
 *   handshake_complete  <-- response ---
 *   first transport msg -- confirm ---->        (link authenticated only now)
 */
#ifndef COEX_WIRE_HANDSHAKE_H
#define COEX_WIRE_HANDSHAKE_H

#include "crypto/identity.h"
#include "crypto/noise.h"
#include "wire/hello.h"

struct replay_cache;

/* What a node keeps per partner so that a handshake with it needs neither the Ed25519 ->
 * X25519 conversion nor the static-static DH (Noise's ss, the same in every handshake of the
 * pair): about 70 us saved on each side. Made once when the partner is loaded or added;
 * holds a secret (ss), so wiped when the partner goes away. */
struct handshake_partner {
	uint8_t pk[32];                 /* its Ed25519 identity */
	uint8_t x_pk[32];               /* its X25519 form: the partner's Noise static key */
	uint8_t ss[NOISE_DH_LEN];       /* DH(our static key, x_pk) */
};

/* Fills hp for the partner pk of self. Returns 0 or ERR_CRYPTO (pk not a valid key); hp is
 * written only on success. */
int handshake_partner_init(struct handshake_partner *hp, const struct identity *self,
			   const uint8_t pk[32]);
/* Zeroes hp. Accepts NULL. */
void handshake_partner_wipe(struct handshake_partner *hp);

/* Responder policy. admit() decides whether to answer an initiator whose Hello (identity
 * already bound to its Noise static key) arrived; it must not change any state, since the
 * initiation is not KCI-resistant. Returns 0 to answer, or a negative code naming why not. */
struct handshake_responder {
	const struct identity *self;
	const struct hello *hello;      /* ours, sent in the response */
	uint64_t now_ms;
	uint64_t skew_ms;               /* clock tolerance */
	struct replay_cache *replay;
	int (*admit)(void *arg, const struct hello *peer);
	/* Optional (NULL: every initiator takes the computed path): the partner whose Noise
	 * static key is x_pk, or NULL for anyone else (an invite's joiner). Must not change any
	 * state; the result must stay valid for the call to handshake_respond(). */
	const struct handshake_partner *(*partner)(void *arg, const uint8_t x_pk[32]);
	void *arg;                      /* for admit() and partner() */
};

/* Initiator: starts a handshake with peer (from handshake_partner_init() with the same self);
 * writes the initiation into out. Returns 0, ERR_TOOBIG, ERR_INVAL. */
int handshake_initiate(struct noise_handshake *hs, const struct identity *self,
		       const struct handshake_partner *peer, const struct hello *mine, uint8_t *out,
		       size_t out_cap, size_t *out_len);

/* Initiator: reads the response; checks the responder's Hello names peer_pk and a common
 * protocol version; derives the session (hs is wiped). Returns 0, ERR_CRYPTO (decryption),
 * ERR_PROTO (bad Hello), ERR_DENIED (wrong identity or version). */
int handshake_complete(struct noise_handshake *hs, const uint8_t peer_pk[32], const uint8_t *msg,
		       size_t len, struct hello *peer_out, struct noise_session *sess_out);

/* Responder: reads an initiation and, if every check passes, writes the response into out and
 * derives the session (hs is wiped). A partner known to rsp->partner() costs no ss DH and no
 * key conversion. Checks in order: decryption (ERR_CRYPTO), Hello
 * (ERR_PROTO), identity bound to the Noise static key and a common version (ERR_PROTO),
 * timestamp within skew (ERR_EXPIRED), admit() (its code), replay (ERR_REPLAY).
 * On any error nothing must be sent back. peer_out is written only on success. */
int handshake_respond(struct noise_handshake *hs, const struct handshake_responder *rsp,
		      const uint8_t *msg, size_t len, struct hello *peer_out, uint8_t *out,
		      size_t out_cap, size_t *out_len, struct noise_session *sess_out);

#endif
