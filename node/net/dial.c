/* Outbound links: resolve, connect, send the initiation; backoff between attempts. */
#include "lib/err.h"
#include "net/addr.h"
#include "net/net_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A resolution in flight names its peer by key, not by pointer: the peer may be removed
 * before it completes. A join's request owns the join until a link takes it. */
struct dial_resolve {
	uv_getaddrinfo_t req;
	struct net *net;
	uint8_t pk[32];
	struct net_join *join;
};

static void dial_on_connect(uv_connect_t *req, int status)
{
	struct link *l = req->data;
	int r = status;

	if (l->state == LINK_CLOSING)
		return;
	if (r == 0 && (r = link_start_read(l)) == 0)
		r = link_send_initiation(l);
	if (r != 0) {
		if (l->join)
			join_link_failed(l, r, uv_strerror(r));
		log_debug("dial_failed", "addr=%s error=\"%s\"", l->addr, uv_strerror(r));
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
	}
}

/* Starts a link to sa for peer p or for join j (exactly one of them). */
static int dial_connect(struct net *n, struct peer *p, struct net_join *j, const struct sockaddr *sa)
{
	struct link *l = link_new(n, true);
	int r;

	if (!l)
		return ERR_NOMEM;
	addr_format(sa, l->addr, sizeof(l->addr), l->ip, sizeof(l->ip));
	l->peer = p;
	l->join = j;
	memcpy(l->peer_pk, p ? p->pk : j->inviter, 32);
	if (p)
		p->dial = l;
	l->connect_req.data = l;
	if ((r = uv_tcp_connect(&l->connect_req, &l->tcp, sa, dial_on_connect)) != 0) {
		if (j)
			l->join = NULL; /* the caller keeps the join and reports the error */
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return r;
	}
	return 0;
}

static void dial_join_fail(struct net_join *j, int err, const char *why)
{
	char msg[400];

	if (j->done) {
		snprintf(msg, sizeof(msg), "cannot reach the inviter at %s: %s", j->address, why);
		j->done(j->arg, err, msg, NULL);
	}
	free(j);
}

static void dial_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dial_resolve *d = req->data;
	struct net *n = d->net;
	struct peer *p = d->join ? NULL : net_peer_by_pk(n, d->pk);
	int r = status;

	if (r == 0 && !n->stopping && (d->join || (p && !p->link && !p->dial)))
		r = dial_connect(n, p, d->join, res->ai_addr);
	else if (r == 0)
		r = UV_ECANCELED;
	if (r != 0 && d->join)
		dial_join_fail(d->join, r, uv_strerror(r));
	else if (r != 0 && p && !n->stopping)
		dial_schedule_retry(n, p);
	uv_freeaddrinfo(res);
	free(d);
	net_handle_closed(n);
}

static int dial_start(struct net *n, const char *address, const uint8_t pk[32], struct net_join *j)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct dial_resolve *d;
	char host[256], port[16];
	int r;

	if (addr_split(address, host, sizeof(host), port, sizeof(port)) != 0)
		return ERR_INVAL;
	if (!(d = calloc(1, sizeof(*d))))
		return ERR_NOMEM;
	d->net = n;
	d->join = j;
	memcpy(d->pk, pk, 32);
	d->req.data = d;
	/* Counted like a handle so that net_stop waits for it. */
	n->open_handles++;
	if ((r = uv_getaddrinfo(n->loop, &d->req, dial_on_resolved, host, port, &hints)) != 0) {
		n->open_handles--;
		free(d);
	}
	return r;
}

void dial_peer(struct net *n, struct peer *p)
{
	p->next_dial_ms = 0;
	if (dial_start(n, p->address, p->pk, NULL) != 0)
		dial_schedule_retry(n, p);
}

int dial_join(struct net *n, struct net_join *j)
{
	return dial_start(n, j->address, j->inviter, j);
}

void dial_schedule_retry(struct net *n, struct peer *p)
{
	uint64_t delay = n->cfg.reconnect_min_ms;

	if (!p->address[0])
		return;
	for (uint32_t i = 0; i < p->attempts && delay < n->cfg.reconnect_max_ms; i++)
		delay *= 2;
	if (delay > n->cfg.reconnect_max_ms)
		delay = n->cfg.reconnect_max_ms;
	/* Jitter in [delay/2, delay] keeps partners that lost each other from redialling in step. */
	delay = delay / 2 + randombytes_uniform((uint32_t)(delay / 2 + 1));
	p->attempts++;
	p->next_dial_ms = uv_now(n->loop) + delay;
}
