#include "testutil.h"

#include "lib/err.h"
#include "wire/frame.h"

#include <stdlib.h>
#include <string.h>

/* Builds header+payload for a frame of len bytes whose bytes are (i + seed). */
static uint8_t *make_frame(size_t len, uint8_t seed, size_t *total)
{
	uint8_t *b = malloc(len + 2);
	assert_non_null(b);
	assert_int_equal(frame_header_write(b, len), 0);
	for (size_t i = 0; i < len; i++)
		b[2 + i] = (uint8_t)(i + seed);
	*total = len + 2;
	return b;
}

static void expect_payload(const uint8_t *f, size_t flen, size_t len, uint8_t seed)
{
	assert_int_equal(flen, len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(f[i], (uint8_t)(i + seed));
}

static void test_length_zero_rejected(void **state)
{
	struct frame_reader fr;
	const uint8_t buf[] = {0, 0, 1, 2};
	const uint8_t *in = buf, *f;
	size_t in_len = sizeof(buf), flen;
	(void)state;
	frame_reader_init(&fr, 65535);
	assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), ERR_PROTO);
	frame_reader_free(&fr);
}

static void test_length_one_and_max(void **state)
{
	struct frame_reader fr;
	size_t sizes[] = {1, 65535};
	(void)state;
	for (size_t k = 0; k < 2; k++) {
		size_t total, flen, in_len;
		uint8_t *b = make_frame(sizes[k], 7, &total);
		const uint8_t *in = b, *f;
		frame_reader_init(&fr, 65535);
		in_len = total;
		assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 1);
		expect_payload(f, flen, sizes[k], 7);
		assert_int_equal(in_len, 0);
		assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 0);
		frame_reader_free(&fr);
		free(b);
	}
}

static void test_max_plus_one_rejected(void **state)
{
	struct frame_reader fr;
	size_t total, flen, in_len;
	uint8_t *b = make_frame(1025, 1, &total);
	const uint8_t *in = b, *f;
	(void)state;
	frame_reader_init(&fr, 1024); /* a configured max below the header's */
	in_len = total;
	assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), ERR_TOOBIG);
	frame_reader_free(&fr);
	free(b);
	/* exactly the configured max passes */
	b = make_frame(1024, 1, &total);
	in = b;
	in_len = total;
	frame_reader_init(&fr, 1024);
	assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 1);
	expect_payload(f, flen, 1024, 1);
	frame_reader_free(&fr);
	free(b);
	assert_int_equal(frame_header_write((uint8_t[2]){0}, 65536), ERR_TOOBIG);
}

/* Every split point, including inside the header, delivers the same frame. */
static void test_split_across_reads(void **state)
{
	size_t total, flen;
	uint8_t *b = make_frame(300, 3, &total);
	(void)state;
	for (size_t cut = 0; cut <= total; cut++) {
		struct frame_reader fr;
		const uint8_t *in = b, *f = NULL;
		size_t in_len = cut;
		int got = 0, r;
		frame_reader_init(&fr, 65535);
		r = frame_reader_next(&fr, &in, &in_len, &f, &flen);
		if (cut == total) {
			assert_int_equal(r, 1);
			got = 1;
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(in_len, 0);
			in = b + cut;
			in_len = total - cut;
			assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 1);
			got = 1;
		}
		assert_true(got);
		expect_payload(f, flen, 300, 3);
		frame_reader_free(&fr);
	}
	free(b);
}

/* Byte-at-a-time feeding and several frames in one read. */
static void test_bytewise_and_many_in_one_read(void **state)
{
	uint8_t buf[4096];
	size_t off = 0, lens[] = {1, 17, 200, 2, 999};
	struct frame_reader fr;
	(void)state;
	for (size_t k = 0; k < 5; k++) {
		size_t t;
		uint8_t *b = make_frame(lens[k], (uint8_t)k, &t);
		memcpy(buf + off, b, t);
		off += t;
		free(b);
	}
	/* all at once */
	frame_reader_init(&fr, 65535);
	{
		const uint8_t *in = buf, *f;
		size_t in_len = off, flen;
		for (size_t k = 0; k < 5; k++) {
			assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 1);
			expect_payload(f, flen, lens[k], (uint8_t)k);
		}
		assert_int_equal(frame_reader_next(&fr, &in, &in_len, &f, &flen), 0);
	}
	frame_reader_free(&fr);
	/* one byte at a time */
	frame_reader_init(&fr, 65535);
	{
		size_t k = 0;
		for (size_t i = 0; i < off; i++) {
			const uint8_t *in = buf + i, *f;
			size_t in_len = 1, flen;
			int r = frame_reader_next(&fr, &in, &in_len, &f, &flen);
			assert_true(r >= 0);
			if (r == 1) {
				expect_payload(f, flen, lens[k], (uint8_t)k);
				k++;
			}
		}
		assert_int_equal(k, 5);
	}
	frame_reader_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_zero_rejected),
		cmocka_unit_test(test_length_one_and_max),
		cmocka_unit_test(test_max_plus_one_rejected),
		cmocka_unit_test(test_split_across_reads),
		cmocka_unit_test(test_bytewise_and_many_in_one_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
