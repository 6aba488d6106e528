/* One sender, one receiver, on 127.0.0.1:
 *
 *     sender ===== Noise link ====> receiver
 *       ^ ProposeRequest x N (pipelined over C control connections)
 *       <------------- receipts ------'
 *
 * (1) throughput: first ProposeRequest written to last receipt stored at the sender, and CPU
 *     per proposal at each node; (2) latency: one proposal at a time, ProposeRequest written
 *     to the receipt stored at the sender; (4) on a full run, export and audit the sender's
 *     log if this coex has those verbs, then audit a generated export of a million entries
 *     (times COEX_BENCH_SCALE) shaped like a sender's log (coex-bench-export). */
#include "bench.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	EX_WARMUP = 64,              /* proposals before measuring: link, keys, caches */
	EX_LATENCY_TIMEOUT_MS = 30000,
	EX_DRAIN_MIN_S = 120,        /* at least this long for receipts to arrive */
};

struct ex_cpu {
	double sender, receiver;
	struct bench_threads st, rt;
};

static void ex_cpu_read(const struct bench_node *s, const struct bench_node *r, struct ex_cpu *c)
{
	c->sender = bench_proc_cpu(s->pid);
	c->receiver = bench_proc_cpu(r->pid);
	if (bench_proc_threads(s->pid, &c->st) != 0)
		memset(&c->st, 0, sizeof(c->st));
	if (bench_proc_threads(r->pid, &c->rt) != 0)
		memset(&c->rt, 0, sizeof(c->rt));
}

/* Group-commit counters of a node's metrics, if it has them (NaN if not). */
struct ex_commits {
	double batches, jobs;
};

static void ex_commits_read(struct bench_node *n, struct ex_commits *c)
{
	char *m = bench_node_metrics(n);

	c->batches = m ? bench_metric(m, "coex_commit_batches_total") : NAN;
	c->jobs = m ? bench_metric(m, "coex_commit_jobs_total") : NAN;
	free(m);
}

static void ex_commits_report(const char *who, const struct ex_commits *a, const struct ex_commits *b,
			      double wall, double n)
{
	char key[64], label[96];
	double batches = b->batches - a->batches;

	snprintf(key, sizeof(key), "%s_commits_per_s", who);
	snprintf(label, sizeof(label), "%s group commits/s", who);
	report_add(key, label, batches / wall, "/s", RATIO_NONE);
	snprintf(key, sizeof(key), "%s_proposals_per_commit", who);
	snprintf(label, sizeof(label), "%s proposals per group commit", who);
	report_add(key, label, n / batches, "", RATIO_NONE);
	snprintf(key, sizeof(key), "%s_jobs_per_commit", who);
	snprintf(label, sizeof(label), "%s writes (jobs) per group commit", who);
	report_add(key, label, (b->jobs - a->jobs) / batches, "", RATIO_NONE);
}

/* perf record on a node while a measurement runs (--perf DIR); 0 if not asked for. */
static pid_t ex_perf_start(const struct bench_opts *o, const struct bench_node *n)
{
	char out[BENCH_PATH_MAX + 64], pid[16];
	char *argv[] = { "/usr/bin/perf", "record", "-q", "-F", "999", "-g", "-p", pid, "-o", out, NULL };

	if (!o->perf_dir)
		return 0;
	snprintf(out, sizeof(out), "%s/%s.perf.data", o->perf_dir, n->name);
	snprintf(pid, sizeof(pid), "%d", (int)n->pid);
	return bench_spawn(argv, NULL);
}

static void ex_perf_stop(pid_t p)
{
	if (p > 0)
		bench_stop(p, 10000);
}

/* Sends n proposals and waits for every receipt; dies if they do not all come back. */
static void ex_push_and_drain(struct bench_node *s, struct bench_node *r, const struct bench_req *req,
			      long n, int conns, int depth, struct bench_push *push, struct bench_watch *w)
{
	struct bench_db *sdb = bench_db_open(s->db), *rdb = bench_db_open(r->db);

	memset(w, 0, sizeof(*w));
	w->sender_db = s->db;
	w->receiver_db = r->db;
	w->delivered_target = bench_db_delivered(sdb) + n;
	w->received_target = bench_db_received(rdb) + n;
	bench_db_close(sdb);
	bench_db_close(rdb);
	bench_watch_start(w, EX_DRAIN_MIN_S + (double)n / 100);
	if (bench_ctl_push(s->sock, req, n, conns, depth, push) != 0 || push->failed)
		bench_die("proposals to %s: %s (%ld ok, %ld failed)", s->name, push->err, push->ok,
			  push->failed);
	bench_watch_join(w, false);
	if (!w->t_delivered || !w->t_received)
		bench_die("receipts missing: %ld of %ld delivered, %ld of %ld received",
			  w->delivered, w->delivered_target, w->received, w->received_target);
}

static void ex_throughput(const struct bench_opts *o, const struct bench_sizes *z,
			  struct bench_node *s, struct bench_node *r)
{
	struct bench_req req;
	struct bench_push push;
	struct bench_watch w;
	struct ex_cpu c0, c1;
	struct ex_commits sm0, sm1, rm0, rm1;
	double wall, n = (double)z->throughput_n, cs, cr;
	pid_t ps, pr;

	bench_req_propose(&req, r->id, "bench throughput");
	ex_push_and_drain(s, r, &req, EX_WARMUP, z->conns, z->depth, &push, &w);
	ps = ex_perf_start(o, s);
	pr = ex_perf_start(o, r);
	ex_commits_read(s, &sm0);
	ex_commits_read(r, &rm0);
	ex_cpu_read(s, r, &c0);
	ex_push_and_drain(s, r, &req, z->throughput_n, z->conns, z->depth, &push, &w);
	ex_cpu_read(s, r, &c1);
	ex_commits_read(s, &sm1);
	ex_commits_read(r, &rm1);
	ex_perf_stop(ps);
	ex_perf_stop(pr);
	bench_req_free(&req);

	wall = w.t_delivered - push.first_s;
	cs = (c1.sender - c0.sender) / n * 1e6;
	cr = (c1.receiver - c0.receiver) / n * 1e6;
	report_section("(1) throughput: 2 nodes, 1 KiB proposals, first queued to last receipt");
	report_add("throughput_n", "proposals", n, "", RATIO_NONE);
	report_add("control_connections", "control connections pipelining", z->conns, "", RATIO_NONE);
	report_add("control_depth", "  proposals in flight on each", z->depth, "", RATIO_NONE);
	report_add("proposals_per_s", "proposals/s (queue -> receipt at the sender)", n / wall, "/s",
		   RATIO_FLOOR | RATIO_ZMQ);
	report_add("received_per_s", "received/s (queue -> committed at the receiver)",
		   n / (w.t_received - push.first_s), "/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("queued_per_s", "queued/s (sender's answers to ProposeRequest)",
		   n / (push.last_s - push.first_s), "/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("sender_cpu_us_per_proposal", "sender CPU per proposal", cs, "us", RATIO_NONE);
	report_add("sender_loop_cpu_us_per_proposal", "  of which its loop thread",
		   (c1.st.loop_s - c0.st.loop_s) / n * 1e6, "us", RATIO_NONE);
	report_add("sender_workers_cpu_us_per_proposal", "  of which its other threads",
		   (c1.st.others_s - c0.st.others_s) / n * 1e6, "us", RATIO_NONE);
	report_add("receiver_cpu_us_per_proposal", "receiver CPU per proposal", cr, "us", RATIO_NONE);
	report_add("receiver_loop_cpu_us_per_proposal", "  of which its loop thread",
		   (c1.rt.loop_s - c0.rt.loop_s) / n * 1e6, "us", RATIO_NONE);
	report_add("receiver_workers_cpu_us_per_proposal", "  of which its other threads",
		   (c1.rt.others_s - c0.rt.others_s) / n * 1e6, "us", RATIO_NONE);
	/* the signature and verification every proposal needs, against what it costs in all */
	report_add("crypto_floor_share", "sign + verify as a share of both nodes' CPU",
		   1e6 / (report_get("crypto_floor_1core_per_s") * (cs + cr)), "", RATIO_NONE);
	report_add("cpu_utilisation", "both nodes' CPU / wall time / cores",
		   (c1.sender - c0.sender + c1.receiver - c0.receiver) / wall / report_get("cores"),
		   "", RATIO_NONE);
	ex_commits_report("sender", &sm0, &sm1, wall, n);
	ex_commits_report("receiver", &rm0, &rm1, wall, n);
}

/* Full run: the same push with fewer and more requests in flight (pipelined on up to 64 per
 * connection). The node commits what arrived while the previous commit ran, so more requests
 * in flight make bigger batches. */
static void ex_concurrency(const struct bench_sizes *z, struct bench_node *s, struct bench_node *r)
{
	static const int inflight[] = { 1, 8, 128, 512 };
	long n = z->throughput_n / 4;
	struct bench_req req;
	struct bench_push push;
	struct bench_watch w;

	report_section("(1b) throughput against requests in flight");
	bench_req_propose(&req, r->id, "bench concurrency");
	for (size_t i = 0; i < sizeof(inflight) / sizeof(inflight[0]); i++) {
		char key[64], label[96];
		long k = inflight[i] == 1 ? n / 8 : n;
		int conns = (inflight[i] + 63) / 64;

		ex_push_and_drain(s, r, &req, k, conns, inflight[i] / conns, &push, &w);
		snprintf(key, sizeof(key), "proposals_per_s_c%d", inflight[i]);
		snprintf(label, sizeof(label), "proposals/s, %d in flight", inflight[i]);
		report_add(key, label, (double)k / (w.t_delivered - push.first_s), "/s",
			   RATIO_FLOOR | RATIO_ZMQ);
	}
	bench_req_free(&req);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, long n, double p)
{
	long i = (long)ceil(p * (double)n) - 1;

	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* One proposal at a time on one control connection: ProposeRequest, its answer ("queued",
 * durable), then a show that the node answers when the receipt is committed (no polling: the
 * figure is the node's, not a poller's interval). */
static void ex_latency(const struct bench_sizes *z, struct bench_node *s, struct bench_node *r)
{
	struct bench_conn conn;
	double *lat = calloc((size_t)z->latency_n, sizeof(*lat));
	double *q = calloc((size_t)z->latency_n, sizeof(*q));
	double sum = 0;
	char err[256];
	int rc;

	if (!lat || !q)
		bench_die("out of memory");
	if ((rc = bench_conn_open(s->sock, &conn)) != 0)
		bench_die("control connection to %s: %s", s->name, strerror(-rc));
	for (long i = 0; i < z->latency_n; i++) {
		uint8_t hash[32];
		double t0 = bench_now(), tq;

		if (bench_conn_propose(&conn, r->id, "bench latency", hash, err, sizeof(err)) != 0)
			bench_die("latency proposal %ld: %s", i, err);
		tq = bench_now();
		if (bench_conn_wait_receipt(&conn, hash, EX_LATENCY_TIMEOUT_MS, err, sizeof(err)) != 0)
			bench_die("latency proposal %ld: %s", i, err);
		lat[i] = (bench_now() - t0) * 1e3;
		q[i] = (tq - t0) * 1e3;
		sum += lat[i];
	}
	bench_conn_close(&conn);
	qsort(lat, (size_t)z->latency_n, sizeof(*lat), cmp_double);
	qsort(q, (size_t)z->latency_n, sizeof(*q), cmp_double);
	report_section("(2) latency: one proposal at a time, ProposeRequest -> receipt stored at the sender");
	report_add("latency_n", "proposals", (double)z->latency_n, "", RATIO_NONE);
	report_add("latency_p50_ms", "p50", pct(lat, z->latency_n, 0.50), "ms", RATIO_NONE);
	report_add("latency_p99_ms", "p99", pct(lat, z->latency_n, 0.99), "ms", RATIO_NONE);
	report_add("latency_p999_ms", "p99.9", pct(lat, z->latency_n, 0.999), "ms", RATIO_NONE);
	report_add("latency_mean_ms", "mean", sum / (double)z->latency_n, "ms", RATIO_NONE);
	report_add("latency_max_ms", "max", lat[z->latency_n - 1], "ms", RATIO_NONE);
	report_add("queue_ack_p50_ms", "of which ProposeRequest answered (queued), p50",
		   pct(q, z->latency_n, 0.50), "ms", RATIO_NONE);
	report_add("queue_ack_p99_ms", "of which ProposeRequest answered (queued), p99",
		   pct(q, z->latency_n, 0.99), "ms", RATIO_NONE);
	free(lat);
	free(q);
}

/* Runs argv, timing it; dies never: a failure becomes a note. Returns seconds or NaN. */
static double ex_timed(char *const argv[], const char *what)
{
	char out[1024], note[1200];
	double t0 = bench_now();
	int rc = bench_run(argv, out, sizeof(out));

	if (rc == 0)
		return bench_now() - t0;
	out[strcspn(out, "\n")] = 0;
	snprintf(note, sizeof(note), "%s failed (exit %d): %s", what, rc, out);
	report_note("log_audit", note);
	return NAN;
}

static double ex_children_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return NAN;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* coex audit of a generated export of EX_AUDIT_ENTRIES x scale entries: the audit's speed at
 * a size the exchange above does not reach. Wall and CPU seconds (all cores). */
enum { EX_AUDIT_ENTRIES = 1000000 };

static void ex_big_audit(const struct bench_opts *o)
{
	char exe[PATH_MAX], gen[PATH_MAX + 32], file[BENCH_PATH_MAX + 16], count[32], out[256];
	char *gen_argv[] = { gen, count, file, NULL };
	char *audit_argv[] = { (char *)o->coex, "audit", file, NULL };
	double n = floor(EX_AUDIT_ENTRIES * o->scale), t0, c0, wall, cpu;

	if (!realpath("/proc/self/exe", exe))
		return;
	snprintf(gen, sizeof(gen), "%s/coex-bench-export", dirname(exe));
	snprintf(file, sizeof(file), "%s/big.cxlog", bench_root());
	snprintf(count, sizeof(count), "%.0f", n < 2 ? 2 : n);
	if (access(gen, X_OK) != 0 || bench_run(gen_argv, out, sizeof(out)) != 0) {
		report_note("big_audit", "skipped: coex-bench-export not found or failed");
		return;
	}
	c0 = ex_children_cpu();
	t0 = bench_now();
	wall = bench_run(audit_argv, out, sizeof(out)) == 0 ? bench_now() - t0 : NAN;
	cpu = ex_children_cpu() - c0;
	unlink(file);
	report_add("big_audit_entries", "generated export: entries", n, "", RATIO_NONE);
	report_add("big_audit_entries_per_s", "coex audit of it", n / wall, "entries/s", RATIO_NONE);
	report_add("big_audit_wall_s", "coex audit of it: wall", wall, "s", RATIO_NONE);
	report_add("big_audit_cpu_s", "coex audit of it: CPU, all threads", cpu, "s", RATIO_NONE);
}

static void ex_log_audit(const struct bench_opts *o, struct bench_node *s)
{
	char help[8192], file[BENCH_PATH_MAX + 16];
	char *help_argv[] = { (char *)o->coex, "--help", NULL };
	char *export_argv[] = { (char *)o->coex, "--data", s->dir, "log", "export", "-o", file, NULL };
	char *audit_argv[] = { (char *)o->coex, "audit", file, NULL };
	struct bench_db *sdb;
	double entries, te, ta;

	report_section("(4) the sender's exchange log: export and offline audit");
	bench_run(help_argv, help, sizeof(help));
	if (!strstr(help, "audit") || !strstr(help, "\n  log")) {
		report_add("audit_entries_per_s", "audit", NAN, "/s", RATIO_NONE);
		report_note("log_audit", "skipped: this coex has no 'log export' and 'audit' verbs");
		return;
	}
	snprintf(file, sizeof(file), "%s/sender.cxlog", bench_root());
	sdb = bench_db_open(s->db);
	entries = (double)bench_db_log_size(sdb);
	bench_db_close(sdb);
	te = ex_timed(export_argv, "coex log export");
	ta = isnan(te) ? NAN : ex_timed(audit_argv, "coex audit");
	report_add("log_entries", "log entries", entries, "", RATIO_NONE);
	report_add("export_entries_per_s", "coex log export", entries / te, "entries/s", RATIO_NONE);
	report_add("audit_entries_per_s", "coex audit (offline verification)", entries / ta,
		   "entries/s", RATIO_FLOOR);
	ex_big_audit(o);
}

void bench_exchange(const struct bench_opts *o, const struct bench_sizes *z)
{
	struct bench_node s, r;

	bench_node_init(&s, o, "sender");
	bench_node_init(&r, o, "receiver");
	bench_node_start(&s);
	bench_node_start(&r);
	bench_node_partner(&s, &r);
	if (o->latency_only) {
		struct bench_req req;
		struct bench_push push;
		struct bench_watch w;

		bench_req_propose(&req, r.id, "bench warm-up");
		ex_push_and_drain(&s, &r, &req, EX_WARMUP, 1, 1, &push, &w);
		bench_req_free(&req);
	} else {
		ex_throughput(o, z, &s, &r);
	}
	if (!o->quick && !o->latency_only)
		ex_concurrency(z, &s, &r);
	ex_latency(z, &s, &r);
	if (!o->quick && !o->latency_only)
		ex_log_audit(o, &s);
	bench_node_stop(&s);
	bench_node_stop(&r);
}
