#include "wire/handshake.h"
#include "lib/err.h"
#include "wire/limits.h"
#include "wire/replay.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int handshake_version_ok(const struct hello *h)
{
	return h->version_min <= COEX_PROTOCOL_VERSION && COEX_PROTOCOL_VERSION <= h->version_max;
}

int handshake_initiate(struct noise_handshake *hs, const struct identity *self,
		       const uint8_t peer_pk[32], const struct hello *mine, uint8_t *out,
		       size_t out_cap, size_t *out_len)
{
	uint8_t payload[LIMIT_FRAME_MAX], rs[32];
	size_t plen;
	int r;

	if ((r = identity_pk_to_x25519(peer_pk, rs)) != 0)
		return r;
	if ((r = hello_encode(mine, payload, sizeof(payload), &plen)) != 0)
		return r;
	if ((r = noise_handshake_init(hs, NOISE_INITIATOR, (const uint8_t *)COEX_PROLOGUE,
				      strlen(COEX_PROLOGUE), self->x_sk, rs)) != 0)
		return r;
	return noise_create_initiation(hs, payload, plen, out, out_cap, out_len);
}

int handshake_complete(struct noise_handshake *hs, const uint8_t peer_pk[32], const uint8_t *msg,
		       size_t len, struct hello *peer_out, struct noise_session *sess_out)
{
	uint8_t payload[LIMIT_FRAME_MAX];
	struct hello peer;
	size_t plen;
	int r;

	if ((r = noise_consume_response(hs, msg, len, payload, sizeof(payload), &plen)) != 0)
		goto out;
	if ((r = hello_decode(payload, plen, &peer)) != 0)
		goto out;
	r = ERR_DENIED;
	if (sodium_memcmp(peer.identity, peer_pk, 32) != 0 || !handshake_version_ok(&peer))
		goto out;
	if ((r = noise_handshake_split(hs, sess_out)) != 0)
		goto out;
	*peer_out = peer;
out:
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}

/* Everything a responder checks before it may answer. */
static int handshake_check_initiator(struct noise_handshake *hs,
				     const struct handshake_responder *rsp, const struct hello *peer)
{
	uint8_t x_pk[32];
	uint64_t ts = peer->timestamp_ms, now = rsp->now_ms;
	int r;

	if (identity_pk_to_x25519(peer->identity, x_pk) != 0 ||
	    sodium_memcmp(x_pk, hs->rs, 32) != 0 || !handshake_version_ok(peer))
		return ERR_PROTO;
	if ((ts > now && ts - now > rsp->skew_ms) || (now > ts && now - ts > rsp->skew_ms))
		return ERR_EXPIRED;
	if ((r = rsp->admit(rsp->arg, peer)) != 0)
		return r;
	/* Within the tolerance window a repeated ephemeral key is a replay; outside it the
	 * timestamp check above already refuses the message. */
	return replay_cache_insert(rsp->replay, hs->re, now, 2 * rsp->skew_ms);
}

int handshake_respond(struct noise_handshake *hs, const struct handshake_responder *rsp,
		      const uint8_t *msg, size_t len, struct hello *peer_out, uint8_t *out,
		      size_t out_cap, size_t *out_len, struct noise_session *sess_out)
{
	uint8_t payload[LIMIT_FRAME_MAX];
	struct hello peer;
	size_t plen;
	int r;

	if ((r = noise_handshake_init(hs, NOISE_RESPONDER, (const uint8_t *)COEX_PROLOGUE,
				      strlen(COEX_PROLOGUE), rsp->self->x_sk, NULL)) != 0)
		goto out;
	if ((r = noise_consume_initiation(hs, msg, len, payload, sizeof(payload), &plen)) != 0)
		goto out;
	if ((r = hello_decode(payload, plen, &peer)) != 0)
		goto out;
	if ((r = handshake_check_initiator(hs, rsp, &peer)) != 0)
		goto out;
	if ((r = hello_encode(rsp->hello, payload, sizeof(payload), &plen)) != 0)
		goto out;
	if ((r = noise_create_response(hs, payload, plen, out, out_cap, out_len)) != 0)
		goto out;
	if ((r = noise_handshake_split(hs, sess_out)) != 0)
		goto out;
	*peer_out = peer;
out:
	sodium_memzero(payload, sizeof(payload));
	if (r != 0)
		noise_handshake_wipe(hs);
	return r;
}
