/* (3) Link scale, reduced to what two cores can run: one hub with K partners, each its own
 * coexd, the hub sending to all of them at once.
 *
 *     p1 <--+          (5) Backlog: sender ==X== receiver (stopped)
 *     p2 <--+-- hub        N proposals queued, then the receiver starts and the sender's
 *     pK <--+              outbox drains; the sender's peak RSS is read after.
 */
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	SCALE_MAX_PARTNERS = 16,
	SCALE_WARMUP = 16,
	SCALE_LINK_TIMEOUT_S = 30,
	SCALE_DRAIN_MIN_S = 120,
};

struct scale_push {
	const char *sock;
	struct bench_req req;
	long n;
	int conns, depth;
	struct bench_push res;
	int rc;
};

static void *scale_push_main(void *arg)
{
	struct scale_push *p = arg;

	p->rc = bench_ctl_push(p->sock, &p->req, p->n, p->conns, p->depth, &p->res);
	return NULL;
}

/* Sends per_partner proposals to each partner at once, one thread per partner; returns the
 * time the first was written. */
static double scale_fan_out(struct bench_node *hub, struct bench_node *ps, int k, long per_partner,
			    int conns, int depth)
{
	struct scale_push pushes[SCALE_MAX_PARTNERS];
	pthread_t th[SCALE_MAX_PARTNERS];
	double first = INFINITY;

	for (int i = 0; i < k; i++) {
		memset(&pushes[i], 0, sizeof(pushes[i]));
		pushes[i].sock = hub->sock;
		pushes[i].n = per_partner;
		pushes[i].conns = conns;
		pushes[i].depth = depth;
		bench_req_propose(&pushes[i].req, ps[i].id, "bench fan-out");
		if (pthread_create(&th[i], NULL, scale_push_main, &pushes[i]) != 0)
			bench_die("cannot start a sender thread");
	}
	for (int i = 0; i < k; i++) {
		pthread_join(th[i], NULL);
		if (pushes[i].rc != 0 || pushes[i].res.failed)
			bench_die("fan-out to %s: %s", ps[i].name, pushes[i].res.err);
		if (pushes[i].res.first_s < first)
			first = pushes[i].res.first_s;
		bench_req_free(&pushes[i].req);
	}
	return first;
}

/* Waits until the hub's store shows target receipts; returns when (bench_now). */
static double scale_wait_delivered(struct bench_node *hub, long target, double timeout_s)
{
	struct bench_watch w = { .sender_db = hub->db, .delivered_target = target };

	bench_watch_start(&w, timeout_s);
	bench_watch_join(&w, false);
	if (!w.t_delivered)
		bench_die("%s: %ld of %ld receipts within %.0f s", hub->name, w.delivered, target, timeout_s);
	return w.t_delivered;
}

void bench_link_scale(const struct bench_opts *o, const struct bench_sizes *z)
{
	struct bench_node hub, ps[SCALE_MAX_PARTNERS];
	int k = z->scale_partners < SCALE_MAX_PARTNERS ? z->scale_partners : SCALE_MAX_PARTNERS;
	long per = z->scale_n / k, total = per * k;
	int conns = z->conns / k > 0 ? z->conns / k : 1;
	double t_links, first, done, cpu0, cpu1, parts0 = 0, parts1 = 0;
	char note[256];

	bench_node_init(&hub, o, "hub");
	bench_node_start(&hub);
	for (int i = 0; i < k; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i + 1);
		bench_node_init(&ps[i], o, name);
		bench_node_start(&ps[i]);
	}
	t_links = bench_now();
	for (int i = 0; i < k; i++) {
		if (!bench_node_try_partner(&hub, &ps[i])) {
			/* best effort: say so and go on with the rest of the run */
			snprintf(note, sizeof(note), "not measured: the link hub <-> %.31s did not come up "
				 "within 30 s (COEX_BENCH_KEEP=1 keeps the node logs)", ps[i].name);
			report_section("(3b) fan-out: one hub sending to K partner nodes at once");
			report_add("scale_proposals_per_s", "proposals/s, all partners", NAN, "/s",
				   RATIO_FLOOR | RATIO_ZMQ);
			report_note("link_scale", note);
			fprintf(stderr, "coex-bench: link scale %s\n", note);
			bench_node_stop(&hub);
			for (int j = 0; j < k; j++)
				bench_node_stop(&ps[j]);
			return;
		}
	}
	t_links = bench_now() - t_links;

	scale_fan_out(&hub, ps, k, SCALE_WARMUP, conns, z->depth);
	scale_wait_delivered(&hub, (long)k * SCALE_WARMUP, SCALE_DRAIN_MIN_S);
	cpu0 = bench_proc_cpu(hub.pid);
	for (int i = 0; i < k; i++)
		parts0 += bench_proc_cpu(ps[i].pid);
	first = scale_fan_out(&hub, ps, k, per, conns, z->depth);
	done = scale_wait_delivered(&hub, (long)k * SCALE_WARMUP + total,
				    SCALE_DRAIN_MIN_S + (double)total / 100);
	cpu1 = bench_proc_cpu(hub.pid);
	for (int i = 0; i < k; i++)
		parts1 += bench_proc_cpu(ps[i].pid);

	bench_node_stop(&hub);
	for (int i = 0; i < k; i++)
		bench_node_stop(&ps[i]);

	report_section("(3b) fan-out: one hub sending to K partner nodes at once");
	report_add("scale_partners", "partners (each its own coexd)", k, "", RATIO_NONE);
	report_add("scale_n", "proposals", (double)total, "", RATIO_NONE);
	report_add("scale_link_setup_ms", "invite + join + link up, per partner", t_links / k * 1e3,
		   "ms", RATIO_NONE);
	report_add("scale_proposals_per_s", "proposals/s, all partners", (double)total / (done - first),
		   "/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("scale_hub_cpu_us_per_proposal", "hub CPU per proposal",
		   (cpu1 - cpu0) / (double)total * 1e6, "us", RATIO_NONE);
	report_add("scale_partner_cpu_us_per_proposal", "partners' CPU per proposal",
		   (parts1 - parts0) / (double)total * 1e6, "us", RATIO_NONE);
	snprintf(note, sizeof(note), "reduced form: 1 hub and %d partners on this machine's cores, "
		 "not a many-link test", k);
	report_note("link_scale", note);
}

void bench_backlog(const struct bench_opts *o, const struct bench_sizes *z)
{
	struct bench_node s, r;
	struct bench_req req;
	struct bench_push push;
	struct bench_db *sdb;
	double t_start, t_link, t_done, s_cpu0, s_cpu1, r_cpu1;
	long base;

	bench_node_init(&s, o, "bsender");
	bench_node_init(&r, o, "breceiver");
	bench_node_start(&s);
	bench_node_start(&r);
	bench_node_partner(&s, &r);
	bench_req_propose(&req, r.id, "bench backlog");
	if (bench_ctl_push(s.sock, &req, SCALE_WARMUP, 4, 1, &push) != 0 || push.failed)
		bench_die("backlog warm-up: %s", push.err);
	scale_wait_delivered(&s, SCALE_WARMUP, SCALE_DRAIN_MIN_S);
	sdb = bench_db_open(s.db);
	base = bench_db_delivered(sdb);
	bench_db_close(sdb);

	bench_node_stop(&r);
	if (bench_ctl_push(s.sock, &req, z->backlog_n, z->conns, z->depth, &push) != 0 || push.failed)
		bench_die("backlog: %s", push.err);
	bench_req_free(&req);

	t_start = bench_now();
	s_cpu0 = bench_proc_cpu(s.pid);
	bench_node_start(&r);
	if (!bench_node_wait_link(&s, &r, SCALE_LINK_TIMEOUT_S))
		bench_die("backlog: the link did not come back within %d s", SCALE_LINK_TIMEOUT_S);
	t_link = bench_now();
	t_done = scale_wait_delivered(&s, base + z->backlog_n,
				      SCALE_DRAIN_MIN_S + (double)z->backlog_n / 100);
	s_cpu1 = bench_proc_cpu(s.pid);
	r_cpu1 = bench_proc_cpu(r.pid); /* the receiver started with the drain */

	report_section("(5) backlog: queued while the receiver is down, drained after it starts");
	report_add("backlog_n", "proposals queued", (double)z->backlog_n, "", RATIO_NONE);
	report_add("backlog_queued_per_s", "queued/s with the receiver down",
		   (double)z->backlog_n / (push.last_s - push.first_s), "/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("backlog_relink_s", "receiver start -> link up at the sender", t_link - t_start,
		   "s", RATIO_NONE);
	report_add("backlog_drain_per_s", "drain rate (link up -> last receipt)",
		   (double)z->backlog_n / (t_done - t_link), "/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("backlog_sender_cpu_us_per_proposal", "drain: sender CPU per proposal",
		   (s_cpu1 - s_cpu0) / (double)z->backlog_n * 1e6, "us", RATIO_NONE);
	report_add("backlog_receiver_cpu_us_per_proposal", "drain: receiver CPU per proposal",
		   r_cpu1 / (double)z->backlog_n * 1e6, "us", RATIO_NONE);
	report_add("backlog_cpu_utilisation", "drain: both nodes' CPU / wall time / cores",
		   (s_cpu1 - s_cpu0 + r_cpu1) / (t_done - t_start) /
			   (double)sysconf(_SC_NPROCESSORS_ONLN), "", RATIO_NONE);
	report_add("backlog_sender_rss_peak_mib", "sender peak RSS (VmHWM)",
		   (double)bench_proc_hwm_kib(s.pid) / 1024, "MiB", RATIO_NONE);
	report_add("backlog_receiver_rss_peak_mib", "receiver peak RSS (VmHWM)",
		   (double)bench_proc_hwm_kib(r.pid) / 1024, "MiB", RATIO_NONE);
	bench_node_stop(&s);
	bench_node_stop(&r);
}
