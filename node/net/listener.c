/* Inbound links: accept, cap half-open handshakes per source address and in total. */
#include "lib/err.h"
#include "net/addr.h"
#include "net/net_internal.h"

#include <string.h>

/* Handshakes in progress are kept in their own list (at most handshakes_total long), so
 * counting them costs nothing however many connections are closing at the time. */
static uint32_t listener_count_ip(struct net *n, const char *ip)
{
	uint32_t k = 0;

	for (struct link *l = n->hs_links; l; l = l->hs_next)
		k += strcmp(l->ip, ip) == 0;
	return k;
}

void listener_hs_remove(struct net *n, struct link *l)
{
	if (!l->in_hs)
		return;
	if (l->hs_prev)
		l->hs_prev->hs_next = l->hs_next;
	else
		n->hs_links = l->hs_next;
	if (l->hs_next)
		l->hs_next->hs_prev = l->hs_prev;
	l->in_hs = false;
	n->n_hs--;
	listener_resume(n);
}

static void listener_hs_add(struct net *n, struct link *l)
{
	l->hs_prev = NULL;
	l->hs_next = n->hs_links;
	if (n->hs_links)
		n->hs_links->hs_prev = l;
	n->hs_links = l;
	l->in_hs = true;
	n->n_hs++;
}

static void listener_on_connection(uv_stream_t *server, int status)
{
	struct net *n = server->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct link *l;

	if (status < 0 || n->stopping)
		return;
	if (n->n_hs >= n->cfg.handshakes_total) {
		/* Full: leave the connection in the kernel's queue and stop accepting until a
		 * handshake finishes (listener_resume), rather than accept-and-close in a loop that
		 * a flood would never let end. */
		if (!n->accept_paused)
			net_reason_count(n->metrics.handshake_drops, "too_many_handshakes");
		n->accept_paused = true;
		return;
	}
	if (!(l = link_new(n, false)))
		return;
	if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0 ||
	    uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) != 0) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	addr_format((struct sockaddr *)&ss, l->addr, sizeof(l->addr), l->ip, sizeof(l->ip));
	if (listener_count_ip(n, l->ip) >= n->cfg.handshakes_per_address) {
		net_log_drop(n, l, "too_many_from_address");
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	listener_hs_add(n, l);
	if (link_start_read(l) != 0)
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
}

void listener_resume(struct net *n)
{
	if (!n->accept_paused || n->stopping || n->n_hs >= n->cfg.handshakes_total)
		return;
	n->accept_paused = false;
	listener_on_connection((uv_stream_t *)&n->listener, 0);
}

int listener_start(struct net *n)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	int len = sizeof(ss), r, backlog;
	char host[256], port[16];

	if (addr_split(n->listen_cfg, host, sizeof(host), port, sizeof(port)) != 0)
		return ERR_INVAL;
	if ((r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		return ERR_INVAL;
	if ((r = uv_tcp_init(n->loop, &n->listener)) != 0)
		goto out;
	n->open_handles++;
	n->listening = true;
	n->listener.data = n;
	if ((r = uv_tcp_bind(&n->listener, res->ai_addr, 0)) != 0)
		goto out;
	/* The kernel's queue holds as many connections as handshakes may be in progress: a
	 * shorter one drops SYNs from a burst of partners, who then wait a second to retry. */
	backlog = n->cfg.handshakes_total > 128 ? (int)n->cfg.handshakes_total : 128;
	if ((r = uv_listen((uv_stream_t *)&n->listener, backlog, listener_on_connection)) != 0)
		goto out;
	if ((r = uv_tcp_getsockname(&n->listener, (struct sockaddr *)&ss, &len)) != 0)
		goto out;
	addr_format((struct sockaddr *)&ss, n->listen_addr, sizeof(n->listen_addr), NULL, 0);
out:
	freeaddrinfo(res);
	return r;
}
