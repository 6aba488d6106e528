#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

char *tu_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len_out)
		*len_out = (size_t)n;
	return buf;
}

const char *tu_vector_path(const char *rel)
{
	static char path[4096];
	const char *base = getenv("COEX_VECTORS");

	if (!base)
		base = "../shared/vectors";
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return path;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *tu_hex(const char *hex, size_t *len_out)
{
	size_t n = strlen(hex);
	uint8_t *out;

	if (n % 2)
		fail_msg("odd hex length");
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail_msg("bad hex");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len_out = n / 2;
	return out;
}

void tu_hex_exact(const char *hex, uint8_t *out, size_t n)
{
	size_t len;
	uint8_t *b = tu_hex(hex, &len);

	assert_int_equal(len, n);
	memcpy(out, b, n);
	free(b);
}

const char *tu_tmpdir(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "/tmp/coex-unit-XXXXXX");
	if (!mkdtemp(path))
		fail_msg("mkdtemp failed");
	return path;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void tu_rmtree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
