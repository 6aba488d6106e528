/* The control socket DATA/coexd.sock: mode 0600, peer credentials checked (same user or
 * root), each request and response preceded by its length (4 bytes, big-endian), one
 * protobuf CtlRequest / CtlResponse each. A malformed or oversized request gets an error
 * reply; the node carries on. */
#ifndef COEX_CTL_CTL_H
#define COEX_CTL_CTL_H

#include <stdint.h>
#include <uv.h>

struct commit;
struct identity;
struct net;
struct store;
struct ctl;

/* An auto-forward policy rule ([partner NAME] forward_to in the config): forwardable
 * proposals arriving from partner `from` go on to the partner named `to`, as if its operator
 * ran `coex forward`. */
struct ctl_forward_rule {
	uint8_t from[32];
	char to[65];
};

struct ctl_deps {
	struct net *net;
	struct store *store;
	const struct identity *self;
	const char *name;
	uint64_t started_ms;
	uint32_t invite_ttl_s;        /* default invite lifetime */
	uint32_t max_clients;
	struct commit *commit;
	const char *metrics_listen;   /* "host:port" for an HTTP /metrics endpoint, or NULL */
	const struct ctl_forward_rule *forward_rules; /* must outlive the ctl */
	size_t n_forward_rules;
};

/* Listens on path (an existing stale socket file is replaced). Returns 0 or a negative code. */
int ctl_new(uv_loop_t *loop, const char *path, const struct ctl_deps *deps, struct ctl **out);
/* Closes the server and every client; done() runs when all handles are closed. */
void ctl_stop(struct ctl *c, void (*done)(void *arg), void *arg);
void ctl_free(struct ctl *c);

#endif
