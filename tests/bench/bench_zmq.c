/* The peer baseline: ZeroMQ CURVE (authenticated, encrypted) PUSH/PULL of 1 KiB messages
 * between two processes over tcp://127.0.0.1: transport and encryption only, no signatures,
 * no disk. Built only when libzmq was found at configure time (COEX_BENCH_ZMQ). */
#include "bench.h"

#include <math.h>
#include <string.h>

#ifndef COEX_BENCH_ZMQ

void bench_zmq(const struct bench_sizes *z)
{
	(void)z;
	report_section("baseline: a peer transport");
	report_add("zmq_curve_per_s", "ZeroMQ CURVE PUSH/PULL, 1 KiB", NAN, "msg/s", RATIO_ZMQ);
	report_note("zmq", "n/a: coex-bench was built without libzmq (install libzmq3-dev)");
}

#else

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

enum {
	ZMQ_MSG = 1024,
	ZMQ_WARMUP = 1000,           /* messages before the clock starts (handshake, buffers) */
	ZMQ_TIMEOUT_MS = 60 * 1000,
	ZMQ_KEY_Z85 = 41,
};

struct zmq_result {
	int ok;
	double first_s, last_s;      /* first and last timed message received (monotonic) */
	double cpu_s;                /* receiver process CPU over the timed part */
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void write_all(int fd, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

/* Reads len bytes within ZMQ_TIMEOUT_MS; 0 or -1. */
static int read_all(int fd, void *p, size_t len)
{
	while (len > 0) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, ZMQ_TIMEOUT_MS) <= 0)
			return -1;
		if ((n = read(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p = (char *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

/* The PULL side, in the child: CURVE server. Writes its endpoint, a ready byte after the
 * warm-up, then a zmq_result. Never returns. */
static void zmq_receiver(int fd, const char *server_secret, long n)
{
	struct zmq_result res = { 0 };
	char endpoint[256] = { 0 }, buf[ZMQ_MSG * 2];
	size_t elen = sizeof(endpoint);
	int one = 1, timeout = ZMQ_TIMEOUT_MS;
	void *ctx = zmq_ctx_new(), *s = ctx ? zmq_socket(ctx, ZMQ_PULL) : NULL;
	double cpu0 = 0;

	if (!s || zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, server_secret, ZMQ_KEY_Z85 - 1) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
	    zmq_bind(s, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &elen) != 0)
		_exit(1);
	write_all(fd, endpoint, sizeof(endpoint));
	for (long i = 0; i < ZMQ_WARMUP; i++)
		if (zmq_recv(s, buf, sizeof(buf), 0) != ZMQ_MSG)
			_exit(1);
	write_all(fd, "R", 1);
	for (long i = 0; i < n; i++) {
		if (zmq_recv(s, buf, sizeof(buf), 0) != ZMQ_MSG)
			_exit(1);
		if (i == 0) {
			res.first_s = bench_now();
			cpu0 = cpu_now();
		}
	}
	res.last_s = bench_now();
	res.cpu_s = cpu_now() - cpu0;
	res.ok = 1;
	write_all(fd, &res, sizeof(res));
	_exit(0); /* no atexit handlers, no zmq teardown: the parent owns the cleanup */
}

static void *zmq_sender(const char *endpoint, const char *server_public, const char *pub,
			const char *sec, void **ctx_out)
{
	void *ctx = zmq_ctx_new(), *s = ctx ? zmq_socket(ctx, ZMQ_PUSH) : NULL;
	int linger = 0;

	if (!s || zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, ZMQ_KEY_Z85 - 1) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, ZMQ_KEY_Z85 - 1) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, ZMQ_KEY_Z85 - 1) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(s, endpoint) != 0)
		bench_die("zmq: %s", zmq_strerror(zmq_errno()));
	*ctx_out = ctx;
	return s;
}

static void zmq_send_n(void *s, long n, const char *msg)
{
	for (long i = 0; i < n; i++)
		if (zmq_send(s, msg, ZMQ_MSG, 0) != ZMQ_MSG)
			bench_die("zmq send: %s", zmq_strerror(zmq_errno()));
}

void bench_zmq(const struct bench_sizes *z)
{
	char spub[ZMQ_KEY_Z85], ssec[ZMQ_KEY_Z85], cpub[ZMQ_KEY_Z85], csec[ZMQ_KEY_Z85];
	char endpoint[256], ready, msg[ZMQ_MSG];
	struct zmq_result res;
	int p[2];
	pid_t pid;
	void *ctx, *s;
	double cpu0, rate;

	report_section("baseline: a peer transport");
	if (!zmq_has("curve") || zmq_curve_keypair(spub, ssec) != 0 || zmq_curve_keypair(cpub, csec) != 0) {
		report_add("zmq_curve_per_s", "ZeroMQ CURVE PUSH/PULL, 1 KiB", NAN, "msg/s", RATIO_ZMQ);
		report_note("zmq", "n/a: this libzmq has no CURVE support");
		return;
	}
	memset(msg, 'z', sizeof(msg));
	if (pipe(p) != 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		zmq_receiver(p[1], ssec, z->zmq_n);
	}
	bench_child_add(pid);
	close(p[1]);
	if (read_all(p[0], endpoint, sizeof(endpoint)) != 0)
		bench_die("zmq: the receiver did not start");
	endpoint[sizeof(endpoint) - 1] = 0;
	s = zmq_sender(endpoint, spub, cpub, csec, &ctx);
	zmq_send_n(s, ZMQ_WARMUP, msg);
	if (read_all(p[0], &ready, 1) != 0)
		bench_die("zmq: the receiver did not get the warm-up");
	cpu0 = (double)clock() / CLOCKS_PER_SEC;
	zmq_send_n(s, z->zmq_n, msg);
	if (read_all(p[0], &res, sizeof(res)) != 0 || !res.ok)
		bench_die("zmq: the receiver did not report");
	cpu0 = (double)clock() / CLOCKS_PER_SEC - cpu0;
	close(p[0]);
	waitpid(pid, NULL, 0);
	bench_child_forget(pid);
	zmq_close(s);
	zmq_ctx_term(ctx);

	rate = (double)(z->zmq_n - 1) / (res.last_s - res.first_s);
	report_add("zmq_curve_per_s", "ZeroMQ CURVE PUSH/PULL, 1 KiB", rate, "msg/s", RATIO_FLOOR | RATIO_ZMQ);
	report_add("zmq_cpu_us_per_msg", "ZeroMQ CPU per message, both processes",
		   (cpu0 + res.cpu_s) / (double)z->zmq_n * 1e6, "us", RATIO_NONE);
}

#endif
