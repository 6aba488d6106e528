/* coex-bench: coexd's throughput, latency and backlog side by side with baselines measured
 * in the same run (libsodium sign/verify and AEAD on one core, SQLite durable group commit,
 * a ZeroMQ CURVE peer), printed as ratios to them. Never a timed test: machines are noisy,
 * so only ratios within one run mean anything.
 *
 *     coex-bench [--quick] [--json FILE] [--coexd PATH] [--coex PATH] [--perf DIR] [--only links|latency|backlog] [-v]
 *
 * COEX_BENCH_SCALE (default 1) multiplies every count and duration. */
#define _GNU_SOURCE /* realpath */
#include "bench.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef COEX_BENCH_BINDIR
#define COEX_BENCH_BINDIR ""
#endif

static const char usage[] =
	"usage: coex-bench [--quick] [--json FILE] [--coexd PATH] [--coex PATH] [--perf DIR] [--only links|latency|backlog] [-v]\n"
	"\n"
	"Measures two coexd nodes on 127.0.0.1 (throughput, latency, link scale, log audit,\n"
	"backlog) and, in the same run, the baselines they are compared with: Ed25519 sign and\n"
	"verify (the crypto floor), crypto_box and ChaCha20-Poly1305, SQLite durable group commit,\n"
	"and a ZeroMQ CURVE PUSH/PULL peer. Prints a table of figures with their ratios to the\n"
	"crypto floor and to ZeroMQ.\n"
	"\n"
	"  --quick        reduced throughput, latency and baselines only (well under a minute)\n"
	"  --json FILE    also write the figures as one JSON object\n"
	"  --coexd PATH   the daemon to measure (default: the build tree's, beside this program)\n"
	"  --coex PATH    the CLI (default: likewise)\n"
	"  --perf DIR     perf record both nodes during the throughput run into DIR\n"
	"  --only links   run the link-scale part alone\n"
	"  --only latency run the disk baseline and the latency part (2) alone\n"
	"  --only backlog run the disk baseline and the backlog part (5) alone\n"
	"  -v             say what is happening on stderr\n"
	"\n"
	"COEX_BENCH_SCALE=F multiplies every count and duration (e.g. 0.1 for a smoke test);\n"
	"COEX_BENCH_CONNS=N sets the control connections of the throughput run (default 8),\n"
	"COEX_BENCH_DEPTH=N the proposals pipelined on each (default 64);\n"
	"COEX_BENCH_KEEP=1 keeps the temp dir (node logs and stores) for a look afterwards.\n";

/* Finds name beside this program, one or two levels up, or in the configured build dir. */
static void default_path(char *out, size_t len, const char *name)
{
	char exe[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], real[PATH_MAX];
	const char *const rel[] = { "..", ".", "../.." };

	if (realpath("/proc/self/exe", exe)) {
		snprintf(dir, sizeof(dir), "%s", dirname(exe));
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, rel[i], name);
			if (access(path, X_OK) == 0 && realpath(path, real) &&
			    snprintf(out, len, "%s", real) < (int)len)
				return;
		}
	}
	snprintf(out, len, "%s/%s", COEX_BENCH_BINDIR, name);
}

static void parse_args(int argc, char **argv, struct bench_opts *o)
{
	const char *scale = getenv("COEX_BENCH_SCALE");

	memset(o, 0, sizeof(*o));
	o->scale = scale && *scale ? atof(scale) : 1.0;
	if (!(o->scale > 0) || o->scale > 100)
		bench_die("COEX_BENCH_SCALE must be a number in (0, 100], not '%s'", scale);
	default_path(o->coexd, sizeof(o->coexd), "coexd");
	default_path(o->coex, sizeof(o->coex), "coex");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(a, "--quick") == 0) {
			o->quick = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (strcmp(a, "--json") == 0 && has_val) {
			o->json_path = argv[++i];
		} else if (strcmp(a, "--only") == 0 && has_val && strcmp(argv[i + 1], "links") == 0) {
			o->links_only = true;
			i++;
		} else if (strcmp(a, "--only") == 0 && has_val && strcmp(argv[i + 1], "latency") == 0) {
			o->latency_only = true;
			i++;
		} else if (strcmp(a, "--only") == 0 && has_val && strcmp(argv[i + 1], "backlog") == 0) {
			o->backlog_only = true;
			i++;
		} else if (strcmp(a, "--perf") == 0 && has_val) {
			o->perf_dir = argv[++i];
		} else if (strcmp(a, "--coexd") == 0 && has_val) {
			snprintf(o->coexd, sizeof(o->coexd), "%s", argv[++i]);
		} else if (strcmp(a, "--coex") == 0 && has_val) {
			snprintf(o->coex, sizeof(o->coex), "%s", argv[++i]);
		} else {
			fprintf(stderr, "coex-bench: unknown or incomplete argument '%s'\n\n%s", a, usage);
			exit(2);
		}
	}
	if (access(o->coexd, X_OK) != 0 || access(o->coex, X_OK) != 0)
		bench_die("cannot run %s or %s: build them, or give --coexd and --coex", o->coexd, o->coex);
}

static long scaled(long n, double f, long min)
{
	long v = lround((double)n * f);

	return v < min ? min : v;
}

static void sizes_for(const struct bench_opts *o, struct bench_sizes *z)
{
	double f = o->scale;

	z->conns = getenv("COEX_BENCH_CONNS") ? atoi(getenv("COEX_BENCH_CONNS")) : 8;
	if (z->conns < 1 || z->conns > 64)
		bench_die("COEX_BENCH_CONNS must be 1 to 64 (the node's control_clients)");
	z->depth = getenv("COEX_BENCH_DEPTH") ? atoi(getenv("COEX_BENCH_DEPTH")) : 64;
	if (z->depth < 1 || z->depth > 256)
		bench_die("COEX_BENCH_DEPTH must be 1 to 256 (the node's pipeline per connection)");
	z->scale_partners = 4;
	z->throughput_n = scaled(o->quick ? 5000 : 100000, f, 100);
	z->latency_n = scaled(o->quick ? 300 : 5000, f, 20);
	z->backlog_n = scaled(100000, f, 200);
	/* link scale: 1,000 and 10,000 links (a small run in --quick) */
	z->links_n[0] = scaled(o->quick ? 200 : 1000, f, 10);
	z->links_n[1] = o->quick ? 0 : scaled(10000, f, 20);
	z->links_key[0] = o->quick ? "links_200" : "links_1k";
	z->links_key[1] = o->quick ? NULL : "links_10k";
	z->scale_n = scaled(8000, f, 100L * z->scale_partners);
	z->crypto_s = fmax((o->quick ? 0.3 : 1.0) * f, 0.03);
	z->sqlite_batches = scaled(o->quick ? 20 : 100, f, 3);
	z->sqlite_single = scaled(o->quick ? 50 : 300, f, 10);
	z->zmq_n = scaled(o->quick ? 100000 : 500000, f, 2000);
}

static const char *fs_name(const char *path)
{
	struct statfs s;

	if (statfs(path, &s) != 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs (fsync is free: disk figures are not real)";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

static void cpu_model(char *out, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, len, "?");
	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && v) {
			v += strspn(v + 1, " ") + 1;
			v[strcspn(v, "\n")] = 0;
			snprintf(out, len, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Microseconds some task spent waiting for a CPU since boot (PSI), or -1. */
static double cpu_pressure_us(void)
{
	char line[256];
	double total = -1;
	FILE *f = fopen("/proc/pressure/cpu", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *t = strstr(line, "total=");
		if (strncmp(line, "some", 4) == 0 && t)
			total = atof(t + 6);
	}
	if (f)
		fclose(f);
	return total;
}

static void machine_notes(const struct bench_opts *o)
{
	char date[64], model[256], machine[512];
	time_t now = time(NULL);
	struct utsname u;

	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	cpu_model(model, sizeof(model));
	if (uname(&u) != 0)
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(machine, sizeof(machine), "%ld cores (nproc), %s, Linux %s, temp dirs on %s",
		 sysconf(_SC_NPROCESSORS_ONLN), model, u.release, fs_name(bench_root()));
	report_note("date", date);
	report_note("machine", machine);
	report_note("mode", o->quick ? "quick" : "full");
	printf("coex-bench %s run, %s\n%s\n\n", o->quick ? "quick" : "full", date, machine);
	fflush(stdout);
}

/* Prints the table, writes the JSON if asked, and frees the figures; main's exit code. */
static int report_finish(const struct bench_opts *o)
{
	report_print();
	if (o->json_path && report_write_json(o->json_path) != 0)
		bench_die("cannot write %s", o->json_path);
	report_free();
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_sizes z;
	double t0 = bench_now(), psi0 = cpu_pressure_us(), psi1;

	bench_proc_init();
	parse_args(argc, argv, &o);
	bench_set_verbose(o.verbose);
	if (sodium_init() < 0)
		bench_die("sodium_init failed");
	sizes_for(&o, &z);
	machine_notes(&o);

	if (o.links_only) {
		bench_links(&o, &z);
		return report_finish(&o);
	}
	if (o.latency_only || o.backlog_only) {
		bench_sqlite(&z);
		if (o.latency_only)
			bench_exchange(&o, &z);
		else
			bench_backlog(&o, &z);
		return report_finish(&o);
	}
	bench_log("baselines: crypto");
	bench_crypto(&z);
	bench_log("baselines: sqlite");
	bench_sqlite(&z);
	bench_log("baselines: zmq");
	bench_zmq(&z);
	bench_log("throughput and latency");
	bench_exchange(&o, &z);
	bench_log("link scale");
	bench_links(&o, &z);
	if (o.quick) {
		report_note("skipped", "quick run: link scale with 200 links only; fan-out (3b), log "
			    "audit (4) and backlog (5) not run");
	} else {
		bench_log("fan-out");
		bench_link_scale(&o, &z);
		bench_log("backlog");
		bench_backlog(&o, &z);
	}
	report_section("run");
	psi1 = cpu_pressure_us();
	/* How noisy the machine was: a busy one stretches every wall-clock figure. */
	report_add("cpu_pressure_pct", "time some task waited for a CPU (PSI)",
		   psi0 < 0 || psi1 < 0 ? NAN : (psi1 - psi0) / 1e4 / (bench_now() - t0), "%",
		   RATIO_NONE);
	report_add("run_seconds", "whole run", bench_now() - t0, "s", RATIO_NONE);
	report_add("scale", "COEX_BENCH_SCALE", o.scale, "", RATIO_NONE);

	return report_finish(&o);
}
