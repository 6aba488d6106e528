#include "testutil.h"

#include "lib/base32.h"
#include "lib/err.h"

#include <string.h>

/* RFC 4648 section 10 vectors, lowercased and without padding. */
static void test_rfc4648_vectors(void **state)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const want[] = {"", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"};
	(void)state;
	for (size_t i = 0; i < 7; i++) {
		char enc[32];
		uint8_t dec[16];
		size_t n;
		assert_int_equal(base32_encode((const uint8_t *)in[i], strlen(in[i]), enc, sizeof(enc)), 0);
		assert_string_equal(enc, want[i]);
		assert_int_equal(base32_decode(enc, strlen(enc), dec, sizeof(dec), &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(dec, in[i], n);
	}
}

static void test_round_trip_all_lengths(void **state)
{
	uint8_t buf[64], dec[64];
	char enc[128];
	size_t n;
	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(buf); len++) {
		assert_int_equal(base32_encode(buf, len, enc, sizeof(enc)), 0);
		assert_int_equal(strlen(enc), base32_encoded_len(len));
		assert_int_equal(base32_decode(enc, strlen(enc), dec, sizeof(dec), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, buf, len);
	}
}

static void test_uppercase_accepted(void **state)
{
	uint8_t dec[8];
	size_t n;
	(void)state;
	assert_int_equal(base32_decode("MZXW6", 5, dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(dec, "foo", 3);
}

static void test_rejects(void **state)
{
	uint8_t dec[8];
	size_t n = 99;
	char enc[8];
	(void)state;
	/* characters outside the alphabet */
	assert_int_equal(base32_decode("mzx1", 4, dec, sizeof(dec), &n), ERR_PROTO);
	assert_int_equal(base32_decode("mzx=", 4, dec, sizeof(dec), &n), ERR_PROTO);
	assert_int_equal(base32_decode("mz w", 4, dec, sizeof(dec), &n), ERR_PROTO);
	/* impossible lengths: 1, 3, 6 leftover characters */
	assert_int_equal(base32_decode("m", 1, dec, sizeof(dec), &n), ERR_PROTO);
	assert_int_equal(base32_decode("mzx", 3, dec, sizeof(dec), &n), ERR_PROTO);
	assert_int_equal(base32_decode("mzxw6y", 6, dec, sizeof(dec), &n), ERR_PROTO);
	/* non-zero trailing bits: "mz" decodes "f" only with zero padding bits ("my") */
	assert_int_equal(base32_decode("mz", 2, dec, sizeof(dec), &n), ERR_PROTO);
	/* output too small */
	assert_int_equal(base32_decode("mzxw6ytboi", 10, dec, 3, &n), ERR_TOOBIG);
	assert_int_equal(n, 99); /* untouched on failure */
	/* encode into too small a buffer */
	assert_int_equal(base32_encode((const uint8_t *)"foobar", 6, enc, 4), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_uppercase_accepted),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
