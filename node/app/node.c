#include "app/node.h"
#include "app/config.h"
#include "app/keyfile.h"
#include "crypto/identity.h"
#include "ctl/ctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/commit.h"
#include "net/net.h"
#include "store/log_check.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

struct node {
	uv_loop_t loop;
	struct config cfg;
	struct identity self;
	struct store *store;
	struct net *net;
	struct ctl *ctl;
	struct commit *commit;
	struct ctl_forward_rule *forward_rules; /* the config's forward_to policies */
	size_t n_forward_rules;
	uv_signal_t sigint, sigterm;
	int lock_fd;
	int pending_stops;
	char dir[PATH_MAX];
};

static uint64_t node_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void node_path(const struct node *nd, const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", nd->dir, file);
}

/* One node per data directory: a second coexd would corrupt nothing (SQLite locks), but
 * would fight over the socket and the links. */
static int node_lock(struct node *nd)
{
	char path[PATH_MAX + 16];

	node_path(nd, "coexd.lock", path, sizeof(path));
	if ((nd->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "coexd: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(nd->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "coexd: another coexd is already running with data directory %s\n",
			nd->dir);
		return -1;
	}
	return 0;
}

static int node_load(struct node *nd)
{
	char path[PATH_MAX + 16], err[512];
	int r;

	node_path(nd, "coex.conf", path, sizeof(path));
	if ((r = config_load(path, &nd->cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "coexd: %s\n", err);
		if (r == -ENOENT)
			fprintf(stderr, "coexd: run 'coex --data %s init --name NAME' first\n", nd->dir);
		return -1;
	}
	log_set_level(nd->cfg.log_level);
	node_path(nd, "identity.key", path, sizeof(path));
	if ((r = keyfile_read(path, &nd->self, err, sizeof(err))) != 0) {
		fprintf(stderr, "coexd: %s\n", err);
		return -1;
	}
	return 0;
}

/* [partner NAME] sections are merged into the store: added if new, address updated. */
static int node_merge_config_partners(struct node *nd)
{
	for (size_t i = 0; i < nd->cfg.n_partners; i++) {
		const struct config_partner *cp = &nd->cfg.partners[i];
		struct store_partner p;
		int r;

		if (store_partner_get(nd->store, cp->id, &p) == 0) {
			/* a section without an address (a policy for a partner joined by invite)
			 * keeps the address the node learned */
			if (cp->address[0] && strcmp(p.address, cp->address) != 0 &&
			    (r = store_partner_set_address(nd->store, cp->id, cp->address)) != 0)
				return r;
			continue;
		}
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%s", cp->name);
		memcpy(p.id, cp->id, sizeof(p.id));
		snprintf(p.address, sizeof(p.address), "%s", cp->address);
		p.added_ms = (int64_t)node_wall_ms();
		if ((r = store_partner_add(nd->store, &p)) != 0) {
			fprintf(stderr, "coexd: [partner %s] in coex.conf: %s\n", cp->name,
				r == ERR_EXISTS ? "the name is taken by another partner" : err_str(r));
			return r;
		}
	}
	return 0;
}

static int node_open_store(struct node *nd)
{
	char path[PATH_MAX + 16], err[512];
	int r;

	node_path(nd, "coex.db", path, sizeof(path));
	if ((r = store_open(path, &nd->store)) != 0) {
		fprintf(stderr, "coexd: cannot open the store %s: %s\n", path, err_str(r));
		return -1;
	}
	/* Never sign new heads over a log that no longer matches the old ones. */
	if ((r = log_check_at_start(nd->store, nd->self.pk, err, sizeof(err))) != 0) {
		fprintf(stderr, "coexd: the exchange log in %s does not verify: %s\n"
				"coexd: refusing to start; keep this database as evidence and restore "
				"a backup (docs/operations.md)\n", path, err);
		return -1;
	}
	return node_merge_config_partners(nd) == 0 ? 0 : -1;
}

static void node_stopped(void *arg)
{
	struct node *nd = arg;

	if (--nd->pending_stops == 0) {
		uv_close((uv_handle_t *)&nd->sigint, NULL);
		uv_close((uv_handle_t *)&nd->sigterm, NULL);
	}
}

static void node_on_signal(uv_signal_t *s, int signum)
{
	struct node *nd = s->data;

	if (nd->pending_stops)
		return;
	log_info("stopping", "signal=%d", signum);
	nd->pending_stops = 3;
	uv_signal_stop(&nd->sigint);
	uv_signal_stop(&nd->sigterm);
	ctl_stop(nd->ctl, node_stopped, nd);
	net_stop(nd->net, node_stopped, nd);
	commit_stop(nd->commit, node_stopped, nd);
}

static int node_start_net(struct node *nd)
{
	const struct config_limits *lim = &nd->cfg.limits;
	struct net_config nc = {
		.name = nd->cfg.name, .listen = nd->cfg.listen,
		.frame_bytes = lim->frame_bytes, .message_bytes = lim->message_bytes,
		.handshakes_per_address = lim->handshakes_per_address,
		.handshakes_total = lim->handshakes_total, .handshake_timeout_ms = lim->handshake_timeout_ms,
		.clock_skew_ms = lim->clock_skew_ms, .keepalive_ms = lim->keepalive_ms,
		.dead_ms = lim->dead_ms, .reconnect_min_ms = lim->reconnect_min_ms,
		.reconnect_max_ms = lim->reconnect_max_ms,
		.outbox_per_partner = lim->outbox_per_partner,
		.inbound_per_s = lim->inbound_per_s,
	};
	int r;

	char path[PATH_MAX + 16];

	node_path(nd, "coex.db", path, sizeof(path));
	if ((r = commit_new(&nd->loop, path, &nd->self, &nd->commit)) != 0) {
		fprintf(stderr, "coexd: cannot open the store %s for writing: %s\n", path, err_str(r));
		return -1;
	}
	if ((r = net_new(&nd->loop, &nd->self, nd->store, &nc, &nd->net)) != 0)
		return -1;
	net_attach_commit(nd->net, nd->commit);
	if ((r = net_start(nd->net)) != 0) {
		fprintf(stderr, "coexd: cannot listen on %s: %s\n", nd->cfg.listen, err_str(r));
		return -1;
	}
	return 0;
}

/* One rule per (partner, forward_to name) of the config. */
static int node_forward_rules(struct node *nd)
{
	size_t n = 0;

	for (size_t i = 0; i < nd->cfg.n_partners; i++)
		n += nd->cfg.partners[i].n_forward_to;
	if (n == 0)
		return 0;
	if (!(nd->forward_rules = calloc(n, sizeof(*nd->forward_rules))))
		return ERR_NOMEM;
	for (size_t i = 0; i < nd->cfg.n_partners; i++) {
		const struct config_partner *cp = &nd->cfg.partners[i];

		for (size_t k = 0; k < cp->n_forward_to; k++) {
			struct ctl_forward_rule *fr = &nd->forward_rules[nd->n_forward_rules++];

			memcpy(fr->from, cp->id, 32);
			snprintf(fr->to, sizeof(fr->to), "%s", cp->forward_to[k]);
		}
	}
	return 0;
}

static int node_start_ctl(struct node *nd)
{
	struct ctl_deps deps = {
		.net = nd->net, .store = nd->store, .self = &nd->self, .name = nd->cfg.name,
		.started_ms = node_wall_ms(), .invite_ttl_s = nd->cfg.limits.invite_ttl_s,
		.max_clients = nd->cfg.limits.control_clients,
		.commit = nd->commit, .metrics_listen = nd->cfg.metrics_listen,
	};
	char path[PATH_MAX + 16];
	int r;

	if (node_forward_rules(nd) != 0) {
		fprintf(stderr, "coexd: out of memory\n");
		return -1;
	}
	deps.forward_rules = nd->forward_rules;
	deps.n_forward_rules = nd->n_forward_rules;

	node_path(nd, "coexd.sock", path, sizeof(path));
	if ((r = ctl_new(&nd->loop, path, &deps, &nd->ctl)) != 0) {
		fprintf(stderr, "coexd: cannot open the control socket %s: %s\n", path, err_str(r));
		return -1;
	}
	return 0;
}

static int node_start(struct node *nd)
{
	char id[IDENTITY_ID_LEN + 1];

	if (node_load(nd) != 0 || node_lock(nd) != 0 || node_open_store(nd) != 0)
		return -1;
	if (uv_loop_init(&nd->loop) != 0)
		return -1;
	if (node_start_net(nd) != 0 || node_start_ctl(nd) != 0)
		return -1;
	uv_signal_init(&nd->loop, &nd->sigint);
	uv_signal_init(&nd->loop, &nd->sigterm);
	nd->sigint.data = nd->sigterm.data = nd;
	uv_signal_start(&nd->sigint, node_on_signal, SIGINT);
	uv_signal_start(&nd->sigterm, node_on_signal, SIGTERM);
	identity_id_format(nd->self.pk, id);
	log_info("started", "id=%s name=\"%s\" listen=%s data=%s", id, nd->cfg.name,
		 net_listen_address(nd->net), nd->dir);
	return 0;
}

static void node_shutdown_partial(struct node *nd)
{
	/* Start-up failed half-way: close what was opened, then leave. */
	nd->pending_stops = 2 + (nd->ctl != NULL);
	if (nd->ctl)
		ctl_stop(nd->ctl, node_stopped, nd);
	commit_stop(nd->commit, node_stopped, nd);
	uv_signal_init(&nd->loop, &nd->sigint);
	uv_signal_init(&nd->loop, &nd->sigterm);
	net_stop(nd->net, node_stopped, nd);
	uv_run(&nd->loop, UV_RUN_DEFAULT);
}

int node_run(const char *dir)
{
	struct node *nd = calloc(1, sizeof(*nd));
	int rc = 1;

	if (!nd)
		return 1;
	nd->lock_fd = -1;
	snprintf(nd->dir, sizeof(nd->dir), "%s", dir);
	signal(SIGPIPE, SIG_IGN);
	if (node_start(nd) == 0) {
		uv_run(&nd->loop, UV_RUN_DEFAULT);
		rc = 0;
		log_info("stopped", "%s", "");
	} else if (nd->net) {
		node_shutdown_partial(nd);
	} else if (nd->commit) {
		nd->pending_stops = 1;
		uv_signal_init(&nd->loop, &nd->sigint);
		uv_signal_init(&nd->loop, &nd->sigterm);
		commit_stop(nd->commit, node_stopped, nd);
		uv_run(&nd->loop, UV_RUN_DEFAULT);
	}
	if (nd->commit)
		uv_loop_close(&nd->loop);
	ctl_free(nd->ctl);
	net_free(nd->net);
	commit_free(nd->commit);
	store_close(nd->store);
	config_free(&nd->cfg);
	free(nd->forward_rules);
	identity_wipe(&nd->self);
	if (nd->lock_fd >= 0)
		close(nd->lock_fd);
	free(nd);
	return rc;
}
