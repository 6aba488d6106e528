/* Nodes under test: made with `coex init`, run as real coexd processes, partnered by invite,
 * driven over the control socket (tools/coex/client.c), as a user would. */
#include "bench.h"
#include "client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	NODE_START_TIMEOUT_S = 20,
	NODE_LINK_TIMEOUT_S = 30,
	NODE_STOP_GRACE_MS = 10000,
	NODE_POLL_MS = 20,
};

/* Limits written into every bench node's [limits]: fast redials (the backlog run stops and
 * starts a node) and no inbound rate cap (the bench measures the node, not its policy). */
static const char *const node_limits[] = {
	"inbound_per_s = 1000000",
	"outbox_per_partner = 100000000",
	"reconnect_min_ms = 50",
	"reconnect_max_ms = 500",
	"control_clients = 1024",
};

static void node_set_limits(const struct bench_node *n)
{
	char path[BENCH_PATH_MAX + 16], *text, *at;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/coex.conf", n->dir);
	if (!(f = fopen(path, "r")) || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		bench_die("cannot read %s", path);
	rewind(f);
	if (!(text = calloc(1, (size_t)len + 1)) || fread(text, 1, (size_t)len, f) != (size_t)len)
		bench_die("cannot read %s", path);
	fclose(f);
	if (!(at = strstr(text, "\n[limits]\n")))
		bench_die("%s has no [limits] section", path);
	at += strlen("\n[limits]\n");
	if (!(f = fopen(path, "w")))
		bench_die("cannot write %s", path);
	fwrite(text, 1, (size_t)(at - text), f);
	for (size_t i = 0; i < sizeof(node_limits) / sizeof(node_limits[0]); i++)
		fprintf(f, "%s\n", node_limits[i]);
	fputs(at, f);
	if (fclose(f) != 0)
		bench_die("cannot write %s", path);
	free(text);
}

void bench_node_init(struct bench_node *n, const struct bench_opts *o, const char *name)
{
	char out[4096], *id, *end;
	char *argv[] = { (char *)o->coex, "--data", n->dir, "init", "--name", (char *)name,
			 "--listen", "127.0.0.1:0", "--json", NULL };

	memset(n, 0, sizeof(*n));
	n->opts = o;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->dir, sizeof(n->dir), "%s/%s", bench_root(), name);
	snprintf(n->sock, sizeof(n->sock), "%s/coexd.sock", n->dir);
	snprintf(n->db, sizeof(n->db), "%s/coex.db", n->dir);
	snprintf(n->log, sizeof(n->log), "%s/%s.log", bench_root(), name);
	if (bench_run(argv, out, sizeof(out)) != 0)
		bench_die("coex init %s failed: %s", name, out);
	if (!(id = strstr(out, "\"id\":\"")) || !(end = strchr(id += 6, '"')) ||
	    (size_t)(end - id) >= sizeof(n->id))
		bench_die("coex init printed no id: %s", out);
	memcpy(n->id, id, (size_t)(end - id));
	node_set_limits(n);
}

static void node_log_tail(const struct bench_node *n)
{
	char cmd[BENCH_PATH_MAX + 32];

	fprintf(stderr, "---- %s log tail ----\n", n->name);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd), "tail -n 20 '%s' >&2", n->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

/* One request; dies naming the node and the request if it fails. */
static Coex__CtlResponse *node_call(struct bench_node *n, const Coex__CtlRequest *req,
				    const char *what)
{
	Coex__CtlResponse *resp = NULL;
	char err[256];
	int r = client_call(n->sock, req, BENCH_CTL_TIMEOUT_MS, &resp, err, sizeof(err));

	if (r != 0) {
		node_log_tail(n);
		bench_die("%s on %s: %s", what, n->name, err);
	}
	if (resp->code != 0) {
		node_log_tail(n);
		bench_die("%s on %s: %s", what, n->name, resp->error);
	}
	return resp;
}

void bench_node_start(struct bench_node *n)
{
	char *argv[] = { (char *)n->opts->coexd, "--data", n->dir, NULL };
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__IdRequest idr = COEX__ID_REQUEST__INIT;
	double limit = n->start_timeout_s > 0 ? n->start_timeout_s : NODE_START_TIMEOUT_S;
	double deadline = bench_now() + limit;

	req.cmd_case = COEX__CTL_REQUEST__CMD_ID;
	req.id = &idr;
	n->pid = bench_spawn(argv, n->log);
	for (;;) {
		Coex__CtlResponse *resp = NULL;
		char err[256];

		if (client_call(n->sock, &req, 1000, &resp, err, sizeof(err)) == 0) {
			bool ok = resp->code == 0;
			coex__ctl_response__free_unpacked(resp, NULL);
			if (ok)
				break;
		}
		if (!bench_alive(n->pid)) {
			node_log_tail(n);
			bench_die("coexd %s exited at start", n->name);
		}
		if (bench_now() > deadline) {
			node_log_tail(n);
			bench_die("coexd %s did not answer within %.0f s", n->name, limit);
		}
		bench_sleep_ms(NODE_POLL_MS);
	}
	bench_log("started %s pid=%d data=%s", n->name, (int)n->pid, n->dir);
}

void bench_node_stop(struct bench_node *n)
{
	int rc;

	if (n->pid <= 0)
		return;
	rc = bench_stop(n->pid, NODE_STOP_GRACE_MS);
	n->pid = 0;
	if (rc != 0) {
		node_log_tail(n);
		bench_die("coexd %s did not stop cleanly (exit %d)", n->name, rc);
	}
}

static bool node_link_up(struct bench_node *n, const struct bench_node *peer)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__StatusRequest sr = COEX__STATUS_REQUEST__INIT;
	Coex__CtlResponse *resp;
	bool up = false;

	req.cmd_case = COEX__CTL_REQUEST__CMD_STATUS;
	req.status = &sr;
	resp = node_call(n, &req, "status");
	if (resp->result_case == COEX__CTL_RESPONSE__RESULT_STATUS) {
		for (size_t i = 0; i < resp->status->n_links; i++) {
			const Coex__LinkInfo *l = resp->status->links[i];
			if (strcmp(l->id, peer->id) == 0 && strcmp(l->state, "up") == 0)
				up = true;
		}
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return up;
}

bool bench_node_wait_link(struct bench_node *n, const struct bench_node *peer, double timeout_s)
{
	double deadline = bench_now() + timeout_s;

	while (!node_link_up(n, peer)) {
		if (bench_now() > deadline)
			return false;
		bench_sleep_ms(NODE_POLL_MS);
	}
	return true;
}

bool bench_node_try_partner(struct bench_node *a, struct bench_node *b)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__InviteRequest ir = COEX__INVITE_REQUEST__INIT;
	Coex__JoinRequest jr = COEX__JOIN_REQUEST__INIT;
	Coex__CtlResponse *resp;

	req.cmd_case = COEX__CTL_REQUEST__CMD_INVITE;
	req.invite = &ir;
	resp = node_call(a, &req, "invite");
	if (resp->result_case != COEX__CTL_RESPONSE__RESULT_INVITE)
		bench_die("invite on %s: no code in the answer", a->name);
	jr.code = strdup(resp->invite->code);
	jr.name = a->name;
	coex__ctl_response__free_unpacked(resp, NULL);
	if (!jr.code)
		bench_die("out of memory");
	req.cmd_case = COEX__CTL_REQUEST__CMD_JOIN;
	req.join = &jr;
	coex__ctl_response__free_unpacked(node_call(b, &req, "join"), NULL);
	free(jr.code);
	return bench_node_wait_link(a, b, NODE_LINK_TIMEOUT_S) &&
	       bench_node_wait_link(b, a, NODE_LINK_TIMEOUT_S);
}

void bench_node_partner(struct bench_node *a, struct bench_node *b)
{
	if (!bench_node_try_partner(a, b)) {
		node_log_tail(a);
		node_log_tail(b);
		bench_die("link %s <-> %s did not come up within %d s", a->name, b->name,
			  NODE_LINK_TIMEOUT_S);
	}
}

char *bench_node_metrics(struct bench_node *n)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__MetricsRequest mr = COEX__METRICS_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL;
	char err[256], *text = NULL;

	req.cmd_case = COEX__CTL_REQUEST__CMD_METRICS;
	req.metrics = &mr;
	if (client_call(n->sock, &req, BENCH_CTL_TIMEOUT_MS, &resp, err, sizeof(err)) != 0)
		return NULL;
	if (resp->code == 0 && resp->result_case == COEX__CTL_RESPONSE__RESULT_METRICS)
		text = strdup(resp->metrics);
	coex__ctl_response__free_unpacked(resp, NULL);
	return text;
}

double bench_metric(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return NAN;
}
