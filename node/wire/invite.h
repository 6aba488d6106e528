/* Invite codes and invite proofs. No I/O.
 *
 * Code: "coex1" followed by base32 (lowercase, unpadded) of
 *   version (1 byte, = 1) || inviter Ed25519 key (32) || invite id (16) || secret (32)
 *   || expires, seconds since the epoch (8, big-endian) || address length (1) || address
 *   || check (4): the first 4 bytes of BLAKE2b-256 over everything before it.
 * Proof (in the joiner's Hello): mac = BLAKE2b-256 keyed by the secret over
 *   "coex/1/invite" || invite id || joiner key || inviter key.
 */
#ifndef COEX_WIRE_INVITE_H
#define COEX_WIRE_INVITE_H

#include "wire/limits.h"

#include <stddef.h>
#include <stdint.h>

#define INVITE_CODE_PREFIX "coex1"

enum { INVITE_CODE_MAX = 5 + ((1 + 32 + 16 + 32 + 8 + 1 + 255 + 4) * 8 + 4) / 5 };

struct invite_code {
	uint8_t inviter[32];
	uint8_t invite_id[LIMIT_INVITE_ID];
	uint8_t secret[LIMIT_INVITE_SECRET];
	uint64_t expires_s;
	char address[LIMIT_ADDRESS_MAX + 1];
};

/* Writes the code string (NUL-terminated) into out. Returns 0, ERR_INVAL (address too long
 * or empty) or ERR_TOOBIG (out_cap < INVITE_CODE_MAX + 1 may be needed). */
int invite_code_format(const struct invite_code *c, char *out, size_t out_cap);

/* Parses a code, ignoring surrounding whitespace. Returns 0 or ERR_PROTO (wrong prefix,
 * bad base32, wrong length or version, failed check: a mangled code). */
int invite_code_parse(const char *s, struct invite_code *out);

/* Computes the proof MAC. */
void invite_proof_mac(const uint8_t secret[LIMIT_INVITE_SECRET],
		      const uint8_t invite_id[LIMIT_INVITE_ID], const uint8_t joiner[32],
		      const uint8_t inviter[32], uint8_t mac[LIMIT_INVITE_MAC]);

/* Checks a proof in constant time. Returns 0 or ERR_CRYPTO. */
int invite_proof_verify(const uint8_t secret[LIMIT_INVITE_SECRET],
			const uint8_t invite_id[LIMIT_INVITE_ID], const uint8_t joiner[32],
			const uint8_t inviter[32], const uint8_t mac[LIMIT_INVITE_MAC]);

void invite_code_wipe(struct invite_code *c);

#endif
