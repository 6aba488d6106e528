/* The partner identities of coex-bench-links: identity i comes from a seed derived from i, so
 * coex-bench can write the hub's [partner] sections and the generator can hold the keys
 * without passing 10,000 ids between them. Bench keys only: never a real node's. */
#ifndef COEX_BENCH_LINKGEN_SEED_H
#define COEX_BENCH_LINKGEN_SEED_H

#include "crypto/identity.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>

static inline int linkgen_identity(uint32_t i, struct identity *out)
{
	uint8_t seed[IDENTITY_SEED_LEN], in[32];
	int len = snprintf((char *)in, sizeof(in), "coex-bench-links %u", (unsigned)i);

	crypto_generichash(seed, sizeof(seed), in, (size_t)len, NULL, 0);
	return identity_from_seed(out, seed);
}

#endif
