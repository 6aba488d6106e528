/* coex-bench: the node's figures side by side with baselines measured in the same run.
 *
 * Shared declarations for the bench's modules: process and temp-dir bookkeeping (bench_proc.c),
 * node lifecycle (bench_node.c), pipelined control requests (bench_ctl.c), read-only store
 * polling (bench_db.c), baselines (bench_base.c, bench_zmq.c), the node measurements
 * (bench_exchange.c) and the report (bench_report.c). Functions return 0 or a negative error
 * code unless they say otherwise; a failure the run cannot go on from ends in bench_die(),
 * which still removes every process and file the bench made. */
#ifndef COEX_BENCH_H
#define COEX_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	BENCH_MAX_CHILDREN = 64,     /* processes the cleanup path knows about */
	BENCH_PATH_MAX = 512,
	BENCH_DIR_MAX = 256,         /* a node's data directory: its socket path must fit 107 bytes */
	BENCH_ID_MAX = 64,           /* a node id (52 characters) and its NUL */
	BENCH_PROPOSAL_BODY = 1000,  /* bytes of Markdown per proposal: ~1 KiB with the rest */
	BENCH_CTL_TIMEOUT_MS = 60 * 1000,
};

/* ---------------------------------------------------------------- options and sizes */

struct bench_opts {
	bool quick;
	bool verbose;
	double scale;                /* COEX_BENCH_SCALE: multiplies every count and duration */
	const char *json_path;
	char coexd[BENCH_PATH_MAX];
	char coex[BENCH_PATH_MAX];
	const char *perf_dir;        /* --perf DIR: perf record the nodes during the throughput run */
	bool links_only;             /* --only links: the link-scale part alone */
	bool latency_only;           /* --only latency: the disk baseline and the latency part */
	bool backlog_only;           /* --only backlog: the disk baseline and the backlog part */
};

/* Counts for one run, after --quick and the scale are applied. */
struct bench_sizes {
	long throughput_n;
	int conns;                   /* control connections pipelining proposals */
	int depth;                   /* proposals in flight on each of them */
	long latency_n;
	long backlog_n;
	long links_n[2];             /* link scale: partner links held, two runs (0: no second) */
	const char *links_key[2];    /* their JSON key prefixes: "links_1k", "links_10k" */
	int scale_partners;
	long scale_n;
	double crypto_s;             /* seconds per crypto baseline */
	long sqlite_batches;
	long sqlite_single;
	long zmq_n;
};

/* ---------------------------------------------------------------- bench_proc.c */

double bench_now(void);                       /* monotonic seconds */
void bench_sleep_ms(double ms);
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_set_verbose(bool on);

/* Makes the run's temp root (mode 0700) and installs the atexit and signal cleanup that kills
 * every registered child and removes the root. */
void bench_proc_init(void);
const char *bench_root(void);
void bench_child_add(pid_t pid);
void bench_child_forget(pid_t pid);           /* after the bench reaped it itself */

/* Starts argv[0] (a path) with stdout and stderr appended to log_path (NULL: /dev/null), dies
 * with the bench. Returns the pid, registered for cleanup. */
pid_t bench_spawn(char *const argv[], const char *log_path);
/* Starts argv[0] with its stdin and stdout on pipes (stderr: the bench's), dies with the
 * bench. Returns the pid, registered for cleanup; *to_child and *from_child are the pipes'
 * other ends (close-on-exec). */
pid_t bench_spawn_pipes(char *const argv[], int *to_child, int *from_child);
/* Runs argv to completion; its stdout (at most outlen - 1 bytes, NUL-terminated) in out, if
 * out. Returns the exit status (0..255), or -1 if it did not exit normally. */
int bench_run(char *const argv[], char *out, size_t outlen);
/* SIGTERM, then SIGKILL after grace_ms; reaps it. Returns its exit status or -1. */
int bench_stop(pid_t pid, int grace_ms);
bool bench_alive(pid_t pid);

/* CPU time of a process (all its threads, live and exited), in seconds; -1 if unknown. */
double bench_proc_cpu(pid_t pid);
/* Peak resident set (VmHWM) in KiB; -1 if unknown. */
long bench_proc_hwm_kib(pid_t pid);
/* Its resident set now (VmRSS), in KiB, or -1. */
long bench_proc_rss_kib(pid_t pid);

/* Per-thread CPU of a process: the loop thread (tid == pid) and all others summed. */
struct bench_threads {
	double loop_s, others_s;
	int n_others;
};
int bench_proc_threads(pid_t pid, struct bench_threads *out);

/* ---------------------------------------------------------------- bench_node.c */

struct bench_node {
	char name[32];
	char dir[BENCH_DIR_MAX];
	char sock[BENCH_PATH_MAX];
	char db[BENCH_PATH_MAX];
	char log[BENCH_PATH_MAX];
	char id[BENCH_ID_MAX];
	pid_t pid;
	const struct bench_opts *opts;
	double start_timeout_s;      /* 0: 20 s (a hub merging 10,000 partners takes longer) */
};

/* coex init in ROOT/name (a fast-reconnect [limits] section, no inbound rate cap). */
void bench_node_init(struct bench_node *n, const struct bench_opts *o, const char *name);
void bench_node_start(struct bench_node *n);  /* returns once the control socket answers */
void bench_node_stop(struct bench_node *n);   /* SIGTERM; dies if it does not exit cleanly */
/* a makes an invite, b joins with it; returns when both see the link up (dies if they do not
 * within 30 s; the try_ form returns false instead). */
void bench_node_partner(struct bench_node *a, struct bench_node *b);
bool bench_node_try_partner(struct bench_node *a, struct bench_node *b);
/* Waits until n sees its link to peer up (true) or gives up after timeout_s (false). */
bool bench_node_wait_link(struct bench_node *n, const struct bench_node *peer, double timeout_s);
/* The node's metrics (Prometheus text, malloc'd), or NULL if it has none. */
char *bench_node_metrics(struct bench_node *n);
/* The value of an unlabelled sample `name` in metrics text; NaN if absent. */
double bench_metric(const char *text, const char *name);

/* ---------------------------------------------------------------- bench_ctl.c */

/* A packed, length-prefixed ProposeRequest of about 1 KiB to partner `to`. */
struct bench_req {
	uint8_t *buf;
	size_t len;
};
void bench_req_propose(struct bench_req *r, const char *to, const char *title);
void bench_req_free(struct bench_req *r);

struct bench_push {
	double first_s, last_s;      /* first request written, last answer read (bench_now) */
	long ok, failed;
	char err[256];               /* the first failure */
};
/* Sends count copies of req over conns persistent connections to sock, each with up to depth
 * requests pipelined (answered in order), until all are answered. */
int bench_ctl_push(const char *sock, const struct bench_req *req, long count, int conns,
		   int depth, struct bench_push *out);
/* One blocking control connection, one request at a time (the latency run). */
struct bench_conn {
	int fd;
};
int bench_conn_open(const char *sock, struct bench_conn *c);
void bench_conn_close(struct bench_conn *c);
/* Proposes to `to`: the message's hash (32 bytes) once the node answered "queued". */
int bench_conn_propose(struct bench_conn *c, const char *to, const char *title, uint8_t hash[32],
		       char *err, size_t errlen);
/* Waits for the message's receipt (show with wait_receipt_ms): 0 once the node answers that
 * it is delivered, -ETIMEDOUT if it answers without within timeout_ms. */
int bench_conn_wait_receipt(struct bench_conn *c, const uint8_t hash[32], uint32_t timeout_ms,
			    char *err, size_t errlen);

/* ---------------------------------------------------------------- bench_db.c */

struct bench_db;
/* Opens a node's coex.db read-only (WAL readers do not block the node's writer). */
struct bench_db *bench_db_open(const char *path);
void bench_db_close(struct bench_db *d);
long bench_db_received(struct bench_db *d);   /* messages in (dir = 1) */
long bench_db_delivered(struct bench_db *d);  /* messages out with a receipt (state >= 2) */
long bench_db_log_size(struct bench_db *d);

enum { BENCH_WATCH_MS = 20 };

/* Watches one or two stores from a thread until the sender's delivered count and the
 * receiver's received count reach their targets (absolute counts), recording when each was
 * first seen (bench_now; 0: not reached). A NULL path is not watched. */
struct bench_watch {
	const char *sender_db, *receiver_db;
	long delivered_target, received_target;
	double t_delivered, t_received;
	long delivered, received;     /* last counts read */
	double deadline;
	atomic_bool stop;
	pthread_t thread;
};
void bench_watch_start(struct bench_watch *w, double timeout_s);
/* Waits for the watcher to finish (stop_now: tells it to stop first). */
void bench_watch_join(struct bench_watch *w, bool stop_now);

/* ---------------------------------------------------------------- report (bench_report.c) */

enum bench_ratio {
	RATIO_NONE = 0,
	RATIO_FLOOR = 1,             /* value / crypto_floor_per_s */
	RATIO_ZMQ = 2,               /* value / zmq_curve_per_s */
};

void report_section(const char *title);
/* Adds a figure (key and label are copied; unit must be a literal); a NaN value prints "n/a"
 * and writes JSON null. */
void report_add(const char *key, const char *label, double value, const char *unit, int ratios);
void report_note(const char *key, const char *text); /* a string in the JSON, a line in the text */
double report_get(const char *key);          /* NaN if absent */
void report_print(void);
int report_write_json(const char *path);
void report_free(void);

/* ---------------------------------------------------------------- measurements */

void bench_crypto(const struct bench_sizes *z);   /* bench_base.c */
void bench_sqlite(const struct bench_sizes *z);
void bench_zmq(const struct bench_sizes *z);      /* bench_zmq.c */

/* bench_exchange.c: one pair of nodes; throughput (1), latency (2), then on a full run the
 * log export and audit of the sender's log (4). */
void bench_exchange(const struct bench_opts *o, const struct bench_sizes *z);
/* bench_links.c: one hub holding N partner links from one generator process (3). */
void bench_links(const struct bench_opts *o, const struct bench_sizes *z);
/* bench_scale.c: a hub with several partners (3) and a backlog drained after a restart (5). */
void bench_link_scale(const struct bench_opts *o, const struct bench_sizes *z);
void bench_backlog(const struct bench_opts *o, const struct bench_sizes *z);

#endif
