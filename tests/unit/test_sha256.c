/* SHA-256: the FIPS 180-4 example vectors and a cross-check against libsodium, for both
 * implementations (SHA-NI and the portable fallback), one-shot and incremental.
 * On a CPU without the SHA extensions both runs exercise the portable path; the test says so. */
#include "testutil.h"

#include "crypto/sha256.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MIB = 1 << 20, RANDOM_LENGTHS = 64, MAX_SPLITS = 8 };

static const enum sha256_impl impls[] = { SHA256_PORTABLE, SHA256_SHANI };
static const char *const impl_names[] = { "portable", "sha-ni" };

/* Hashes in through the incremental API in the pieces that end at cuts[0..ncuts) (ascending). */
static void hash_pieces(enum sha256_impl impl, const uint8_t *in, size_t len, const size_t *cuts,
			size_t ncuts, uint8_t out[SHA256_LEN])
{
	struct sha256_state st;
	size_t at = 0;

	sha256_init_with(&st, impl);
	for (size_t i = 0; i < ncuts; i++) {
		sha256_update(&st, in + at, cuts[i] - at);
		at = cuts[i];
	}
	sha256_update(&st, in + at, len - at);
	sha256_final(&st, out);
}

/* ---- FIPS 180-4 examples ----
 * Messages and digests from NIST's "SHA-256" example (Cryptographic Standards and Guidelines,
 * Examples with Intermediate Values, csrc.nist.gov/CSRC/media/Projects/
 * Cryptographic-Standards-and-Guidelines/documents/examples/SHA256.pdf) for FIPS 180-4, and
 * the one-million-'a' message of FIPS 180-2 Appendix B.3. */

struct vector {
	const char *msg;
	const char *digest;
};

static const struct vector vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", /* 448 bits */
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
	  "klmnopqrlmnopqrsmnopqrstnopqrstu", /* 896 bits */
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static const char million_a_digest[] =
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void check_digest(const uint8_t got[SHA256_LEN], const char *hex, const char *what,
			 int impl)
{
	uint8_t want[SHA256_LEN];

	tu_hex_exact(hex, want, sizeof(want));
	if (memcmp(got, want, SHA256_LEN) != 0)
		fail_msg("%s (%s): wrong digest", what, impl_names[impl]);
}

static void test_fips_vectors(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
			const uint8_t *m = (const uint8_t *)vectors[v].msg;
			size_t len = strlen(vectors[v].msg);
			size_t cut[1] = { len / 2 };
			uint8_t out[SHA256_LEN];

			sha256_with(impls[i], out, m, len);
			check_digest(out, vectors[v].digest, vectors[v].msg, i);
			hash_pieces(impls[i], m, len, cut, 1, out);
			check_digest(out, vectors[v].digest, vectors[v].msg, i);
		}
	}
}

static void test_million_a(void **state)
{
	uint8_t *m = malloc(1000000), out[SHA256_LEN];
	struct sha256_state st;

	(void)state;
	assert_non_null(m);
	memset(m, 'a', 1000000);
	for (int i = 0; i < 2; i++) {
		sha256_with(impls[i], out, m, 1000000);
		check_digest(out, million_a_digest, "one million 'a'", i);
		/* in 1000-byte pieces, which never line up with the 64-byte blocks */
		sha256_init_with(&st, impls[i]);
		for (int j = 0; j < 1000; j++)
			sha256_update(&st, m + 1000 * j, 1000);
		sha256_final(&st, out);
		check_digest(out, million_a_digest, "one million 'a', incremental", i);
	}
	free(m);
}

/* ---- Against libsodium ---- */

/* Everything random comes from one seed, printed on failure, so a failure can be replayed. */
struct rng {
	uint8_t seed[randombytes_SEEDBYTES];
	uint64_t counter;
};

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	uint8_t b[8], key[randombytes_SEEDBYTES];
	uint64_t x = 0;

	memcpy(key, r->seed, sizeof(key));
	for (int i = 0; i < 8; i++)
		key[i] ^= (uint8_t)(r->counter >> (8 * i));
	r->counter++;
	randombytes_buf_deterministic(b, sizeof(b), key);
	for (int i = 0; i < 8; i++)
		x = x << 8 | b[i];
	return (uint32_t)(x % n);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Both implementations, one-shot and in random pieces, against crypto_hash_sha256. */
static void cross_check(struct rng *r, const uint8_t *m, size_t len)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	size_t cuts[MAX_SPLITS], ncuts = rng_below(r, MAX_SPLITS + 1);
	char seed_hex[2 * randombytes_SEEDBYTES + 1];

	sodium_bin2hex(seed_hex, sizeof(seed_hex), r->seed, sizeof(r->seed));
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = rng_below(r, (uint32_t)len + 1);
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
	crypto_hash_sha256(want, m, len);
	for (int i = 0; i < 2; i++) {
		sha256_with(impls[i], got, m, len);
		if (memcmp(got, want, SHA256_LEN) != 0)
			fail_msg("%s: length %zu differs from libsodium (seed %s)", impl_names[i],
				 len, seed_hex);
		hash_pieces(impls[i], m, len, cuts, ncuts, got);
		if (memcmp(got, want, SHA256_LEN) != 0)
			fail_msg("%s: length %zu in %zu pieces differs from libsodium (seed %s)",
				 impl_names[i], len, ncuts + 1, seed_hex);
	}
	if (sha256_best() == SHA256_SHANI || len == 0) {
		sha256(got, m, len); /* the default is one of the two */
		assert_memory_equal(got, want, SHA256_LEN);
	}
}

static void test_every_length_to_1024(void **state)
{
	struct rng r = { .counter = 0 };
	uint8_t *m = malloc(1024);

	(void)state;
	assert_non_null(m);
	randombytes_buf(r.seed, sizeof(r.seed));
	randombytes_buf_deterministic(m, 1024, r.seed);
	for (size_t len = 0; len <= 1024; len++)
		cross_check(&r, m, len);
	free(m);
}

static void test_random_lengths_to_1mib(void **state)
{
	struct rng r = { .counter = 0 };
	uint8_t *m = malloc(MIB);

	(void)state;
	assert_non_null(m);
	randombytes_buf(r.seed, sizeof(r.seed));
	randombytes_buf_deterministic(m, MIB, r.seed);
	cross_check(&r, m, MIB);
	for (int i = 0; i < RANDOM_LENGTHS; i++) {
		size_t len = rng_below(&r, MIB + 1), off = rng_below(&r, (uint32_t)(MIB - len) + 1);

		cross_check(&r, m + off, len); /* off: inputs not aligned to anything */
	}
	free(m);
}

/* A NULL input of length 0 is the empty message, in every entry point. */
static void test_empty_null(void **state)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	struct sha256_state st;

	(void)state;
	crypto_hash_sha256(want, NULL, 0);
	for (int i = 0; i < 2; i++) {
		sha256_with(impls[i], got, NULL, 0);
		assert_memory_equal(got, want, SHA256_LEN);
		sha256_init_with(&st, impls[i]);
		sha256_update(&st, NULL, 0);
		sha256_final(&st, got);
		assert_memory_equal(got, want, SHA256_LEN);
	}
}

/* final wipes the state; asking for SHA-NI gets it exactly where the CPU has it. */
static void test_state(void **state)
{
	static const uint8_t zero[sizeof(struct sha256_state)];
	struct sha256_state st;
	uint8_t out[SHA256_LEN];

	(void)state;
	print_message("sha256: this CPU runs %s\n", impl_names[sha256_best()]);
	for (int i = 0; i < 2; i++) {
		sha256_init_with(&st, impls[i]);
		assert_int_equal(st.impl, impls[i] == SHA256_SHANI ? sha256_best() : SHA256_PORTABLE);
		sha256_update(&st, "abc", 3);
		sha256_final(&st, out);
		assert_memory_equal(&st, zero, sizeof(st));
	}
	sha256_init(&st);
	assert_int_equal(st.impl, sha256_best());
	sha256_final(&st, out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_every_length_to_1024),
		cmocka_unit_test(test_random_lengths_to_1mib),
		cmocka_unit_test(test_empty_null),
		cmocka_unit_test(test_state),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
