/* Node cards for introductions, and forwarded proposals: the protobuf helpers the exchange
 * needs. No I/O.
 * A card's signature is Ed25519 by its subject over "coex/1/card" || id (32) || time_ms (8,
 * big-endian) || name || 0x00 || each address || 0x00, so an introducer cannot forge the
 * keys or addresses it passes on. */
#ifndef COEX_WIRE_CARD_H
#define COEX_WIRE_CARD_H

#include "wire/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity;
struct message_meta;

#define CARD_DOMAIN "coex/1/card"

struct card {
	uint8_t id[32];
	char name[LIMIT_NAME_MAX + 1];
	char address[LIMIT_ADDRESS_MAX + 1];  /* one address, "" when withheld */
	uint64_t time_ms;
	bool has_signature;
	uint8_t signature[64];
};

/* Signs c (its id must be id->pk). Returns 0, ERR_INVAL or ERR_CRYPTO. */
int card_sign(const struct identity *id, struct card *c);
/* Returns 0 if c carries its subject's valid signature, else ERR_CRYPTO. */
int card_verify(const struct card *c);

/* Forwarding hops a proposal may allow (its hop_limit; 2 when the author does not say). */
enum { BODY_HOPS_MAX = 3, BODY_HOPS_DEFAULT = 2 };

/* What an exchange needs to know of a Body beyond its header. */
struct body_facts {
	bool forwardable;             /* proposal: the author consents to forwarding */
	uint32_t hop_limit;
	bool has_card;                /* referral, referral answer: a node card */
	struct card card;
	bool has_intro;
	uint8_t intro_id[16];
	bool accept;                  /* referral answer */
	/* forwarded: the original's author, id and hash of its Signed bytes, checked; the path
	 * it took before the forwarder: path[0] the origin, then each earlier forwarder, the
	 * last one (path[n_path - 1]) being the node the forwarder had it from */
	uint8_t origin[32];
	uint8_t original_id[16];
	uint8_t original_signed_hash[32];
	uint8_t original_thread[16];  /* the original's thread, or its id: every forward's thread */
	uint64_t original_expires_ms; /* no forward may outlive it */
	uint32_t hops_left;
	uint8_t path[BODY_HOPS_MAX][32];
	size_t n_path;
};

/* Decodes the kind-specific facts of a verified body. For a Forwarded body it also checks
 * the whole chain down to the original proposal (a forward of a forward nests one Forwarded
 * in another): every signature, that each wrapped message was addressed to the node that
 * wrapped it (the outermost to meta->author), that hops_left drops by exactly one at each
 * hop, and that the proposal is forwardable with a hop limit (at most BODY_HOPS_MAX) above
 * the innermost hops_left. Returns 0, ERR_PROTO (undecodable or malformed), ERR_CRYPTO (a
 * wrapped signature), ERR_DENIED (forwarding without consent, or a wrapped message
 * addressed to someone else) or ERR_LIMIT (hop limit exceeded or a hop count raised). */
int body_facts_read(const uint8_t *body, size_t len, const struct message_meta *meta,
		    struct body_facts *out);

#endif
