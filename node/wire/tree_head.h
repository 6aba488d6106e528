/* Signed tree heads of the exchange log. No I/O.
 * Signature: Ed25519 over "coex/1/tree-head" || size (8, big-endian) || root (32)
 *            || time_ms (8, big-endian). */
#ifndef COEX_WIRE_TREE_HEAD_H
#define COEX_WIRE_TREE_HEAD_H

#include <stdint.h>

struct identity;

#define TREE_HEAD_DOMAIN "coex/1/tree-head"

struct tree_head {
	uint64_t size;
	uint8_t root[32];
	uint64_t time_ms;
	uint8_t signature[64];
};

/* Fills h->signature. Returns 0 or ERR_CRYPTO. */
int tree_head_sign(const struct identity *id, struct tree_head *h);
/* Returns 0 if pk signed h, else ERR_CRYPTO. */
int tree_head_verify(const uint8_t pk[32], const struct tree_head *h);

#endif
