/* Writing and reading DATA/identity.key. */
#include "app/keyfile.h"
#include "crypto/identity.h"
#include "lib/base32.h"
#include "lib/err.h"
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	KEYFILE_MODE = 0600,
	KEYFILE_TAG_LEN = sizeof(KEYFILE_TAG) - 1,
	KEYFILE_SEED_TEXT_LEN = 52,                  /* base32 of IDENTITY_SEED_LEN bytes */
	KEYFILE_LINE_LEN = KEYFILE_TAG_LEN + 1 + KEYFILE_SEED_TEXT_LEN, /* without "\n" */
	KEYFILE_BUF = 128,                           /* more than a line: the rest is junk */
	KEYFILE_PATH_BUF = 4096,
};

__attribute__((format(printf, 3, 4)))
static void keyfile_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int keyfile_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int keyfile_write(const char *path, const struct identity *id)
{
	char line[KEYFILE_BUF];
	int fd, r;

	/* the seed is the first half of libsodium's secret key */
	memcpy(line, KEYFILE_TAG " ", KEYFILE_TAG_LEN + 1);
	base32_encode(id->sk, IDENTITY_SEED_LEN, line + KEYFILE_TAG_LEN + 1,
		      sizeof(line) - KEYFILE_TAG_LEN - 2);
	line[KEYFILE_LINE_LEN] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, KEYFILE_MODE)) < 0) {
		r = errno == EEXIST ? ERR_EXISTS : -errno;
		goto out;
	}
	/* the mode must not depend on the umask */
	if (fchmod(fd, KEYFILE_MODE) != 0)
		r = -errno;
	else
		r = keyfile_write_all(fd, line, KEYFILE_LINE_LEN + 1);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = fsutil_sync_dir(path);
	if (r != 0)
		unlink(path);
out:
	sodium_memzero(line, sizeof(line));
	return r;
}

/* Reads the whole file into buf; ERR_PROTO if it does not fit. */
static int keyfile_read_all(int fd, char *buf, size_t cap, size_t *len_out)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			return ERR_PROTO;
	}
	*len_out = len;
	return 0;
}

static int keyfile_parse(const char *path, const char *buf, size_t len,
			 uint8_t seed[IDENTITY_SEED_LEN], char *err, size_t errlen)
{
	size_t n;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < KEYFILE_TAG_LEN + 1 || memcmp(buf, KEYFILE_TAG " ", KEYFILE_TAG_LEN + 1) != 0) {
		keyfile_msg(err, errlen, "%s: not a coex identity key (expected one line \"%s"
			    " <seed>\")", path, KEYFILE_TAG);
		return ERR_PROTO;
	}
	if (len != KEYFILE_LINE_LEN ||
	    base32_decode(buf + KEYFILE_TAG_LEN + 1, KEYFILE_SEED_TEXT_LEN, seed,
			  IDENTITY_SEED_LEN, &n) != 0 || n != IDENTITY_SEED_LEN) {
		keyfile_msg(err, errlen, "%s: malformed key: the seed must be %d base32 characters"
			    " on one line", path, KEYFILE_SEED_TEXT_LEN);
		return ERR_PROTO;
	}
	return 0;
}

/* Like ssh: no permission at all for group or others. */
static int keyfile_check_file(const char *path, int fd, char *err, size_t errlen)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) != 0) {
		r = -errno;
		keyfile_msg(err, errlen, "%s: cannot stat: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		keyfile_msg(err, errlen, "%s: not a regular file", path);
		return ERR_PROTO;
	}
	if (st.st_mode & 077) {
		keyfile_msg(err, errlen, "%s: permissions %04o are too open; the key must be"
			    " readable only by its owner (chmod 600 %s)", path,
			    (unsigned)(st.st_mode & 07777), path);
		return ERR_DENIED;
	}
	return 0;
}

int keyfile_read(const char *path, struct identity *out, char *err, size_t errlen)
{
	char buf[KEYFILE_BUF];
	uint8_t seed[IDENTITY_SEED_LEN];
	size_t len = 0;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = -errno;
		keyfile_msg(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		goto out;
	}
	if ((r = keyfile_check_file(path, fd, err, errlen)) != 0)
		goto out;
	if ((r = keyfile_read_all(fd, buf, sizeof(buf), &len)) != 0) {
		keyfile_msg(err, errlen, "%s: cannot read: %s", path,
			    r == ERR_PROTO ? "longer than a key" : err_str(r));
		goto out;
	}
	if ((r = keyfile_parse(path, buf, len, seed, err, errlen)) != 0)
		goto out;
	if ((r = identity_from_seed(out, seed)) != 0)
		keyfile_msg(err, errlen, "%s: cannot derive the key: %s", path, err_str(r));
out:
	if (fd >= 0)
		close(fd);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return r;
}
