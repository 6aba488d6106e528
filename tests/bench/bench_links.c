/* (3) Link scale: one hub coexd holding N partner links, every partner a real Noise IK
 * initiator held by one load-generating process (coex-bench-links, tests/bench/links).
 *
 *     coex-bench-links (N identities) ==N links==> hub (N [partner] sections, no address)
 *
 * The hub's coex.conf lists the N identities as partners without an address, as a node
 * waiting to be dialled by its partners would. Its half-open caps keep their defaults: the
 * generator connects from 127.0.0.2 .. 127.0.0.17, at most handshakes_per_address at once from
 * each and handshakes_total in all. Measured: handshakes/s from the first connect to the
 * last link up (the generator's clock; the hub's own count, coex_links_up, must agree), the
 * hub's CPU per handshake and its resident set before and after (VmRSS), per link. */
#define _GNU_SOURCE /* realpath */
#include "bench.h"
#include "client.h"
#include "links/linkgen_seed.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	LINKS_SOURCES = 16,           /* 127.0.0.2 .. 127.0.0.17 */
	LINKS_PER_SOURCE = 16,        /* the hub's default handshakes_per_address */
	LINKS_WINDOW = 256,           /* its default handshakes_total */
	LINKS_FD_SPARE = 256,         /* the hub's other descriptors */
	LINKS_SETTLE_S = 30,
};

struct gen {
	pid_t pid;
	FILE *in, *out;               /* its stdin, its stdout */
};

/* Raises this process's soft descriptor limit to what need asks, up to the hard limit; the
 * hub and the generator inherit it. Returns the soft limit now. */
static unsigned long links_raise_fds(unsigned long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 0;
	}
	return (unsigned long)rl.rlim_cur;
}

/* Appends the n generator identities to the hub's coex.conf as partners without an address. */
static void links_write_partners(const struct bench_node *hub, long n)
{
	char path[BENCH_PATH_MAX + 16], id[IDENTITY_ID_LEN + 1];
	struct identity ident;
	FILE *f;

	snprintf(path, sizeof(path), "%s/coex.conf", hub->dir);
	if (!(f = fopen(path, "a")))
		bench_die("cannot write %s", path);
	for (long i = 0; i < n; i++) {
		if (linkgen_identity((uint32_t)i, &ident) != 0)
			bench_die("cannot make identity %ld", i);
		identity_id_format(ident.pk, id);
		identity_wipe(&ident);
		fprintf(f, "\n[partner gen%ld]\nid = %s\n", i, id);
	}
	if (fclose(f) != 0)
		bench_die("cannot write %s", path);
}

/* The hub's first listen address and how many of its links are up (coex status). */
static void links_status(struct bench_node *hub, char *listen, size_t cap, long *up)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__StatusRequest sr = COEX__STATUS_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL;
	char err[256];

	req.cmd_case = COEX__CTL_REQUEST__CMD_STATUS;
	req.status = &sr;
	if (client_call(hub->sock, &req, BENCH_CTL_TIMEOUT_MS, &resp, err, sizeof(err)) != 0)
		bench_die("status on %s: %s", hub->name, err);
	if (resp->code != 0 || resp->result_case != COEX__CTL_RESPONSE__RESULT_STATUS)
		bench_die("status on %s: %s", hub->name, resp->error);
	if (listen) {
		if (resp->status->n_listen < 1)
			bench_die("%s listens nowhere", hub->name);
		snprintf(listen, cap, "%s", resp->status->listen[0]);
	}
	*up = 0;
	for (size_t i = 0; i < resp->status->n_links; i++)
		*up += strcmp(resp->status->links[i]->state, "up") == 0;
	coex__ctl_response__free_unpacked(resp, NULL);
}

/* coex-bench-links, beside coexd in the build tree. */
static void links_gen_path(const struct bench_opts *o, char *out, size_t cap)
{
	char dir[BENCH_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", o->coexd);
	snprintf(out, cap, "%s/tests/coex-bench-links", dirname(dir));
	if (access(out, X_OK) != 0)
		bench_die("cannot run %s: build the coex-bench-links target", out);
}

static void gen_start(struct gen *g, char *const argv[])
{
	int to, from;

	g->pid = bench_spawn_pipes(argv, &to, &from);
	if (!(g->in = fdopen(to, "w")) || !(g->out = fdopen(from, "r")))
		bench_die("fdopen: %s", strerror(errno));
}

/* The generator's next line, which must start with word; dies on "error ..." or its end. */
static void gen_expect(struct gen *g, const char *word, char *line, size_t cap)
{
	if (!fgets(line, (int)cap, g->out))
		bench_die("coex-bench-links ended without '%s'", word);
	line[strcspn(line, "\n")] = 0;
	if (strncmp(line, word, strlen(word)) != 0 || line[strlen(word)] != ' ')
		bench_die("coex-bench-links: %s", line);
}

static void gen_say(struct gen *g, const char *what)
{
	fprintf(g->in, "%s\n", what);
	fflush(g->in);
}

static void gen_end(struct gen *g)
{
	int status;

	fclose(g->in);
	fclose(g->out);
	while (waitpid(g->pid, &status, 0) < 0 && errno == EINTR)
		;
	bench_child_forget(g->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("coex-bench-links exited with status %d", status);
}

struct links_result {
	long n;
	double prep_s, up_s, hs_p50_ms, hs_p99_ms;
	unsigned retries;
	long rss0_kib, rss1_kib;
	double cpu_s, gen_cpu_s;
	long hub_up, held, dropped;
	double handshakes_total, lag_max_ms;
	double start_s;               /* hub start with n partners (store merge) */
};

static void links_run(const struct bench_opts *o, long n, const char *name, struct links_result *res)
{
	struct bench_node hub;
	struct gen g;
	char gen_path[BENCH_PATH_MAX], listen[128], n_s[32], src_s[16], per_s[16], win_s[16];
	char line[256], *metrics;
	double cpu0, gcpu0, t0, deadline;
	long up = 0;

	memset(res, 0, sizeof(*res));
	res->n = n;
	links_gen_path(o, gen_path, sizeof(gen_path));
	bench_node_init(&hub, o, name);
	links_write_partners(&hub, n);
	/* coexd adds each [partner] to its store in its own transaction at start: one fsync each */
	hub.start_timeout_s = 20 + (double)n / 100;
	t0 = bench_now();
	bench_node_start(&hub);
	res->start_s = bench_now() - t0;
	links_status(&hub, listen, sizeof(listen), &up);
	if (up != 0)
		bench_die("%s has %ld links up before the generator started", hub.name, up);

	snprintf(n_s, sizeof(n_s), "%ld", n);
	snprintf(src_s, sizeof(src_s), "%d", LINKS_SOURCES);
	snprintf(per_s, sizeof(per_s), "%d", LINKS_PER_SOURCE);
	snprintf(win_s, sizeof(win_s), "%d", LINKS_WINDOW);
	{
		char *argv[] = { gen_path, hub.id, listen, n_s, src_s, per_s, win_s, NULL };
		gen_start(&g, argv);
	}
	gen_expect(&g, "ready", line, sizeof(line));
	res->prep_s = atof(line + 6);
	res->rss0_kib = bench_proc_rss_kib(hub.pid);
	cpu0 = bench_proc_cpu(hub.pid);
	gcpu0 = bench_proc_cpu(g.pid);
	gen_say(&g, "go");
	gen_expect(&g, "up", line, sizeof(line));
	res->cpu_s = bench_proc_cpu(hub.pid) - cpu0;
	res->gen_cpu_s = bench_proc_cpu(g.pid) - gcpu0;
	res->rss1_kib = bench_proc_rss_kib(hub.pid);
	if (sscanf(line, "up %*d %lf %u %lf %lf", &res->up_s, &res->retries, &res->hs_p50_ms,
		   &res->hs_p99_ms) != 4)
		bench_die("coex-bench-links: %s", line);

	/* The hub's own view must agree: every link up (it may still be reading the last
	 * confirmations when the generator has seen their answers). */
	deadline = bench_now() + LINKS_SETTLE_S;
	do {
		links_status(&hub, NULL, 0, &res->hub_up);
		if (res->hub_up == n)
			break;
		bench_sleep_ms(50);
	} while (bench_now() < deadline);
	if ((metrics = bench_node_metrics(&hub))) {
		res->handshakes_total = bench_metric(metrics, "coex_handshakes_total");
		res->lag_max_ms = bench_metric(metrics, "coex_loop_lag_max_ms");
		if (bench_metric(metrics, "coex_links_up") != (double)n)
			res->hub_up = (long)bench_metric(metrics, "coex_links_up");
		free(metrics);
	}
	gen_say(&g, "stop");
	gen_expect(&g, "held", line, sizeof(line));
	if (sscanf(line, "held %ld %ld", &res->held, &res->dropped) != 2)
		bench_die("coex-bench-links: %s", line);
	gen_end(&g);
	bench_node_stop(&hub);
	if (res->hub_up != n)
		bench_die("%s sees %ld of %ld links up", hub.name, res->hub_up, n);
}

static void links_report(const char *key, const struct links_result *r)
{
	char k[64], label[128];

#define ADD(suffix, lab, val, unit, ratios)                                     \
	do {                                                                    \
		snprintf(k, sizeof(k), "%s_%s", key, suffix);                   \
		snprintf(label, sizeof(label), "%ld links: %s", r->n, lab);     \
		report_add(k, label, val, unit, ratios);                        \
	} while (0)
	ADD("handshakes_per_s", "handshakes/s, first connect -> last link up", (double)r->n / r->up_s,
	    "/s", RATIO_NONE);
	ADD("hub_cpu_us_per_handshake", "hub CPU per handshake", r->cpu_s / (double)r->n * 1e6, "us",
	    RATIO_NONE);
	/* The hub and the generator share the machine's cores: what one core of hub could do. */
	ADD("hub_handshakes_per_core_s", "hub capacity, 1 / hub CPU per handshake",
	    (double)r->n / r->cpu_s, "/s", RATIO_NONE);
	ADD("gen_cpu_us_per_handshake", "generator CPU per handshake", r->gen_cpu_s / (double)r->n * 1e6,
	    "us", RATIO_NONE);
	ADD("handshake_p50_ms", "connect -> link up, p50", r->hs_p50_ms, "ms", RATIO_NONE);
	ADD("handshake_p99_ms", "connect -> link up, p99", r->hs_p99_ms, "ms", RATIO_NONE);
	ADD("rss_kib_per_link", "hub RSS per link ((after - before) / N)",
	    (double)(r->rss1_kib - r->rss0_kib) / (double)r->n, "KiB", RATIO_NONE);
	ADD("hub_rss_mib", "hub RSS with every link up", (double)r->rss1_kib / 1024, "MiB", RATIO_NONE);
	ADD("hub_rss_before_mib", "hub RSS before (N partners loaded)", (double)r->rss0_kib / 1024,
	    "MiB", RATIO_NONE);
	ADD("hub_start_s", "hub start with N partners in coex.conf", r->start_s, "s", RATIO_NONE);
	ADD("hub_lag_max_ms", "hub event loop's longest lag (coex_loop_lag_max_ms)", r->lag_max_ms,
	    "ms", RATIO_NONE);
	ADD("retries", "handshakes the hub refused (redialled)", r->retries, "", RATIO_NONE);
#undef ADD
}

void bench_links(const struct bench_opts *o, const struct bench_sizes *z)
{
	struct links_result r[2];
	const char *keys[2] = { z->links_key[0], z->links_key[1] };
	unsigned long fds = links_raise_fds((unsigned long)z->links_n[1] + LINKS_FD_SPARE);
	char note[320];
	int runs = z->links_n[1] > 0 ? 2 : 1;

	report_section("(3) link scale: one hub coexd, N partner links from one generator process");
	for (int i = 0; i < runs; i++) {
		char name[32];

		if ((unsigned long)z->links_n[i] + LINKS_FD_SPARE > fds) {
			snprintf(note, sizeof(note), "%ld links not measured: %ld descriptors needed, "
				 "the limit is %lu (ulimit -Hn)", z->links_n[i],
				 z->links_n[i] + LINKS_FD_SPARE, fds);
			report_note(keys[i], note);
			fprintf(stderr, "coex-bench: %s\n", note);
			runs = i;
			break;
		}
		snprintf(name, sizeof(name), "hub%ld", z->links_n[i]);
		bench_log("link scale: %ld links", z->links_n[i]);
		links_run(o, z->links_n[i], name, &r[i]);
		links_report(keys[i], &r[i]);
	}
	if (runs > 0)
		report_add("handshakes_per_s", "handshakes/s, the largest N", (double)r[runs - 1].n /
			   r[runs - 1].up_s, "/s", RATIO_NONE);
	snprintf(note, sizeof(note), "hub at its default handshake caps (16 per address, 256 in all); "
		 "the generator dials from 127.0.0.2-17 and prepares its initiations before the clock "
		 "starts; descriptor limit %lu", fds);
	report_note("links", note);
}
