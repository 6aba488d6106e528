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

int handshake_partner_init(struct handshake_partner *hp, const struct identity *self,
			   const uint8_t pk[32])
{
	struct handshake_partner t;
	int r;

	memcpy(t.pk, pk, 32);
	if ((r = identity_pk_to_x25519(pk, t.x_pk)) != 0 ||
	    (r = noise_dh(t.ss, self->x_sk, t.x_pk)) != 0)
		goto out;
	*hp = t;
out:
	handshake_partner_wipe(&t);
	return r;
}

void handshake_partner_wipe(struct handshake_partner *hp)
{
	if (hp)
		sodium_memzero(hp, sizeof(*hp));
}

/* The ss lookup for one known partner: its precomputed secret, if rs is its key. */
static int handshake_partner_ss(void *arg, const uint8_t rs[NOISE_DH_LEN], uint8_t ss[NOISE_DH_LEN])
{
	const struct handshake_partner *hp = arg;

	if (!hp || sodium_memcmp(rs, hp->x_pk, sizeof(hp->x_pk)) != 0)
		return ERR_NOTFOUND;
	memcpy(ss, hp->ss, NOISE_DH_LEN);
	return 0;
}

int handshake_initiate(struct noise_handshake *hs, const struct identity *self,
		       const struct handshake_partner *peer, const struct hello *mine, uint8_t *out,
		       size_t out_cap, size_t *out_len)
{
	uint8_t payload[LIMIT_FRAME_MAX];
	size_t plen;
	int r;

	if ((r = hello_encode(mine, payload, sizeof(payload), &plen)) != 0)
		return r;
	if ((r = noise_handshake_init(hs, NOISE_INITIATOR, (const uint8_t *)COEX_PROLOGUE,
				      strlen(COEX_PROLOGUE), self->x_sk, self->x_pk, peer->x_pk)) != 0)
		return r;
	noise_handshake_set_ss_lookup(hs, handshake_partner_ss, (void *)peer);
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

/* The responder's side of the ss lookup: the partner rsp->partner() finds for rs, if any,
 * remembered so the identity check can use its key too. */
struct handshake_lookup {
	const struct handshake_responder *rsp;
	const struct handshake_partner *found;
};

static int handshake_responder_ss(void *arg, const uint8_t rs[NOISE_DH_LEN],
				  uint8_t ss[NOISE_DH_LEN])
{
	struct handshake_lookup *lk = arg;
	const struct handshake_partner *hp;

	if (!lk->rsp->partner || !(hp = lk->rsp->partner(lk->rsp->arg, rs)) ||
	    handshake_partner_ss((void *)hp, rs, ss) != 0)
		return ERR_NOTFOUND;
	lk->found = hp;
	return 0;
}

/* The Hello's identity is the initiator's Noise static key. For a known partner it is a
 * comparison; otherwise (or for the other Ed25519 key with the same X25519 form) the 38 us
 * conversion. */
static bool handshake_identity_bound(const struct noise_handshake *hs,
				     const struct handshake_partner *found, const uint8_t pk[32])
{
	uint8_t x_pk[32];

	if (found && sodium_memcmp(found->pk, pk, 32) == 0)
		return true;
	return identity_pk_to_x25519(pk, x_pk) == 0 && sodium_memcmp(x_pk, hs->rs, 32) == 0;
}

/* Everything a responder checks before it may answer. */
static int handshake_check_initiator(struct noise_handshake *hs,
				     const struct handshake_responder *rsp,
				     const struct handshake_partner *found, const struct hello *peer)
{
	uint64_t ts = peer->timestamp_ms, now = rsp->now_ms;
	int r;

	if (!handshake_identity_bound(hs, found, peer->identity) || !handshake_version_ok(peer))
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
	struct handshake_lookup lk = {.rsp = rsp};
	struct hello peer;
	size_t plen;
	int r;

	if ((r = noise_handshake_init(hs, NOISE_RESPONDER, (const uint8_t *)COEX_PROLOGUE,
				      strlen(COEX_PROLOGUE), rsp->self->x_sk, rsp->self->x_pk,
				      NULL)) != 0)
		goto out;
	noise_handshake_set_ss_lookup(hs, handshake_responder_ss, &lk);
	if ((r = noise_consume_initiation(hs, msg, len, payload, sizeof(payload), &plen)) != 0)
		goto out;
	if ((r = hello_decode(payload, plen, &peer)) != 0)
		goto out;
	if ((r = handshake_check_initiator(hs, rsp, lk.found, &peer)) != 0)
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
