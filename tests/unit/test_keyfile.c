#include "testutil.h"

#include "app/keyfile.h"
#include "crypto/identity.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEED_ZERO "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct fixture {
	char dir[256];
	char path[512];
	char err[1024];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
	snprintf(f->path, sizeof(f->path), "%s/identity.key", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void write_raw(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct identity id, got;
	struct stat st;

	assert_int_equal(identity_generate(&id), 0);
	assert_int_equal(keyfile_write(f->path, &id), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, strlen(KEYFILE_TAG) + 1 + 52 + 1);
	assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), 0);
	assert_memory_equal(got.pk, id.pk, sizeof(id.pk));
	assert_memory_equal(got.sk, id.sk, sizeof(id.sk));
	assert_memory_equal(got.x_sk, id.x_sk, sizeof(id.x_sk));
	identity_wipe(&id);
	identity_wipe(&got);
}

/* The format, byte for byte, for a known seed. */
static void test_format(void **state)
{
	struct fixture *f = *state;
	uint8_t seed[IDENTITY_SEED_LEN] = {0};
	struct identity id, got;
	char *text;

	assert_int_equal(identity_from_seed(&id, seed), 0);
	assert_int_equal(keyfile_write(f->path, &id), 0);
	text = tu_read_file(f->path, NULL);
	assert_string_equal(text, "coex-ed25519-seed-v1 " SEED_ZERO "\n");
	free(text);

	/* tolerated: no final newline, upper case */
	write_raw(f->path, "coex-ed25519-seed-v1 " SEED_ZERO, 73, 0600);
	assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), 0);
	assert_memory_equal(got.pk, id.pk, sizeof(id.pk));
	write_raw(f->path,
		  "coex-ed25519-seed-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 74,
		  0400);
	assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), 0);
	assert_memory_equal(got.pk, id.pk, sizeof(id.pk));
	identity_wipe(&id);
	identity_wipe(&got);
}

static void test_too_open_refused(void **state)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606, 0620, 0602, 0610, 0601, 0666};
	struct fixture *f = *state;
	struct identity id, got, untouched;
	char want[1200];

	assert_int_equal(identity_generate(&id), 0);
	assert_int_equal(keyfile_write(f->path, &id), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->path, modes[i]), 0);
		memset(&got, 0xab, sizeof(got));
		untouched = got;
		assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), ERR_DENIED);
		snprintf(want, sizeof(want), "%s: permissions %04o are too open; the key must be"
			 " readable only by its owner (chmod 600 %s)", f->path, (unsigned)modes[i],
			 f->path);
		assert_string_equal(f->err, want);
		assert_memory_equal(&got, &untouched, sizeof(got));
	}
	/* owner-only modes are fine */
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(keyfile_read(f->path, &got, NULL, 0), 0);
	assert_int_equal(chmod(f->path, 0700), 0);
	assert_int_equal(keyfile_read(f->path, &got, NULL, 0), 0);
	identity_wipe(&id);
	identity_wipe(&got);
}

static void test_malformed_refused(void **state)
{
	static const struct {
		const char *data;
		int bad_tag; /* 1: "not a coex identity key", 0: "malformed key" */
	} cases[] = {
		{"", 1},
		{"\n", 1},
		{"coex-ed25519-seed-v1", 1},
		{"coex-ed25519-seed-v2 " SEED_ZERO "\n", 1},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH\n", 1},
		{" coex-ed25519-seed-v1 " SEED_ZERO "\n", 1},
		{"coex-ed25519-seed-v1  " SEED_ZERO "\n", 0},
		{"coex-ed25519-seed-v1 \n", 0},
		{"coex-ed25519-seed-v1 " SEED_ZERO "a\n", 0},           /* too long */
		{"coex-ed25519-seed-v1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0},
		{"coex-ed25519-seed-v1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n", 0},
		{"coex-ed25519-seed-v1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1a\n", 0},
		{"coex-ed25519-seed-v1 " SEED_ZERO "\r\n", 0},
		{"coex-ed25519-seed-v1 " SEED_ZERO "\n\n", 0},
		{"coex-ed25519-seed-v1 " SEED_ZERO "\ncomment\n", 0},
		{"coex-ed25519-seed-v1 " SEED_ZERO " \n", 0},
	};
	struct fixture *f = *state;
	struct identity got, untouched;
	char want[1200], big[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu\n", i);
		write_raw(f->path, cases[i].data, strlen(cases[i].data), 0600);
		memset(&got, 0xab, sizeof(got));
		untouched = got;
		assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), ERR_PROTO);
		if (cases[i].bad_tag)
			snprintf(want, sizeof(want), "%s: not a coex identity key (expected one"
				 " line \"coex-ed25519-seed-v1 <seed>\")", f->path);
		else
			snprintf(want, sizeof(want), "%s: malformed key: the seed must be 52 base32"
				 " characters on one line", f->path);
		assert_string_equal(f->err, want);
		assert_memory_equal(&got, &untouched, sizeof(got));
	}

	/* a file longer than any key */
	memset(big, 'a', sizeof(big));
	write_raw(f->path, big, sizeof(big), 0600);
	assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), ERR_PROTO);
	snprintf(want, sizeof(want), "%s: cannot read: longer than a key", f->path);
	assert_string_equal(f->err, want);

	/* not a regular file */
	assert_int_equal(keyfile_read(f->dir, &got, f->err, sizeof(f->err)), ERR_PROTO);
	snprintf(want, sizeof(want), "%s: not a regular file", f->dir);
	assert_string_equal(f->err, want);
}

static void test_exclusive_create(void **state)
{
	struct fixture *f = *state;
	struct identity a, b, got;
	char path[600];

	assert_int_equal(identity_generate(&a), 0);
	assert_int_equal(identity_generate(&b), 0);
	assert_int_equal(keyfile_write(f->path, &a), 0);
	assert_int_equal(keyfile_write(f->path, &b), ERR_EXISTS);
	assert_int_equal(keyfile_read(f->path, &got, NULL, 0), 0);
	assert_memory_equal(got.pk, a.pk, sizeof(a.pk)); /* the first key is kept */

	/* a dangling symlink is not followed */
	snprintf(path, sizeof(path), "%s/link.key", f->dir);
	assert_int_equal(symlink("target.key", path), 0);
	assert_int_equal(keyfile_write(path, &b), ERR_EXISTS);
	snprintf(path, sizeof(path), "%s/target.key", f->dir);
	assert_int_equal(access(path, F_OK), -1);

	snprintf(path, sizeof(path), "%s/missing/identity.key", f->dir);
	assert_int_equal(keyfile_write(path, &b), -ENOENT);
	identity_wipe(&a);
	identity_wipe(&b);
	identity_wipe(&got);
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	struct identity got;
	char want[1200];

	assert_int_equal(keyfile_read(f->path, &got, f->err, sizeof(f->err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", f->path, strerror(ENOENT));
	assert_string_equal(f->err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusive_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
