#include "wire/invite.h"
#include "lib/base32.h"
#include "lib/err.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#define INVITE_DOMAIN "coex/1/invite"

enum { INVITE_VERSION = 1, INVITE_CHECK = 4, INVITE_FIXED = 1 + 32 + 16 + 32 + 8 + 1 };

static void invite_check(const uint8_t *buf, size_t len, uint8_t check[INVITE_CHECK])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), buf, len, NULL, 0);
	memcpy(check, h, INVITE_CHECK);
}

int invite_code_format(const struct invite_code *c, char *out, size_t out_cap)
{
	uint8_t buf[INVITE_FIXED + LIMIT_ADDRESS_MAX + INVITE_CHECK];
	size_t alen = strlen(c->address), n = 0;
	size_t plen = strlen(INVITE_CODE_PREFIX);
	int r = ERR_INVAL;

	if (alen == 0 || alen > LIMIT_ADDRESS_MAX)
		goto out;
	buf[n++] = INVITE_VERSION;
	memcpy(buf + n, c->inviter, 32), n += 32;
	memcpy(buf + n, c->invite_id, LIMIT_INVITE_ID), n += LIMIT_INVITE_ID;
	memcpy(buf + n, c->secret, LIMIT_INVITE_SECRET), n += LIMIT_INVITE_SECRET;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(c->expires_s >> (8 * i));
	buf[n++] = (uint8_t)alen;
	memcpy(buf + n, c->address, alen), n += alen;
	invite_check(buf, n, buf + n);
	n += INVITE_CHECK;
	r = ERR_TOOBIG;
	if (out_cap < plen + base32_encoded_len(n) + 1)
		goto out;
	memcpy(out, INVITE_CODE_PREFIX, plen);
	r = base32_encode(buf, n, out + plen, out_cap - plen);
out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}

static int invite_code_unpack(const uint8_t *buf, size_t n, struct invite_code *c)
{
	uint8_t check[INVITE_CHECK];
	size_t alen, o = 1;

	if (n < INVITE_FIXED + INVITE_CHECK || buf[0] != INVITE_VERSION)
		return ERR_PROTO;
	alen = buf[INVITE_FIXED - 1];
	if (alen == 0 || n != INVITE_FIXED + alen + INVITE_CHECK)
		return ERR_PROTO;
	invite_check(buf, n - INVITE_CHECK, check);
	if (sodium_memcmp(check, buf + n - INVITE_CHECK, INVITE_CHECK) != 0)
		return ERR_PROTO;
	memcpy(c->inviter, buf + o, 32), o += 32;
	memcpy(c->invite_id, buf + o, LIMIT_INVITE_ID), o += LIMIT_INVITE_ID;
	memcpy(c->secret, buf + o, LIMIT_INVITE_SECRET), o += LIMIT_INVITE_SECRET;
	c->expires_s = 0;
	for (int i = 0; i < 8; i++)
		c->expires_s = c->expires_s << 8 | buf[o++];
	o++;
	memcpy(c->address, buf + o, alen);
	c->address[alen] = '\0';
	for (size_t i = 0; i < alen; i++)
		if (!isgraph((unsigned char)c->address[i]))
			return ERR_PROTO;
	return 0;
}

int invite_code_parse(const char *s, struct invite_code *out)
{
	uint8_t buf[INVITE_FIXED + LIMIT_ADDRESS_MAX + INVITE_CHECK];
	struct invite_code c;
	size_t plen = strlen(INVITE_CODE_PREFIX), len, n;
	int r = ERR_PROTO;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len < plen || strncmp(s, INVITE_CODE_PREFIX, plen) != 0)
		goto out;
	if (base32_decode(s + plen, len - plen, buf, sizeof(buf), &n) != 0)
		goto out;
	if ((r = invite_code_unpack(buf, n, &c)) != 0)
		goto out;
	*out = c;
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(&c, sizeof(c));
	return r;
}

void invite_proof_mac(const uint8_t secret[LIMIT_INVITE_SECRET],
		      const uint8_t invite_id[LIMIT_INVITE_ID], const uint8_t joiner[32],
		      const uint8_t inviter[32], uint8_t mac[LIMIT_INVITE_MAC])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, secret, LIMIT_INVITE_SECRET, LIMIT_INVITE_MAC);
	crypto_generichash_update(&st, (const uint8_t *)INVITE_DOMAIN, strlen(INVITE_DOMAIN));
	crypto_generichash_update(&st, invite_id, LIMIT_INVITE_ID);
	crypto_generichash_update(&st, joiner, 32);
	crypto_generichash_update(&st, inviter, 32);
	crypto_generichash_final(&st, mac, LIMIT_INVITE_MAC);
	sodium_memzero(&st, sizeof(st));
}

int invite_proof_verify(const uint8_t secret[LIMIT_INVITE_SECRET],
			const uint8_t invite_id[LIMIT_INVITE_ID], const uint8_t joiner[32],
			const uint8_t inviter[32], const uint8_t mac[LIMIT_INVITE_MAC])
{
	uint8_t want[LIMIT_INVITE_MAC];
	int r;

	invite_proof_mac(secret, invite_id, joiner, inviter, want);
	r = sodium_memcmp(want, mac, LIMIT_INVITE_MAC) == 0 ? 0 : ERR_CRYPTO;
	sodium_memzero(want, sizeof(want));
	return r;
}

void invite_code_wipe(struct invite_code *c)
{
	sodium_memzero(c, sizeof(*c));
}
