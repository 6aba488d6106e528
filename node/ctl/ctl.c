#define _GNU_SOURCE /* struct ucred */
/* The control socket server: connections, length-prefixed framing, peer credentials. */
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/net.h"
#include "wire/limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct ctl_write {
	uv_write_t req;
	uv_buf_t buf;
	uint8_t data[];
};

static void ctl_handle_closed(struct ctl *c)
{
	if (--c->open_handles == 0 && c->stopping && c->stopped)
		c->stopped(c->stopped_arg);
}

static void ctl_client_on_close(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;
	struct ctl *c = cl->ctl;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	free(cl->body);
	free(cl);
	ctl_handle_closed(c);
}

static void ctl_client_close(struct ctl_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	if (cl->busy)
		ctl_cmd_abandon(cl);
	uv_close((uv_handle_t *)&cl->pipe, ctl_client_on_close);
}

static void ctl_on_write(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

void ctl_client_reply(struct ctl_client *cl, const Coex__CtlResponse *resp)
{
	size_t n = coex__ctl_response__get_packed_size(resp);
	struct ctl_write *w;

	if (cl->closing)
		return;
	if (!(w = malloc(sizeof(*w) + 4 + n))) {
		ctl_client_close(cl);
		return;
	}
	w->data[0] = (uint8_t)(n >> 24);
	w->data[1] = (uint8_t)(n >> 16);
	w->data[2] = (uint8_t)(n >> 8);
	w->data[3] = (uint8_t)n;
	coex__ctl_response__pack(resp, w->data + 4);
	w->buf = uv_buf_init((char *)w->data, (unsigned)(4 + n));
	if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &w->buf, 1, ctl_on_write) != 0) {
		free(w);
		ctl_client_close(cl);
	}
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

static void ctl_client_on_request(struct ctl_client *cl)
{
	Coex__CtlRequest *req = coex__ctl_request__unpack(NULL, cl->need, cl->body);

	if (!req || req->cmd_case == COEX__CTL_REQUEST__CMD__NOT_SET) {
		ctl_client_error(cl, ERR_PROTO, "malformed request: not a known control command");
	} else {
		ctl_cmd_dispatch(cl, req);
	}
	if (req)
		coex__ctl_request__free_unpacked(req, NULL);
	free(cl->body);
	cl->body = NULL;
	cl->hdr_have = cl->have = cl->need = 0;
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(suggested);
	buf->len = buf->base ? suggested : 0;
}

/* Consumes input; stops at a request that starts an asynchronous command. */
static int ctl_client_feed(struct ctl_client *cl, const uint8_t *in, size_t len)
{
	while (len > 0 && !cl->busy && !cl->closing) {
		size_t take;
		if (cl->hdr_have < 4) {
			cl->hdr[cl->hdr_have++] = *in++;
			len--;
			if (cl->hdr_have < 4)
				continue;
			cl->need = (size_t)cl->hdr[0] << 24 | (size_t)cl->hdr[1] << 16 |
				   (size_t)cl->hdr[2] << 8 | cl->hdr[3];
			if (cl->need > LIMIT_CTL_REQUEST_MAX) {
				ctl_client_error(cl, ERR_TOOBIG, "request of %zu bytes exceeds the limit of %d",
						 cl->need, LIMIT_CTL_REQUEST_MAX);
				return ERR_TOOBIG;
			}
			if (!(cl->body = malloc(cl->need ? cl->need : 1)))
				return ERR_NOMEM;
		}
		take = cl->need - cl->have < len ? cl->need - cl->have : len;
		memcpy(cl->body + cl->have, in, take);
		cl->have += take;
		in += take;
		len -= take;
		if (cl->have == cl->need)
			ctl_client_on_request(cl);
	}
	/* Bytes after a request that went asynchronous: the protocol is one request at a time. */
	return len > 0 && cl->busy ? ERR_PROTO : 0;
}

static void ctl_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_client *cl = s->data;

	if (nread < 0)
		ctl_client_close(cl);
	else if (nread > 0 && ctl_client_feed(cl, (const uint8_t *)buf->base, (size_t)nread) != 0)
		ctl_client_close(cl);
	free(buf->base);
}

void ctl_client_resume(struct ctl_client *cl)
{
	cl->busy = false;
	cl->join = NULL;
	cl->wait = NULL;
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
	struct ctl_client *cl;

	if (status < 0 || c->stopping || !(cl = calloc(1, sizeof(*cl))))
		return;
	if (uv_pipe_init(c->loop, &cl->pipe, 0) != 0) {
		free(cl);
		return;
	}
	cl->ctl = c;
	cl->pipe.data = cl;
	c->open_handles++;
	c->n_clients++;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0) {
		ctl_client_close(cl);
		return;
	}
	if (!ctl_peer_allowed(&cl->pipe)) {
		log_warn("ctl_refused", "reason=%s", "another user");
		ctl_client_close(cl);
		return;
	}
	if (c->n_clients > c->deps.max_clients) {
		ctl_client_error(cl, ERR_LIMIT, "too many control connections (limit %u)",
				 c->deps.max_clients);
		ctl_client_close(cl);
		return;
	}
	if (uv_read_start((uv_stream_t *)&cl->pipe, ctl_alloc, ctl_on_read) != 0)
		ctl_client_close(cl);
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
	net_set_message_hook(deps->net, ctl_on_message, c);
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
	struct ctl_client *next;

	c->stopping = true;
	c->stopped = done;
	c->stopped_arg = arg;
	for (struct ctl_client *cl = c->clients; cl; cl = next) {
		next = cl->next;
		ctl_client_close(cl);
	}
	uv_close((uv_handle_t *)&c->server, ctl_on_server_close);
	if (c->metrics_on)
		uv_close((uv_handle_t *)&c->metrics, ctl_on_server_close);
	unlink(c->path);
}

void ctl_free(struct ctl *c)
{
	free(c);
}
