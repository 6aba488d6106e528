/* A node's identity: one Ed25519 key pair, its X25519 form for Noise, and its id
 * (RFC 4648 base32, lowercase, unpadded, of the Ed25519 public key). No I/O. */
#ifndef COEX_CRYPTO_IDENTITY_H
#define COEX_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

enum {
	IDENTITY_PK_LEN = 32,
	IDENTITY_SK_LEN = 64,   /* libsodium's seed || public key form */
	IDENTITY_SEED_LEN = 32,
	IDENTITY_SIG_LEN = 64,
	IDENTITY_ID_LEN = 52,   /* base32 of 32 bytes */
	IDENTITY_FPR_LEN = 8,   /* short fingerprint: first 8 characters of the id */
};

struct identity {
	uint8_t pk[IDENTITY_PK_LEN];
	uint8_t sk[IDENTITY_SK_LEN];
	uint8_t x_pk[32];       /* X25519 public key (Noise static) */
	uint8_t x_sk[32];       /* X25519 private key */
};

/* Makes a fresh random identity. Returns 0 or ERR_CRYPTO. */
int identity_generate(struct identity *out);
/* Rebuilds an identity from its 32-byte seed. Returns 0 or ERR_CRYPTO. */
int identity_from_seed(struct identity *out, const uint8_t seed[IDENTITY_SEED_LEN]);
void identity_wipe(struct identity *id);

/* Signs domain || msg (domain is a string such as "coex/1/body"). Returns 0 or ERR_CRYPTO. */
int identity_sign(const struct identity *id, const char *domain, const uint8_t *msg, size_t len,
		  uint8_t sig[IDENTITY_SIG_LEN]);
/* Verifies a signature over domain || msg by pk. Returns 0 or ERR_CRYPTO. */
int identity_verify(const uint8_t pk[IDENTITY_PK_LEN], const char *domain, const uint8_t *msg,
		    size_t len, const uint8_t sig[IDENTITY_SIG_LEN]);

/* Converts an Ed25519 public key to its X25519 form (38 us: cache it). Returns 0 or ERR_CRYPTO
 * (not a valid point, or small order). */
int identity_pk_to_x25519(const uint8_t pk[IDENTITY_PK_LEN], uint8_t x_pk[32]);

/* Writes the node id of pk (IDENTITY_ID_LEN chars + NUL) into out. */
void identity_id_format(const uint8_t pk[IDENTITY_PK_LEN], char out[IDENTITY_ID_LEN + 1]);
/* Parses a full node id. Returns 0 or ERR_PROTO. */
int identity_id_parse(const char *s, uint8_t pk[IDENTITY_PK_LEN]);

#endif
