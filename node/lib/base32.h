/* RFC 4648 base32, lowercase, no padding (node ids, invite codes). */
#ifndef COEX_LIB_BASE32_H
#define COEX_LIB_BASE32_H

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t base32_encoded_len(size_t n);

/* Encodes in[0..n) into out, NUL-terminated. out_cap must be at least
 * base32_encoded_len(n) + 1. Returns 0 or ERR_INVAL. */
int base32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* Decodes a lowercase or uppercase unpadded string of length slen. Rejects characters
 * outside the alphabet, impossible lengths and non-zero trailing bits (so every byte
 * string has exactly one encoding). Writes *out_len only on success.
 * Returns 0, ERR_PROTO (bad input) or ERR_TOOBIG (out_cap too small). */
int base32_decode(const char *s, size_t slen, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
