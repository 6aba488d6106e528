/* Proposals over the control socket: one at a time on a blocking connection (and the wait for
 * each one's receipt), or many pipelined over persistent connections, each connection with up
 * to `depth` requests in flight (the node answers them in order, each once durable, and
 * batches them). */
#include "bench.h"
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { CTL_LEN_PREFIX = 4, CTL_MAX_CONNS = 1000, CTL_CONNECT_RETRY_MS = 10 };

static char proposal_body[BENCH_PROPOSAL_BODY + 1];

static void proposal_fill(Coex__ProposeRequest *p, const char *to, const char *title)
{
	static const char words[] = "Joint cold-chain pilot: shared refrigerated capacity. ";

	for (size_t i = 0; i < BENCH_PROPOSAL_BODY; i++)
		proposal_body[i] = words[i % (sizeof(words) - 1)];
	proposal_body[BENCH_PROPOSAL_BODY] = 0;
	p->to = (char *)to;
	p->title = (char *)title;
	p->summary = "Benchmark proposal";
	p->body = proposal_body;
	p->terms = "50/50";
}

void bench_req_propose(struct bench_req *r, const char *to, const char *title)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__ProposeRequest p = COEX__PROPOSE_REQUEST__INIT;
	size_t n;

	proposal_fill(&p, to, title);
	req.cmd_case = COEX__CTL_REQUEST__CMD_PROPOSE;
	req.propose = &p;
	n = coex__ctl_request__get_packed_size(&req);
	if (!(r->buf = malloc(CTL_LEN_PREFIX + n)))
		bench_die("out of memory");
	r->buf[0] = (uint8_t)(n >> 24);
	r->buf[1] = (uint8_t)(n >> 16);
	r->buf[2] = (uint8_t)(n >> 8);
	r->buf[3] = (uint8_t)n;
	coex__ctl_request__pack(&req, r->buf + CTL_LEN_PREFIX);
	r->len = CTL_LEN_PREFIX + n;
}

void bench_req_free(struct bench_req *r)
{
	free(r->buf);
	r->buf = NULL;
}

struct pconn {
	int fd;
	int inflight;               /* requests sent or being sent, not yet answered */
	int unsent;                 /* of which not yet (completely) written */
	size_t off;                 /* bytes of the first unsent request written */
	uint8_t hdr[CTL_LEN_PREFIX];
	size_t hdr_have;
	uint8_t *body;
	size_t need, have;
};

static int pconn_open(const char *sock, struct pconn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double deadline = bench_now() + BENCH_CTL_TIMEOUT_MS / 1000.0;

	memset(c, 0, sizeof(*c));
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/* EAGAIN: the daemon's accept backlog is full; it runs but is busy. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if ((e != EAGAIN && e != EINTR) || bench_now() > deadline) {
			close(c->fd);
			c->fd = -1;
			return -e;
		}
		bench_sleep_ms(CTL_CONNECT_RETRY_MS);
	}
	return fcntl(c->fd, F_SETFL, O_NONBLOCK) == 0 ? 0 : -errno;
}

static void push_fail(struct bench_push *out, const char *prefix, const char *what)
{
	if (!out->err[0])
		snprintf(out->err, sizeof(out->err), "%s%s", prefix, what);
	out->failed++;
}

/* Reads what is there; returns 1 when a whole response was read, 0 for more, <0 on error. */
static int pconn_read(struct pconn *c, struct bench_push *out)
{
	for (;;) {
		uint8_t *dst = c->hdr_have < CTL_LEN_PREFIX ? c->hdr + c->hdr_have : c->body + c->have;
		size_t want = c->hdr_have < CTL_LEN_PREFIX ? CTL_LEN_PREFIX - c->hdr_have : c->need - c->have;
		ssize_t n = want ? recv(c->fd, dst, want, 0) : 0;
		Coex__CtlResponse *resp;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (want && n == 0)
			return -EPIPE;
		if (c->hdr_have < CTL_LEN_PREFIX) {
			if ((c->hdr_have += (size_t)n) < CTL_LEN_PREFIX)
				continue;
			c->need = (size_t)c->hdr[0] << 24 | (size_t)c->hdr[1] << 16 |
				  (size_t)c->hdr[2] << 8 | c->hdr[3];
			if (c->need > CLIENT_MAX_MESSAGE || !(c->body = malloc(c->need + 1)))
				return -ENOMEM;
			c->have = 0;
		} else {
			c->have += (size_t)n;
		}
		if (c->have < c->need)
			continue;
		resp = coex__ctl_response__unpack(NULL, c->need, c->body);
		if (!resp)
			push_fail(out, "", "malformed response");
		else if (resp->code != 0)
			push_fail(out, "propose: ", resp->error);
		else
			out->ok++;
		if (resp)
			coex__ctl_response__free_unpacked(resp, NULL);
		free(c->body);
		c->body = NULL;
		c->hdr_have = c->need = c->have = 0;
		c->inflight--;
		return 1;
	}
}

static int pconn_write(struct pconn *c, const struct bench_req *req)
{
	while (c->unsent > 0) {
		ssize_t n = send(c->fd, req->buf + c->off, req->len - c->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if ((c->off += (size_t)n) == req->len) {
			c->off = 0;
			c->unsent--;
		}
	}
	return 0;
}

static int push_loop(struct pconn *cs, struct pollfd *pf, int conns, int depth,
		     const struct bench_req *req, long count, struct bench_push *out)
{
	long started = 0;
	int r;

	while (out->ok + out->failed < count) {
		for (int i = 0; i < conns; i++) {
			bool more = false;
			while (cs[i].inflight < depth && started < count) {
				if (started++ == 0)
					out->first_s = bench_now();
				cs[i].inflight++;
				cs[i].unsent++;
				more = true;
			}
			if (more && (r = pconn_write(&cs[i], req)) != 0)
				return r;
			pf[i].fd = cs[i].inflight ? cs[i].fd : -1;
			pf[i].events = (short)(POLLIN | (cs[i].unsent ? POLLOUT : 0));
		}
		if ((r = poll(pf, (nfds_t)conns, BENCH_CTL_TIMEOUT_MS)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		for (int i = 0; i < conns; i++) {
			if (!pf[i].revents)
				continue;
			if ((pf[i].revents & POLLOUT) && (r = pconn_write(&cs[i], req)) != 0)
				return r;
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				while ((r = pconn_read(&cs[i], out)) == 1 && cs[i].inflight > 0)
					;
			if (r < 0)
				return r;
		}
	}
	out->last_s = bench_now();
	return 0;
}

int bench_ctl_push(const char *sock, const struct bench_req *req, long count, int conns,
		   int depth, struct bench_push *out)
{
	struct pconn *cs;
	struct pollfd *pf;
	int r = 0, opened = 0;

	memset(out, 0, sizeof(*out));
	if (conns < 1 || conns > CTL_MAX_CONNS || depth < 1)
		return -EINVAL;
	if (!(cs = calloc((size_t)conns, sizeof(*cs))) || !(pf = calloc((size_t)conns, sizeof(*pf))))
		bench_die("out of memory");
	for (; opened < conns; opened++)
		if ((r = pconn_open(sock, &cs[opened])) != 0)
			goto out;
	r = push_loop(cs, pf, conns, depth, req, count, out);
out:
	if (r != 0 && !out->err[0])
		snprintf(out->err, sizeof(out->err), "control connection: %s", strerror(-r));
	for (int i = 0; i < opened; i++) {
		free(cs[i].body);
		close(cs[i].fd);
	}
	free(cs);
	free(pf);
	return r;
}

static int hex_decode32(const char *hex, uint8_t out[32])
{
	if (!hex || strlen(hex) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int bench_conn_open(const char *sock, struct bench_conn *c)
{
	struct pconn p;
	int r = pconn_open(sock, &p);

	c->fd = p.fd;
	if (r == 0 && fcntl(c->fd, F_SETFL, 0) != 0) /* blocking: one request at a time */
		r = -errno;
	if (r != 0 && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	return r;
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int conn_io(int fd, uint8_t *buf, size_t len, bool out, double deadline)
{
	for (size_t off = 0; off < len;) {
		struct pollfd pf = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		int ms = (int)((deadline - bench_now()) * 1000) + 1;
		ssize_t n;

		if (ms <= 0 || poll(&pf, 1, ms) == 0)
			return -ETIMEDOUT;
		n = out ? send(fd, buf + off, len - off, MSG_NOSIGNAL) : recv(fd, buf + off, len - off, 0);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return -EPIPE;
		off += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* Sends req and reads its response (free it with coex__ctl_response__free_unpacked). */
static int conn_call(struct bench_conn *c, const Coex__CtlRequest *req, uint32_t timeout_ms,
		     Coex__CtlResponse **out, char *err, size_t errlen)
{
	double deadline = bench_now() + timeout_ms / 1000.0;
	size_t n = coex__ctl_request__get_packed_size(req), len;
	uint8_t *buf = malloc(CTL_LEN_PREFIX + n), hdr[CTL_LEN_PREFIX];
	int r;

	if (!buf)
		bench_die("out of memory");
	for (int i = 0; i < CTL_LEN_PREFIX; i++)
		buf[i] = (uint8_t)(n >> (8 * (CTL_LEN_PREFIX - 1 - i)));
	coex__ctl_request__pack(req, buf + CTL_LEN_PREFIX);
	r = conn_io(c->fd, buf, CTL_LEN_PREFIX + n, true, deadline);
	free(buf);
	if (r == 0 && (r = conn_io(c->fd, hdr, sizeof(hdr), false, deadline)) == 0) {
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		if (len > CLIENT_MAX_MESSAGE || !(buf = malloc(len + 1)))
			r = -ENOMEM;
		else if ((r = conn_io(c->fd, buf, len, false, deadline)) == 0 &&
			 !(*out = coex__ctl_response__unpack(NULL, len, buf)))
			r = -EPROTO;
		if (len <= CLIENT_MAX_MESSAGE)
			free(buf);
	}
	if (r != 0)
		snprintf(err, errlen, "control connection: %s", strerror(-r));
	return r;
}

int bench_conn_propose(struct bench_conn *c, const char *to, const char *title, uint8_t hash[32],
		       char *err, size_t errlen)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__ProposeRequest p = COEX__PROPOSE_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL;
	int r;

	proposal_fill(&p, to, title);
	req.cmd_case = COEX__CTL_REQUEST__CMD_PROPOSE;
	req.propose = &p;
	if ((r = conn_call(c, &req, BENCH_CTL_TIMEOUT_MS, &resp, err, errlen)) != 0)
		return r;
	if (resp->code != 0) {
		snprintf(err, errlen, "propose: %s", resp->error);
		r = resp->code;
	} else if (resp->result_case != COEX__CTL_RESPONSE__RESULT_MESSAGE ||
		   hex_decode32(resp->message->id, hash) != 0) {
		snprintf(err, errlen, "propose: no message id in the answer");
		r = -EINVAL;
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return r;
}

int bench_conn_wait_receipt(struct bench_conn *c, const uint8_t hash[32], uint32_t timeout_ms,
			    char *err, size_t errlen)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__ShowRequest sr = COEX__SHOW_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL;
	char hex[65];
	int r;

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	sr.message = hex;
	sr.wait_receipt_ms = timeout_ms;
	req.cmd_case = COEX__CTL_REQUEST__CMD_SHOW;
	req.show = &sr;
	/* the node answers at its deadline at the latest: allow for the trip */
	if ((r = conn_call(c, &req, timeout_ms + BENCH_CTL_TIMEOUT_MS, &resp, err, errlen)) != 0)
		return r;
	if (resp->code != 0) {
		snprintf(err, errlen, "show: %s", resp->error);
		r = resp->code;
	} else if (resp->result_case != COEX__CTL_RESPONSE__RESULT_MESSAGE) {
		snprintf(err, errlen, "show: no message in the answer");
		r = -EINVAL;
	} else if (strcmp(resp->message->state, "delivered") != 0 &&
		   strcmp(resp->message->state, "answered") != 0) {
		snprintf(err, errlen, "no receipt within %u ms (state %s)", timeout_ms, resp->message->state);
		r = -ETIMEDOUT;
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return r;
}
