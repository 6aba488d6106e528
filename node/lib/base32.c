#include "lib/base32.h"
#include "lib/err.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t base32_encoded_len(size_t n)
{
	return (n * 8 + 4) / 5;
}

int base32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
	size_t need = base32_encoded_len(n), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (out_cap < need + 1)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int base32_decode(const char *s, size_t slen, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t n = slen * 5 / 8, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	/* Lengths whose leftover is 1, 3 or 6 characters cannot come from whole bytes. */
	if (base32_encoded_len(n) != slen)
		return ERR_PROTO;
	if (n > out_cap)
		return ERR_TOOBIG;
	for (size_t i = 0; i < slen; i++) {
		int v = base32_value(s[i]);
		if (v < 0)
			return ERR_PROTO;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return ERR_PROTO;
	*out_len = o;
	return 0;
}
