/* SHA-256 (FIPS 180-4), the one hash coex computes itself: log entries, Merkle leaves and
 * nodes, envelopes. On x86-64 CPUs with the SHA extensions it runs the compression function
 * on them (3-5x libsodium's portable code); elsewhere it is libsodium's crypto_hash_sha256.
 * Both give the same digests; which one runs is chosen per call from the CPU, so nothing
 * needs initialising. Keyed and other hashing stays with libsodium.
 *
 * A state is plain memory: init before update/final; final wipes it. */
#ifndef COEX_CRYPTO_SHA256_H
#define COEX_CRYPTO_SHA256_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

enum sha256_impl {
	SHA256_PORTABLE, /* libsodium's crypto_hash_sha256 */
	SHA256_SHANI,    /* x86-64 SHA extensions (SHA-NI) with SSE4.1 */
};

struct sha256_state {
	enum sha256_impl impl;
	union {
		crypto_hash_sha256_state sodium;
		struct {
			uint32_t h[8];
			uint64_t len; /* bytes hashed so far */
			uint8_t buf[64];
		} ni;
	} u;
};

void sha256(uint8_t out[SHA256_LEN], const void *in, size_t len);

void sha256_init(struct sha256_state *st);
void sha256_update(struct sha256_state *st, const void *in, size_t len);
void sha256_final(struct sha256_state *st, uint8_t out[SHA256_LEN]);

/* The implementation sha256 and sha256_init use on this CPU. */
enum sha256_impl sha256_best(void);

/* For tests and benchmarks: the given implementation (SHA256_SHANI where sha256_best says
 * this CPU has it; elsewhere the portable one runs instead). */
void sha256_with(enum sha256_impl impl, uint8_t out[SHA256_LEN], const void *in, size_t len);
void sha256_init_with(struct sha256_state *st, enum sha256_impl impl);

#endif
