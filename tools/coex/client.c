#include "client.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
	LEN_PREFIX = 4,
	BUSY_RETRY_MS = 20, /* pause before retrying a connect refused for a full backlog */
};

struct conn {
	int fd;
	int timeout_ms;
	int64_t deadline_ms; /* monotonic */
	char *err;
	size_t errlen;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct conn *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the reason for a failure into the caller's buffer and returns r. */
static int fail(struct conn *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* Waits until fd is ready for events, or the deadline passes. Returns 0 or ERR_TIMEOUT. */
static int conn_wait(struct conn *c, short events)
{
	for (;;) {
		int64_t left = c->deadline_ms - mono_ms();
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int n;

		if (left <= 0)
			return fail(c, ERR_TIMEOUT, "no answer from coexd within %d s",
				    (c->timeout_ms + 999) / 1000);
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(c, -errno, "poll: %s", strerror(errno));
	}
}

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r, e;
	socklen_t sl = sizeof e;

	if (strlen(path) >= sizeof sa.sun_path)
		return fail(c, ERR_TOOBIG, "socket path %s is too long for a Unix socket; "
			    "use a shorter --data", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return fail(c, -errno, "socket: %s", strerror(errno));
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0)
		return fail(c, -errno, "fcntl: %s", strerror(errno));
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return 0;
		/* Interrupted, the connect goes on in the background like EINPROGRESS. */
		if (errno == EINPROGRESS || errno == EINTR)
			break;
		if (errno != EAGAIN)
			return fail(c, ERR_UNAVAILABLE, "%s", strerror(errno));
		/* A Unix socket says EAGAIN when the daemon's backlog is full: it runs but is busy. */
		if (c->deadline_ms - mono_ms() <= 0)
			return fail(c, ERR_TIMEOUT, "%s", "coexd is too busy to accept a connection");
		poll(NULL, 0, BUSY_RETRY_MS);
	}
	if ((r = conn_wait(c, POLLOUT)) != 0)
		return r;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
		return fail(c, -errno, "getsockopt: %s", strerror(errno));
	return e ? fail(c, ERR_UNAVAILABLE, "%s", strerror(e)) : 0;
}

static int conn_write(struct conn *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		int r;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((r = conn_wait(c, POLLOUT)) != 0)
				return r;
		} else if (errno != EINTR) {
			return fail(c, errno == EPIPE || errno == ECONNRESET ? ERR_PROTO : -errno,
				    "coexd closed the connection: %s", strerror(errno));
		}
	}
	return 0;
}

static int conn_read(struct conn *c, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(c->fd, p, len, 0);
		int r;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return fail(c, ERR_PROTO, "%s", "coexd closed the connection before answering");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((r = conn_wait(c, POLLIN)) != 0)
				return r;
		} else if (errno != EINTR) {
			return fail(c, errno == ECONNRESET ? ERR_PROTO : -errno,
				    "reading from coexd: %s", strerror(errno));
		}
	}
	return 0;
}

static int conn_send_request(struct conn *c, const Coex__CtlRequest *req)
{
	size_t len = coex__ctl_request__get_packed_size(req);
	uint8_t *buf;
	int r;

	if (len > CLIENT_MAX_MESSAGE)
		return fail(c, ERR_TOOBIG, "request of %zu bytes is over the %d MiB limit", len,
			    CLIENT_MAX_MESSAGE >> 20);
	if (!(buf = malloc(LEN_PREFIX + len)))
		return fail(c, ERR_NOMEM, "%s", "out of memory");
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	coex__ctl_request__pack(req, buf + LEN_PREFIX);
	r = conn_write(c, buf, LEN_PREFIX + len);
	free(buf);
	return r;
}

static int conn_read_response(struct conn *c, Coex__CtlResponse **out)
{
	uint8_t hdr[LEN_PREFIX];
	uint8_t *buf = NULL;
	Coex__CtlResponse *resp;
	uint32_t len;
	int r;

	if ((r = conn_read(c, hdr, sizeof hdr)) != 0)
		return r;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > CLIENT_MAX_MESSAGE)
		return fail(c, ERR_TOOBIG, "coexd announced a %lu-byte response, over the %d MiB limit",
			    (unsigned long)len, CLIENT_MAX_MESSAGE >> 20);
	if (!(buf = malloc(len ? len : 1)))
		return fail(c, ERR_NOMEM, "%s", "out of memory");
	if ((r = conn_read(c, buf, len)) != 0)
		goto out;
	if (!(resp = coex__ctl_response__unpack(NULL, len, buf))) {
		r = fail(c, ERR_PROTO, "%s", "malformed response from coexd");
		goto out;
	}
	*out = resp;
out:
	free(buf);
	return r;
}

int client_call(const char *sock_path, const Coex__CtlRequest *req, int timeout_ms,
		Coex__CtlResponse **out, char *err, size_t errlen)
{
	struct conn c = { .fd = -1, .err = err, .errlen = errlen };
	int r;

	c.timeout_ms = timeout_ms > 0 ? timeout_ms : CLIENT_TIMEOUT_MS;
	c.deadline_ms = mono_ms() + c.timeout_ms;
	if ((r = conn_open(&c, sock_path)) != 0)
		goto out;
	if ((r = conn_send_request(&c, req)) != 0)
		goto out;
	r = conn_read_response(&c, out);
out:
	if (c.fd >= 0)
		close(c.fd);
	return r;
}
