/* The Hello carried in both Noise handshake messages: our struct and its protobuf codec.
 * Decoding validates every field against wire/limits.h; the generated protobuf types stay
 * inside hello.c. No I/O. */
#ifndef COEX_WIRE_HELLO_H
#define COEX_WIRE_HELLO_H

#include "wire/limits.h"
#include "wire/tree_head.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hello {
	uint32_t version_min, version_max;
	uint8_t identity[32];                 /* Ed25519 public key */
	char name[LIMIT_NAME_MAX + 1];
	char listen[LIMIT_HELLO_LISTEN_MAX][LIMIT_ADDRESS_MAX + 1];
	size_t n_listen;
	uint64_t timestamp_ms;
	bool has_invite;
	uint8_t invite_id[LIMIT_INVITE_ID];
	uint8_t invite_mac[LIMIT_INVITE_MAC];
	bool has_head;
	struct tree_head head;                /* the sender's latest signed tree head */
};

/* Packs h into out. Returns 0, ERR_TOOBIG (out_cap) or ERR_INVAL (h breaks a limit). */
int hello_encode(const struct hello *h, uint8_t *out, size_t out_cap, size_t *out_len);

/* Unpacks and validates: identity exactly 32 bytes, name 1..64 bytes of printable UTF-8,
 * at most LIMIT_HELLO_LISTEN_MAX addresses of at most LIMIT_ADDRESS_MAX bytes, an invite
 * proof with exact lengths, version_min <= version_max.
 * Returns 0, ERR_PROTO (undecodable or invalid) or ERR_NOMEM. */
int hello_decode(const uint8_t *in, size_t len, struct hello *out);

#endif
