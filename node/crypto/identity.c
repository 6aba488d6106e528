#include "crypto/identity.h"
#include "lib/base32.h"
#include "lib/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int identity_derive_x25519(struct identity *id)
{
	if (crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->pk) != 0)
		return ERR_CRYPTO;
	if (crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->sk) != 0)
		return ERR_CRYPTO;
	return 0;
}

int identity_generate(struct identity *out)
{
	uint8_t seed[IDENTITY_SEED_LEN];
	int r;

	randombytes_buf(seed, sizeof(seed));
	r = identity_from_seed(out, seed);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int identity_from_seed(struct identity *out, const uint8_t seed[IDENTITY_SEED_LEN])
{
	struct identity id;
	int r = ERR_CRYPTO;

	if (crypto_sign_seed_keypair(id.pk, id.sk, seed) != 0)
		goto out;
	if ((r = identity_derive_x25519(&id)) != 0)
		goto out;
	*out = id;
out:
	sodium_memzero(&id, sizeof(id));
	return r;
}

void identity_wipe(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

/* Signs and verifies domain || msg without copying msg: Ed25519ph would change the
 * algorithm, so the concatenation is built in one buffer. Messages here are small
 * (bodies are capped by max_message_bytes). */
static int identity_concat(const char *domain, const uint8_t *msg, size_t len, uint8_t **out,
			   size_t *out_len)
{
	size_t dlen = strlen(domain);
	uint8_t *buf = malloc(dlen + len + 1);

	if (!buf)
		return ERR_NOMEM;
	memcpy(buf, domain, dlen);
	if (len)
		memcpy(buf + dlen, msg, len);
	*out = buf;
	*out_len = dlen + len;
	return 0;
}

int identity_sign(const struct identity *id, const char *domain, const uint8_t *msg, size_t len,
		  uint8_t sig[IDENTITY_SIG_LEN])
{
	uint8_t *buf = NULL;
	size_t n;
	int r;

	if ((r = identity_concat(domain, msg, len, &buf, &n)) != 0)
		return r;
	r = crypto_sign_detached(sig, NULL, buf, n, id->sk) == 0 ? 0 : ERR_CRYPTO;
	free(buf);
	return r;
}

int identity_verify(const uint8_t pk[IDENTITY_PK_LEN], const char *domain, const uint8_t *msg,
		    size_t len, const uint8_t sig[IDENTITY_SIG_LEN])
{
	uint8_t *buf = NULL;
	size_t n;
	int r;

	if ((r = identity_concat(domain, msg, len, &buf, &n)) != 0)
		return r;
	r = crypto_sign_verify_detached(sig, buf, n, pk) == 0 ? 0 : ERR_CRYPTO;
	free(buf);
	return r;
}

int identity_pk_to_x25519(const uint8_t pk[IDENTITY_PK_LEN], uint8_t x_pk[32])
{
	uint8_t tmp[32];

	if (crypto_sign_ed25519_pk_to_curve25519(tmp, pk) != 0)
		return ERR_CRYPTO;
	memcpy(x_pk, tmp, sizeof(tmp));
	return 0;
}

void identity_id_format(const uint8_t pk[IDENTITY_PK_LEN], char out[IDENTITY_ID_LEN + 1])
{
	base32_encode(pk, IDENTITY_PK_LEN, out, IDENTITY_ID_LEN + 1);
}

int identity_id_parse(const char *s, uint8_t pk[IDENTITY_PK_LEN])
{
	uint8_t tmp[IDENTITY_PK_LEN];
	size_t n;

	if (strlen(s) != IDENTITY_ID_LEN)
		return ERR_PROTO;
	if (base32_decode(s, IDENTITY_ID_LEN, tmp, sizeof(tmp), &n) != 0 || n != IDENTITY_PK_LEN)
		return ERR_PROTO;
	memcpy(pk, tmp, sizeof(tmp));
	return 0;
}
