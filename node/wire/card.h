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

/* What an exchange needs to know of a Body beyond its header. */
struct body_facts {
	bool forwardable;             /* proposal: the author consents to forwarding */
	uint32_t hop_limit;
	bool has_card;                /* referral, referral answer: a node card */
	struct card card;
	bool has_intro;
	uint8_t intro_id[16];
	bool accept;                  /* referral answer */
	/* forwarded: the original's author, id and hash of its Signed bytes, checked */
	uint8_t origin[32];
	uint8_t original_id[16];
	uint8_t original_signed_hash[32];
	uint32_t hops_left;
};

/* Decodes the kind-specific facts of a verified body. For a Forwarded body it also checks
 * the original: its signature by its author, that it was addressed to the forwarder
 * (meta->author), that it is a forwardable proposal, and that hops_left is below its hop
 * limit. Returns 0, ERR_PROTO (undecodable or malformed), ERR_CRYPTO (original's signature)
 * or ERR_DENIED (forwarding without consent, hop limit exceeded). */
int body_facts_read(const uint8_t *body, size_t len, const struct message_meta *meta,
		    struct body_facts *out);

#endif
