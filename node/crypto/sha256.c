/* SHA-256: the x86 SHA extensions where the CPU has them, libsodium otherwise.
 *
 * The SHA-NI compression function follows the structure of Intel's white paper "Intel SHA
 * Extensions" (Gulley et al., 2013): the state lives in two registers as ABEF and CDGH,
 * sha256rnds2 does two rounds, sha256msg1/msg2 extend the message schedule four words at a
 * time. It is compiled for "sha,sse4.1" per function, so the rest of the build needs no
 * -msha, and runs only after cpuid said so.
 *
 * The one piece of global state is the implementation choice, computed on first use from
 * cpuid and cached: cpuid traps to the hypervisor in a VM (about 30 us for the two leaves on
 * the EPYC VM this was measured on, against about 0.1 us to hash 64 bytes). Every thread
 * computes the same value, so the race to store it is benign, and it is an atomic. */
#include "crypto/sha256.h"

#include <stdatomic.h>
#include <string.h>

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Four rounds: message words w (W[4i..4i+3]) plus their constants, two rounds per rnds2. */
#define NI_ROUNDS4(i, w)                                                                   \
	do {                                                                               \
		__m128i wk_ = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&sha256_k[4 * (i)])); \
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                            \
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk_, 0x0e));   \
	} while (0)

/* The next four schedule words into a, from the sixteen before them in a, b, c, d:
 * W[t+16] = s1(W[t+14]) + W[t+9] + s0(W[t+1]) + W[t]. */
#define NI_SCHEDULE(a, b, c, d)                                                              \
	((a) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((a), (b)),               \
						  _mm_alignr_epi8((d), (c), 4)),            \
				    (d)))

__attribute__((target("sha,sse4.1"))) static void ni_blocks(uint32_t h[8], const uint8_t *p,
							      size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i abef, cdgh, t, m0, m1, m2, m3;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);    /* CDAB */
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b); /* EFGH */
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);

	for (; nblocks > 0; nblocks--, p += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh;

		m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
		m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		NI_ROUNDS4(0, m0);
		NI_ROUNDS4(1, m1);
		NI_ROUNDS4(2, m2);
		NI_ROUNDS4(3, m3);
		for (int i = 4; i < 16; i += 4) {
			NI_SCHEDULE(m0, m1, m2, m3);
			NI_ROUNDS4(i, m0);
			NI_SCHEDULE(m1, m2, m3, m0);
			NI_ROUNDS4(i + 1, m1);
			NI_SCHEDULE(m2, m3, m0, m1);
			NI_ROUNDS4(i + 2, m2);
			NI_SCHEDULE(m3, m0, m1, m2);
			NI_ROUNDS4(i + 3, m3);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}

	t = _mm_shuffle_epi32(abef, 0x1b);    /* FEBA */
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1); /* DCHG */
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, cdgh, 0xf0)); /* DCBA */
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, t, 8));    /* HGFE */
}

/* SHA (leaf 7 EBX bit 29), SSSE3 and SSE4.1 (leaf 1 ECX bits 9 and 19). */
static int cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}
#else
static void ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	(void)h, (void)p, (void)nblocks; /* never called: cpu_has_shani is false */
}

static int cpu_has_shani(void)
{
	return 0;
}
#endif

/* 0 until first use, then 1 + the implementation (see the top of the file). */
static atomic_int best_impl;

enum sha256_impl sha256_best(void)
{
	int b = atomic_load_explicit(&best_impl, memory_order_relaxed);

	if (b == 0) {
		b = 1 + (cpu_has_shani() ? SHA256_SHANI : SHA256_PORTABLE);
		atomic_store_explicit(&best_impl, b, memory_order_relaxed);
	}
	return (enum sha256_impl)(b - 1);
}

/* ---- The SHA-NI path's buffering and padding (FIPS 180-4 §5.1.1) ---- */

static void ni_init(struct sha256_state *st)
{
	memcpy(st->u.ni.h, sha256_iv, sizeof(sha256_iv));
	st->u.ni.len = 0;
}

static void ni_update(struct sha256_state *st, const uint8_t *p, size_t len)
{
	size_t used = (size_t)(st->u.ni.len & 63);

	st->u.ni.len += len;
	if (used > 0) {
		size_t take = 64 - used < len ? 64 - used : len;

		memcpy(st->u.ni.buf + used, p, take);
		p += take;
		len -= take;
		if (used + take < 64)
			return;
		ni_blocks(st->u.ni.h, st->u.ni.buf, 1);
	}
	if (len >= 64) {
		ni_blocks(st->u.ni.h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	if (len > 0)
		memcpy(st->u.ni.buf, p, len);
}

static void ni_final(struct sha256_state *st, uint8_t out[SHA256_LEN])
{
	size_t used = (size_t)(st->u.ni.len & 63);
	uint64_t bits = st->u.ni.len << 3;
	uint8_t *buf = st->u.ni.buf;

	buf[used++] = 0x80;
	if (used > 56) {
		memset(buf + used, 0, 64 - used);
		ni_blocks(st->u.ni.h, buf, 1);
		used = 0;
	}
	memset(buf + used, 0, 56 - used);
	for (int i = 0; i < 8; i++)
		buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	ni_blocks(st->u.ni.h, buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(st->u.ni.h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(st->u.ni.h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(st->u.ni.h[i] >> 8);
		out[4 * i + 3] = (uint8_t)st->u.ni.h[i];
	}
}

/* ---- The API ---- */

void sha256_init_with(struct sha256_state *st, enum sha256_impl impl)
{
	st->impl = impl == SHA256_SHANI && sha256_best() == SHA256_SHANI ? SHA256_SHANI
									: SHA256_PORTABLE;
	if (st->impl == SHA256_SHANI)
		ni_init(st);
	else
		crypto_hash_sha256_init(&st->u.sodium);
}

void sha256_init(struct sha256_state *st)
{
	sha256_init_with(st, sha256_best());
}

void sha256_update(struct sha256_state *st, const void *in, size_t len)
{
	if (len == 0)
		return;
	if (st->impl == SHA256_SHANI)
		ni_update(st, in, len);
	else
		crypto_hash_sha256_update(&st->u.sodium, in, len);
}

void sha256_final(struct sha256_state *st, uint8_t out[SHA256_LEN])
{
	if (st->impl == SHA256_SHANI)
		ni_final(st, out);
	else
		crypto_hash_sha256_final(&st->u.sodium, out);
	sodium_memzero(st, sizeof(*st));
}

void sha256_with(enum sha256_impl impl, uint8_t out[SHA256_LEN], const void *in, size_t len)
{
	struct sha256_state st;

	if (impl != SHA256_SHANI || sha256_best() != SHA256_SHANI) {
		crypto_hash_sha256(out, in, len);
		return;
	}
	/* Whole blocks straight from the input; only the tail goes through the buffer. */
	ni_init(&st);
	st.impl = SHA256_SHANI;
	if (len >= 64)
		ni_blocks(st.u.ni.h, in, len / 64);
	st.u.ni.len = len & ~(uint64_t)63;
	if (len & 63)
		ni_update(&st, (const uint8_t *)in + (len & ~(size_t)63), len & 63);
	sha256_final(&st, out);
}

void sha256(uint8_t out[SHA256_LEN], const void *in, size_t len)
{
	sha256_with(sha256_best(), out, in, len);
}
