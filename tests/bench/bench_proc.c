#define _GNU_SOURCE /* mkdtemp, prctl */
/* Processes and the temp root: everything the bench starts or makes is removed on every way
 * out (normal exit, bench_die, SIGINT/SIGTERM/SIGHUP), and children also die with the bench
 * itself (PR_SET_PDEATHSIG), so a killed bench leaves no coexd behind. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t children[BENCH_MAX_CHILDREN];
static pid_t owner;
static char root[BENCH_PATH_MAX];
static bool verbose;

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_sleep_ms(double ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = 0 };

	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void bench_set_verbose(bool on)
{
	verbose = on;
}

void bench_log(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("coex-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("coex-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Async-signal-safe: kill(2), fork(2), execve(2), waitpid(2) only. */
static void kill_children(void)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	}
}

static void remove_root_safe(void)
{
	static char *const envp[] = { NULL };
	char *argv[] = { "/bin/rm", "-rf", root, NULL };
	pid_t p;

	if (!root[0] || (p = fork()) < 0)
		return;
	if (p == 0) {
		execve(argv[0], argv, envp);
		_exit(127);
	}
	waitpid(p, NULL, 0);
}

static int unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup_at_exit(void)
{
	if (getpid() != owner)
		return;
	kill_children();
	if (root[0] && getenv("COEX_BENCH_KEEP")) {
		fprintf(stderr, "coex-bench: kept %s (COEX_BENCH_KEEP)\n", root);
		return;
	}
	if (root[0])
		nftw(root, unlink_one, 16, FTW_DEPTH | FTW_PHYS);
	root[0] = 0;
}

static void cleanup_on_signal(int sig)
{
	if (getpid() == owner) {
		kill_children();
		remove_root_safe();
	}
	_exit(128 + sig);
}

void bench_proc_init(void)
{
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = cleanup_on_signal };

	owner = getpid();
	/* A Unix socket path is at most 107 bytes: keep the root short. */
	if (!tmp || !*tmp || strlen(tmp) > 48)
		tmp = "/tmp";
	snprintf(root, sizeof(root), "%s/coex-bench-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		root[0] = 0;
		bench_die("mkdtemp in %s: %s", tmp, strerror(errno));
	}
	atexit(cleanup_at_exit);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

const char *bench_root(void)
{
	return root;
}

void bench_child_add(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	bench_die("more than %d child processes", BENCH_MAX_CHILDREN);
}

void bench_child_forget(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* In a new child: die with the bench, default signals, the given stdout/stderr. */
static void child_setup(int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDONLY);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != owner) /* the bench died between fork and prctl */
		_exit(127);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0)
		dup2(null, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
}

pid_t bench_spawn(char *const argv[], const char *log_path)
{
	int fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid_t pid;

	if (fd < 0)
		bench_die("open %s: %s", log_path, strerror(errno));
	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		child_setup(fd, fd);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	bench_child_add(pid);
	return pid;
}

pid_t bench_spawn_pipes(char *const argv[], int *to_child, int *from_child)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		child_setup(out[1], 2);
		dup2(in[0], 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	bench_child_add(pid);
	*to_child = in[1];
	*from_child = out[0];
	return pid;
}

int bench_run(char *const argv[], char *out, size_t outlen)
{
	int p[2], status;
	size_t have = 0;
	char sink[4096];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		child_setup(p[1], p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	bench_child_add(pid);
	close(p[1]);
	for (;;) {
		char *dst = out && have + 1 < outlen ? out + have : sink;
		size_t room = out && have + 1 < outlen ? outlen - 1 - have : sizeof(sink);
		ssize_t n = read(p[0], dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			have += (size_t)n;
	}
	close(p[0]);
	if (out && outlen)
		out[have] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bench_child_forget(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool bench_alive(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

int bench_stop(pid_t pid, int grace_ms)
{
	double deadline = bench_now() + grace_ms / 1000.0;
	int status;
	pid_t r;

	kill(pid, SIGTERM);
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && bench_now() < deadline)
		bench_sleep_ms(5);
	if (r == 0) {
		kill(pid, SIGKILL);
		r = waitpid(pid, &status, 0);
	}
	bench_child_forget(pid);
	if (r != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The fields of /proc/PID/stat after the command name, which may hold spaces. */
static int proc_stat_fields(const char *path, char *buf, size_t len, char **after)
{
	FILE *f = fopen(path, "r");
	size_t n;
	char *p;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	if (!(p = strrchr(buf, ')')))
		return -1;
	*after = p + 2; /* field 3, the state */
	return 0;
}

double bench_proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_stat_fields(path, buf, sizeof(buf), &p) != 0)
		return -1;
	/* fields 3..13 skipped, then 14 utime and 15 stime */
	if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Key:   N kB" line of /proc/PID/status, in KiB, or -1. */
static long proc_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

long bench_proc_hwm_kib(pid_t pid)
{
	return proc_status_kib(pid, "VmHWM");
}

long bench_proc_rss_kib(pid_t pid)
{
	return proc_status_kib(pid, "VmRSS");
}

/* Nanoseconds on CPU of one thread (schedstat's first field). */
static double thread_cpu(pid_t pid, const char *tid)
{
	char path[320];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, tid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns * 1e-9;
}

int bench_proc_threads(pid_t pid, struct bench_threads *out)
{
	struct bench_threads t = { 0 };
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (atoi(e->d_name) == pid) {
			t.loop_s = thread_cpu(pid, e->d_name);
		} else {
			t.others_s += thread_cpu(pid, e->d_name);
			t.n_others++;
		}
	}
	closedir(d);
	*out = t;
	return 0;
}
