/* Inbound links: accept, cap half-open handshakes per source address and in total. */
#include "lib/err.h"
#include "net/addr.h"
#include "net/net_internal.h"

#include <string.h>

static void listener_count(struct net *n, const char *ip, uint32_t *per_ip, uint32_t *total)
{
	*per_ip = *total = 0;
	for (struct link *l = n->links; l; l = l->next) {
		if (l->initiator || (l->state != LINK_AWAIT_INITIATION && l->state != LINK_AWAIT_CONFIRM))
			continue;
		(*total)++;
		if (strcmp(l->ip, ip) == 0)
			(*per_ip)++;
	}
}

static void listener_on_connection(uv_stream_t *server, int status)
{
	struct net *n = server->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	uint32_t per_ip, total;
	struct link *l;

	if (status < 0 || n->stopping || !(l = link_new(n, false)))
		return;
	if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0 ||
	    uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) != 0) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	addr_format((struct sockaddr *)&ss, l->addr, sizeof(l->addr), l->ip, sizeof(l->ip));
	listener_count(n, l->ip, &per_ip, &total);
	/* The new link is counted too: more than the cap means one too many. */
	if (per_ip > n->cfg.handshakes_per_address || total > n->cfg.handshakes_total) {
		net_log_drop(n, l, per_ip > n->cfg.handshakes_per_address ? "too_many_from_address"
									     : "too_many_handshakes");
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	if (link_start_read(l) != 0)
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
}

int listener_start(struct net *n)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	int len = sizeof(ss), r;
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
	if ((r = uv_listen((uv_stream_t *)&n->listener, 128, listener_on_connection)) != 0)
		goto out;
	if ((r = uv_tcp_getsockname(&n->listener, (struct sockaddr *)&ss, &len)) != 0)
		goto out;
	addr_format((struct sockaddr *)&ss, n->listen_addr, sizeof(n->listen_addr), NULL, 0);
out:
	freeaddrinfo(res);
	return r;
}
