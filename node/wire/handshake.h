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
	void *arg;
};

/* Initiator: starts a handshake with the peer whose Ed25519 key is peer_pk; writes the
 * initiation into out. Returns 0, ERR_CRYPTO (peer_pk not a valid key), ERR_TOOBIG, ERR_INVAL. */
int handshake_initiate(struct noise_handshake *hs, const struct identity *self,
		       const uint8_t peer_pk[32], const struct hello *mine, uint8_t *out,
		       size_t out_cap, size_t *out_len);

/* Initiator: reads the response; checks the responder's Hello names peer_pk and a common
 * protocol version; derives the session (hs is wiped). Returns 0, ERR_CRYPTO (decryption),
 * ERR_PROTO (bad Hello), ERR_DENIED (wrong identity or version). */
int handshake_complete(struct noise_handshake *hs, const uint8_t peer_pk[32], const uint8_t *msg,
		       size_t len, struct hello *peer_out, struct noise_session *sess_out);

/* Responder: reads an initiation and, if every check passes, writes the response into out and
 * derives the session (hs is wiped). Checks in order: decryption (ERR_CRYPTO), Hello
 * (ERR_PROTO), identity bound to the Noise static key and a common version (ERR_PROTO),
 * timestamp within skew (ERR_EXPIRED), admit() (its code), replay (ERR_REPLAY).
 * On any error nothing must be sent back. peer_out is written only on success. */
int handshake_respond(struct noise_handshake *hs, const struct handshake_responder *rsp,
		      const uint8_t *msg, size_t len, struct hello *peer_out, uint8_t *out,
		      size_t out_cap, size_t *out_len, struct noise_session *sess_out);

#endif
