#define _GNU_SOURCE /* struct ucred */
/* The control socket server: connections, length-prefixed framing, peer credentials. */
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/net.h"
#include "wire/limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	CTL_PIPELINE_MAX = 256,         /* requests read but not yet answered, per connection */
	CTL_PIPELINE_BYTES = 8 << 20,   /* and their size: a second request waits beyond this */
	CTL_WRITE_BACKLOG = 1 << 20,    /* bytes of replies the client has not taken: stop reading */
	CTL_WAIT_TICK_MS = 25,          /* how often the deadlines of receipt waiters are checked */
};

/* A control connection: framing, the requests in flight (answered in the order they came),
 * and the input not yet parsed while it waits (for earlier requests, or for the client to
 * take its replies). */
struct ctl_conn {
	struct ctl *ctl;
	struct ctl_conn *prev, *next;
	uv_pipe_t pipe;
	uint8_t hdr[4];
	size_t hdr_have;
	uint8_t *body;
	size_t need, have;
	bool has_waiting;               /* a request was read and waits for its turn */
	Coex__CtlRequest *waiting;      /* it (NULL: it does not decode) */
	size_t waiting_size;            /* its packed size */
	struct ctl_client *first, *last;
	size_t n_reqs, n_bytes;         /* requests in flight and their packed sizes */
	size_t n_exclusive;             /* requests in flight that run alone (all but propose) */
	char *held;                     /* the latest read buffer, parsed up to held_off */
	size_t held_off, held_len;
	bool reading, pumping, closing;
};

struct ctl_write {
	uv_write_t req;
	struct ctl_conn *conn;
	uv_buf_t buf;
	uint8_t data[];
};

static void ctl_conn_pump(struct ctl_conn *cn);

static void ctl_handle_closed(struct ctl *c)
{
	if (--c->open_handles == 0 && c->stopping && c->stopped)
		c->stopped(c->stopped_arg);
}

static void ctl_req_free(struct ctl_client *cl)
{
	if (cl->out)
		free(cl->out - offsetof(struct ctl_write, data));
	free(cl);
}

static void ctl_conn_on_close(uv_handle_t *h)
{
	struct ctl_conn *cn = h->data;
	struct ctl *c = cn->ctl;
	struct ctl_client *next;

	if (cn->prev)
		cn->prev->next = cn->next;
	else
		c->clients = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	c->n_clients--;
	for (struct ctl_client *cl = cn->first; cl; cl = next) {
		next = cl->next;
		ctl_req_free(cl);
	}
	if (cn->waiting)
		coex__ctl_request__free_unpacked(cn->waiting, NULL);
	free(cn->held);
	free(cn->body);
	free(cn);
	ctl_handle_closed(c);
}

static void ctl_wait_remove(struct ctl_client *cl);

static void ctl_conn_close(struct ctl_conn *cn)
{
	if (cn->closing)
		return;
	cn->closing = true;
	for (struct ctl_client *cl = cn->first; cl; cl = cl->next) {
		if (cl->busy) {
			ctl_wait_remove(cl);
			ctl_cmd_abandon(cl);
		}
	}
	uv_close((uv_handle_t *)&cn->pipe, ctl_conn_on_close);
}

static void ctl_on_write(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_conn *cn = w->conn;

	free(w);
	if (status == 0 && !cn->closing && !cn->reading)
		ctl_conn_pump(cn); /* the client took replies: maybe read on */
}

/* Frames resp into a write request (the reply's bytes are w->data, 4 + packed size). */
static struct ctl_write *ctl_write_new(const Coex__CtlResponse *resp, size_t *len)
{
	size_t n = coex__ctl_response__get_packed_size(resp);
	struct ctl_write *w = malloc(sizeof(*w) + 4 + n);

	if (!w)
		return NULL;
	w->data[0] = (uint8_t)(n >> 24);
	w->data[1] = (uint8_t)(n >> 16);
	w->data[2] = (uint8_t)(n >> 8);
	w->data[3] = (uint8_t)n;
	coex__ctl_response__pack(resp, w->data + 4);
	*len = 4 + n;
	return w;
}

static void ctl_conn_write(struct ctl_conn *cn, struct ctl_write *w, size_t len)
{
	w->conn = cn;
	w->buf = uv_buf_init((char *)w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&cn->pipe, &w->buf, 1, ctl_on_write) != 0) {
		free(w);
		ctl_conn_close(cn);
	}
}

/* An answer outside the request queue (refusals before or instead of any request). */
static void ctl_conn_refuse(struct ctl_conn *cn, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ctl_conn_refuse(struct ctl_conn *cn, int code, const char *fmt, ...)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	struct ctl_write *w;
	char msg[256];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp.code = code;
	resp.error = msg;
	if ((w = ctl_write_new(&resp, &len)))
		ctl_conn_write(cn, w, len);
}

/* Sends the replies that are due: those at the head of the queue whose commands finished. */
static void ctl_conn_flush(struct ctl_conn *cn)
{
	struct ctl_client *cl;

	while ((cl = cn->first) && cl->replied && !cl->busy && !cl->running) {
		cn->first = cl->next;
		if (!cn->first)
			cn->last = NULL;
		cn->n_reqs--;
		cn->n_bytes -= cl->size;
		if (!cl->pipelined)
			cn->n_exclusive--;
		if (cl->out && !cn->closing) {
			ctl_conn_write(cn, (struct ctl_write *)(cl->out - offsetof(struct ctl_write, data)),
				       cl->out_len);
			cl->out = NULL;
		}
		ctl_req_free(cl);
	}
	if (!cn->closing && !cn->reading)
		ctl_conn_pump(cn); /* a request may be waiting for these */
}

void ctl_client_reply(struct ctl_client *cl, const Coex__CtlResponse *resp)
{
	struct ctl_write *w;

	if (cl->conn->closing || cl->replied)
		return;
	cl->replied = true;
	if (!(w = ctl_write_new(resp, &cl->out_len))) {
		ctl_conn_close(cl->conn);
		return;
	}
	cl->out = w->data;
	ctl_conn_flush(cl->conn);
}

int ctl_client_error(struct ctl_client *cl, int code, const char *fmt, ...)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp.code = code;
	resp.error = msg;
	ctl_client_reply(cl, &resp);
	return code;
}

void ctl_client_resume(struct ctl_client *cl)
{
	cl->busy = false;
	cl->join = NULL;
	cl->wait = NULL;
}

/* ------------------------------------------------------------- waiting for a receipt */

static void ctl_wait_remove(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	if (!cl->waits_receipt)
		return;
	cl->waits_receipt = false;
	if (cl->wprev)
		cl->wprev->wnext = cl->wnext;
	else
		c->receipt_waiters = cl->wnext;
	if (cl->wnext)
		cl->wnext->wprev = cl->wprev;
	cl->wprev = cl->wnext = NULL;
	if (!c->receipt_waiters)
		uv_timer_stop(&c->wait_timer);
}

/* Answers the first waiter that match() accepts; false if none did. Its reply may close
 * connections (and so remove other waiters): the caller scans again from the start. */
static bool ctl_wait_answer_one(struct ctl *c, bool (*match)(const struct ctl_client *cl, const void *arg),
				const void *arg)
{
	for (struct ctl_client *cl = c->receipt_waiters; cl; cl = cl->wnext) {
		if (!match(cl, arg))
			continue;
		ctl_wait_remove(cl);
		ctl_client_resume(cl);
		cl->wait_answer(cl, cl->wait_hash);
		return true;
	}
	return false;
}

static bool ctl_wait_is_for(const struct ctl_client *cl, const void *hash)
{
	return memcmp(cl->wait_hash, hash, 32) == 0;
}

static bool ctl_wait_is_due(const struct ctl_client *cl, const void *now)
{
	return cl->wait_deadline_ms <= *(const uint64_t *)now;
}

static void ctl_on_receipt(void *arg, const uint8_t hash[32])
{
	while (ctl_wait_answer_one(arg, ctl_wait_is_for, hash))
		;
}

static void ctl_on_wait_tick(uv_timer_t *t)
{
	struct ctl *c = t->data;
	uint64_t now = uv_now(c->loop);

	while (ctl_wait_answer_one(c, ctl_wait_is_due, &now))
		;
}

void ctl_client_wait_receipt(struct ctl_client *cl, const uint8_t hash[32], uint32_t timeout_ms,
			     void (*answer)(struct ctl_client *cl, const uint8_t hash[32]))
{
	struct ctl *c = cl->ctl;

	cl->busy = true;
	cl->waits_receipt = true;
	memcpy(cl->wait_hash, hash, 32);
	cl->wait_deadline_ms = uv_now(c->loop) + timeout_ms;
	cl->wait_answer = answer;
	cl->wprev = NULL;
	cl->wnext = c->receipt_waiters;
	if (c->receipt_waiters)
		c->receipt_waiters->wprev = cl;
	else
		uv_timer_start(&c->wait_timer, ctl_on_wait_tick, CTL_WAIT_TICK_MS, CTL_WAIT_TICK_MS);
	c->receipt_waiters = cl;
}

/* Runs req (NULL: it did not decode; size bytes) as the connection's newest request; takes
 * req. */
static void ctl_conn_start(struct ctl_conn *cn, Coex__CtlRequest *req, size_t size)
{
	struct ctl_client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		ctl_conn_close(cn);
		goto out;
	}
	cl->ctl = cn->ctl;
	cl->conn = cn;
	cl->pipelined = req && req->cmd_case == COEX__CTL_REQUEST__CMD_PROPOSE;
	cl->size = size;
	if (cn->last)
		cn->last->next = cl;
	else
		cn->first = cl;
	cn->last = cl;
	cn->n_reqs++;
	cn->n_bytes += size;
	if (!cl->pipelined)
		cn->n_exclusive++;
	cl->running = true;
	if (!req || req->cmd_case == COEX__CTL_REQUEST__CMD__NOT_SET)
		ctl_client_error(cl, ERR_PROTO, "malformed request: not a known control command");
	else
		ctl_cmd_dispatch(cl, req);
	cl->running = false;
	if (!cl->busy)
		cl->replied = true; /* a command that answered nothing must not hold up the rest */
	ctl_conn_flush(cn);
out:
	if (req)
		coex__ctl_request__free_unpacked(req, NULL);
}

/* Whether the waiting request may start now: proposes run alongside each other (each is
 * answered once durable, in order); anything else runs alone, after the earlier ones. */
static bool ctl_conn_may_start(const struct ctl_conn *cn)
{
	if (cn->pipe.write_queue_size > CTL_WRITE_BACKLOG)
		return false;
	if (cn->n_reqs == 0)
		return true;
	return cn->n_reqs < CTL_PIPELINE_MAX && cn->n_bytes + cn->waiting_size <= CTL_PIPELINE_BYTES &&
	       cn->n_exclusive == 0 && cn->waiting &&
	       cn->waiting->cmd_case == COEX__CTL_REQUEST__CMD_PROPOSE;
}

/* Parses held input until a request is complete (it then waits) or the input runs out.
 * Returns 0 or an error for which the connection is closed. */
static int ctl_conn_parse(struct ctl_conn *cn)
{
	while (cn->held_off < cn->held_len && !cn->has_waiting) {
		const uint8_t *in = (const uint8_t *)cn->held + cn->held_off;
		size_t len = cn->held_len - cn->held_off, take;

		if (cn->hdr_have < 4) {
			cn->hdr[cn->hdr_have++] = *in;
			cn->held_off++;
			if (cn->hdr_have < 4)
				continue;
			cn->need = (size_t)cn->hdr[0] << 24 | (size_t)cn->hdr[1] << 16 |
				   (size_t)cn->hdr[2] << 8 | cn->hdr[3];
			if (cn->need > LIMIT_CTL_REQUEST_MAX) {
				if (cn->n_reqs == 0) /* else it would overtake earlier replies */
					ctl_conn_refuse(cn, ERR_TOOBIG, "request of %zu bytes exceeds the limit of %d",
							cn->need, LIMIT_CTL_REQUEST_MAX);
				return ERR_TOOBIG;
			}
			if (!(cn->body = malloc(cn->need ? cn->need : 1)))
				return ERR_NOMEM;
			cn->have = 0;
			in++;
			len--;
		}
		take = cn->need - cn->have < len ? cn->need - cn->have : len;
		memcpy(cn->body + cn->have, in, take);
		cn->have += take;
		cn->held_off += take;
		if (cn->have == cn->need) {
			cn->waiting = coex__ctl_request__unpack(NULL, cn->need, cn->body);
			cn->waiting_size = cn->need;
			cn->has_waiting = true;
			free(cn->body);
			cn->body = NULL;
			cn->hdr_have = cn->have = cn->need = 0;
		}
	}
	return 0;
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(suggested);
	buf->len = buf->base ? suggested : 0;
}

static void ctl_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *cn = s->data;

	if (nread < 0) {
		free(buf->base);
		ctl_conn_close(cn);
		return;
	}
	if (nread == 0 || cn->held) { /* held: cannot happen, reading stops while input is held */
		free(buf->base);
		return;
	}
	cn->held = buf->base;
	cn->held_off = 0;
	cn->held_len = (size_t)nread;
	ctl_conn_pump(cn);
}

/* Runs the requests the input holds, as far as the connection may; reads on when all of it
 * is consumed and nothing waits, stops reading otherwise. */
static void ctl_conn_pump(struct ctl_conn *cn)
{
	if (cn->pumping || cn->closing)
		return;
	cn->pumping = true;
	for (;;) {
		if (cn->has_waiting) {
			Coex__CtlRequest *req = cn->waiting;
			if (!ctl_conn_may_start(cn))
				break;
			cn->waiting = NULL;
			cn->has_waiting = false;
			ctl_conn_start(cn, req, cn->waiting_size);
		} else if (cn->held_off < cn->held_len) {
			if (ctl_conn_parse(cn) != 0)
				ctl_conn_close(cn);
		} else {
			break;
		}
		if (cn->closing)
			break;
	}
	cn->pumping = false;
	if (cn->closing)
		return;
	if (cn->held && cn->held_off >= cn->held_len) {
		free(cn->held);
		cn->held = NULL;
		cn->held_off = cn->held_len = 0;
	}
	if (!cn->held && !cn->has_waiting && cn->pipe.write_queue_size <= CTL_WRITE_BACKLOG) {
		if (!cn->reading && uv_read_start((uv_stream_t *)&cn->pipe, ctl_alloc, ctl_on_read) == 0)
			cn->reading = true;
	} else if (cn->reading) {
		uv_read_stop((uv_stream_t *)&cn->pipe);
		cn->reading = false;
	}
}

static int ctl_peer_allowed(uv_pipe_t *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) != 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void ctl_on_connection(uv_stream_t *server, int status)
{
	struct ctl *c = server->data;
	struct ctl_conn *cn;

	if (status < 0 || c->stopping || !(cn = calloc(1, sizeof(*cn))))
		return;
	if (uv_pipe_init(c->loop, &cn->pipe, 0) != 0) {
		free(cn);
		return;
	}
	cn->ctl = c;
	cn->pipe.data = cn;
	c->open_handles++;
	c->n_clients++;
	cn->next = c->clients;
	if (c->clients)
		c->clients->prev = cn;
	c->clients = cn;
	if (uv_accept(server, (uv_stream_t *)&cn->pipe) != 0) {
		ctl_conn_close(cn);
		return;
	}
	if (!ctl_peer_allowed(&cn->pipe)) {
		log_warn("ctl_refused", "reason=%s", "another user");
		ctl_conn_close(cn);
		return;
	}
	if (c->n_clients > c->deps.max_clients) {
		ctl_conn_refuse(cn, ERR_LIMIT, "too many control connections (limit %u)",
				c->deps.max_clients);
		ctl_conn_close(cn);
		return;
	}
	ctl_conn_pump(cn);
}

int ctl_new(uv_loop_t *loop, const char *path, const struct ctl_deps *deps, struct ctl **out)
{
	struct ctl *c = calloc(1, sizeof(*c));
	mode_t old;
	int r;

	if (!c)
		return ERR_NOMEM;
	c->loop = loop;
	c->deps = *deps;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if ((r = uv_pipe_init(loop, &c->server, 0)) != 0) {
		free(c);
		return r;
	}
	c->open_handles = 1;
	c->server.data = c;
	uv_timer_init(loop, &c->wait_timer);
	c->wait_timer.data = c;
	c->open_handles++;
	net_set_message_hook(deps->net, ctl_on_message, c);
	net_set_receipt_hook(deps->net, ctl_on_receipt, c);
	*out = c;
	unlink(path); /* a stale socket from a node that died; the data dir lock prevents two nodes */
	old = umask(0177);
	r = uv_pipe_bind(&c->server, path);
	umask(old);
	if (r == 0)
		r = chmod(path, 0600) == 0 ? 0 : -errno;
	if (r == 0)
		r = uv_listen((uv_stream_t *)&c->server, 64, ctl_on_connection);
	if (r == 0 && deps->metrics_listen && deps->metrics_listen[0] &&
	    (r = ctl_metrics_listen(c, deps->metrics_listen)) != 0)
		log_error("metrics_listen_failed", "address=%s error=\"%s\"", deps->metrics_listen, err_str(r));
	return r;
}

static void ctl_on_server_close(uv_handle_t *h)
{
	ctl_handle_closed(h->data);
}

void ctl_stop(struct ctl *c, void (*done)(void *arg), void *arg)
{
	struct ctl_conn *next;

	c->stopping = true;
	c->stopped = done;
	c->stopped_arg = arg;
	for (struct ctl_conn *cn = c->clients; cn; cn = next) {
		next = cn->next;
		ctl_conn_close(cn);
	}
	uv_close((uv_handle_t *)&c->server, ctl_on_server_close);
	uv_close((uv_handle_t *)&c->wait_timer, ctl_on_server_close);
	if (c->metrics_on)
		uv_close((uv_handle_t *)&c->metrics, ctl_on_server_close);
	unlink(c->path);
}

void ctl_free(struct ctl *c)
{
	free(c);
}
