/* coex-bench-links: one load-generating process holding N partner links to a hub coexd.
 *
 *     coex-bench-links HUB_ID IP:PORT N [SOURCES [PER_SOURCE [WINDOW]]]
 *
 * Holds N Ed25519 identities (linkgen_seed.h; the hub lists them as partners) and opens one
 * Noise IK link per identity as the initiator, with the project's own code: the initiation
 * (wire/handshake), the response and the key confirmation (the first transport message, a
 * Ping), then it answers the hub's Pings so the links stay up. Connections come from
 * 127.0.0.2 .. 127.0.0.(1 + SOURCES) (default 16), at most PER_SOURCE handshakes at once from
 * each (default 16, the hub's handshakes_per_address) and WINDOW in all (default 256, its
 * handshakes_total), so the hub's half-open caps hold with their defaults. A handshake counts
 * as in progress until the hub's first transport message arrives: the hub sends it only once
 * it has confirmed the link and stopped counting it.
 *
 * Talks to coex-bench over stdin and stdout, one line each:
 *     -> ready PREP_S               identities made, initiations prepared (before the clock)
 *     <- go
 *     -> up N SECONDS RETRIES P50_MS P99_MS    all N links up, SECONDS after go
 *     <- stop (or end of input)
 *     -> held UP DROPPED PINGS      links still up, links the hub closed, Pings answered
 * or, on failure, "error TEXT" and exit status 1. Not a test; a tool for coex-bench. */
#define _GNU_SOURCE
#include "crypto/identity.h"
#include "crypto/noise.h"
#include "lib/err.h"
#include "linkgen_seed.h"
#include "wire/frame.h"
#include "wire/handshake.h"
#include "wire/hello.h"
#include "wire/limits.h"
#include "wire/link_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum gstate { G_IDLE, G_CONNECTING, G_AWAIT_RESPONSE, G_AWAIT_HUB, G_UP, G_DEAD };

enum { INIT_MAX = 512, SOURCES_MAX = 250, STDIN_TAG = UINT32_MAX };

struct glink {
	int fd;
	enum gstate state;
	uint16_t src;
	uint16_t init_len;
	uint8_t *init;                  /* the prepared initiation, with its 2-byte header */
	struct noise_handshake hs;
	struct noise_session sess;
	struct frame_reader fr;
	double t_start;
};

static struct identity *ids;
static struct glink *links;
static uint32_t n_links;
static uint8_t hub_pk[32];
static struct sockaddr_in hub_addr;
static int ep;
static uint32_t *inflight;              /* per source */
static uint32_t inflight_total, n_sources, per_source, window;
static uint32_t next_new, n_up, n_retries, n_dropped;
static uint32_t *retry, n_retry;        /* links to dial again (their handshake was refused) */
static uint64_t n_pings;
static double *hs_ms;                   /* connect -> hub's first transport message */
static uint32_t n_hs_ms;
static uint8_t rbuf[LIMIT_FRAME_MAX + 2];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("error ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* A fresh initiation for link i (a new ephemeral key: the hub's replay cache refuses an
 * old one). */
static void prepare(uint32_t i)
{
	struct glink *g = &links[i];
	struct handshake_partner hub;
	struct hello h;
	uint8_t out[INIT_MAX];
	size_t len;
	int r;

	memset(&h, 0, sizeof(h));
	h.version_min = h.version_max = COEX_PROTOCOL_VERSION;
	memcpy(h.identity, ids[i].pk, 32);
	snprintf(h.name, sizeof(h.name), "linkgen-%u", (unsigned)i);
	h.timestamp_ms = wall_ms();
	/* each partner's keys with the hub, made here as a node makes them once per partner */
	if ((r = handshake_partner_init(&hub, &ids[i], hub_pk)) != 0)
		die("handshake_partner_init: %s", err_str(r));
	r = handshake_initiate(&g->hs, &ids[i], &hub, &h, out + 2, sizeof(out) - 2, &len);
	handshake_partner_wipe(&hub);
	if (r != 0)
		die("handshake_initiate: %s", err_str(r));
	frame_header_write(out, len);
	if (!g->init && !(g->init = malloc(INIT_MAX)))
		die("out of memory");
	memcpy(g->init, out, len + 2);
	g->init_len = (uint16_t)(len + 2);
}

static void ep_set(int fd, uint32_t events, uint32_t tag, int op)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};

	if (epoll_ctl(ep, op, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void dial(uint32_t i)
{
	struct glink *g = &links[i];
	struct sockaddr_in src = {.sin_family = AF_INET};
	int one = 1;

	g->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0)
		die("socket: %s (ulimit -n?)", strerror(errno));
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + g->src);
	setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(g->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		die("bind 127.0.0.%u: %s", 2u + g->src, strerror(errno));
	if (connect(g->fd, (struct sockaddr *)&hub_addr, sizeof(hub_addr)) != 0 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	frame_reader_init(&g->fr, LIMIT_FRAME_MAX);
	g->state = G_CONNECTING;
	g->t_start = now_s();
	inflight[g->src]++;
	inflight_total++;
	ep_set(g->fd, EPOLLOUT, i, EPOLL_CTL_ADD);
}

/* Starts handshakes while the windows allow. */
static void fill_window(void)
{
	while (inflight_total < window && (n_retry > 0 || next_new < n_links)) {
		uint32_t i = n_retry > 0 ? retry[n_retry - 1] : next_new;

		if (inflight[links[i].src] >= per_source) {
			/* this link's source is full: is any other source free? */
			bool any = false;
			for (uint32_t s = 0; s < n_sources && !any; s++)
				any = inflight[s] < per_source;
			if (!any || n_retry > 0)
				return;
			/* new links take the next free source */
			for (uint32_t s = 0; s < n_sources; s++)
				if (inflight[s] < per_source) {
					links[i].src = (uint16_t)s;
					break;
				}
		}
		if (n_retry > 0)
			n_retry--;
		else
			next_new++;
		dial(i);
	}
}

static void hs_done(struct glink *g)
{
	inflight[g->src]--;
	inflight_total--;
}

static void close_link(uint32_t i, bool refused)
{
	struct glink *g = &links[i];

	if (g->state == G_DEAD || g->state == G_IDLE)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, g->fd, NULL);
	close(g->fd);
	g->fd = -1;
	frame_reader_free(&g->fr);
	if (g->state == G_UP) {
		n_up--;
		n_dropped++;
		g->state = G_DEAD;
		return;
	}
	hs_done(g);
	noise_handshake_wipe(&g->hs);
	noise_session_wipe(&g->sess);
	if (!refused) {
		g->state = G_DEAD;
		return;
	}
	/* The hub closed a handshake (a cap, a timeout): dial again with a new initiation. */
	n_retries++;
	if (n_retries > n_links * 4 + 1000)
		die("the hub refused %u handshakes: giving up", n_retries);
	g->state = G_IDLE;
	prepare(i);
	retry[n_retry++] = i;
}

static bool send_all(struct glink *g, const uint8_t *b, size_t len)
{
	ssize_t w = send(g->fd, b, len, MSG_NOSIGNAL);

	/* Every message here is a few hundred bytes on a socket with nothing queued. */
	return w == (ssize_t)len;
}

static bool send_frame(struct glink *g, const struct link_frame *f)
{
	uint8_t pt[256], ct[2 + 256 + NOISE_TAG_LEN];
	size_t plen, clen;

	if (link_frame_encode(f, pt, sizeof(pt), &plen) != 0 ||
	    noise_session_encrypt(&g->sess.send, pt, plen, ct + 2, sizeof(ct) - 2, &clen) != 0)
		return false;
	frame_header_write(ct, clen);
	return send_all(g, ct, clen + 2);
}

static void on_message(uint32_t i, const uint8_t *msg, size_t len)
{
	struct glink *g = &links[i];
	struct link_frame f;
	uint8_t pt[LIMIT_FRAME_MAX];
	struct hello peer;
	size_t plen;

	if (g->state == G_AWAIT_RESPONSE) {
		struct link_frame confirm = {.kind = LINK_FRAME_PING, .nonce = i};
		if (handshake_complete(&g->hs, hub_pk, msg, len, &peer, &g->sess) != 0)
			die("link %u: the hub's response did not verify", i);
		if (!send_frame(g, &confirm))
			die("link %u: cannot send the key confirmation", i);
		g->state = G_AWAIT_HUB;
		return;
	}
	if (noise_session_decrypt(&g->sess.recv, msg, len, pt, sizeof(pt), &plen) != 0)
		die("link %u: a transport message did not decrypt", i);
	if (link_frame_decode(pt, plen, &f) != 0)
		die("link %u: an undecodable frame", i);
	if (g->state == G_AWAIT_HUB) {
		/* The hub confirmed the link: it no longer counts against its caps. */
		hs_done(g);
		g->state = G_UP;
		n_up++;
		hs_ms[n_hs_ms++] = (now_s() - g->t_start) * 1e3;
	}
	if (f.kind == LINK_FRAME_PING) {
		struct link_frame pong = {.kind = LINK_FRAME_PONG, .nonce = f.nonce};
		n_pings++;
		if (!send_frame(g, &pong)) {
			link_frame_release(&f);
			close_link(i, false);
			return;
		}
	} else if (f.kind == LINK_FRAME_CLOSE) {
		link_frame_release(&f);
		close_link(i, false);
		return;
	}
	link_frame_release(&f);
}

static void on_event(uint32_t i, uint32_t events)
{
	struct glink *g = &links[i];
	const uint8_t *in, *msg;
	size_t in_len, mlen;
	ssize_t n;
	int r;

	if (g->state == G_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			close_link(i, true);
			return;
		}
		if (!send_all(g, g->init, g->init_len)) {
			close_link(i, true);
			return;
		}
		g->state = G_AWAIT_RESPONSE;
		ep_set(g->fd, EPOLLIN, i, EPOLL_CTL_MOD);
		return;
	}
	for (;;) {
		n = recv(g->fd, rbuf, sizeof(rbuf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* A handshake the hub dropped is dialled again; an up link is counted. */
			close_link(i, g->state != G_UP);
			return;
		}
		in = rbuf;
		in_len = (size_t)n;
		while (g->state != G_DEAD && g->state != G_IDLE &&
		       (r = frame_reader_next(&g->fr, &in, &in_len, &msg, &mlen)) != 0) {
			if (r < 0)
				die("link %u: bad frame from the hub", i);
			on_message(i, msg, mlen);
		}
		if (g->state == G_DEAD || g->state == G_IDLE)
			return;
	}
}

/* A line from coex-bench; returns false at end of input or "stop". */
static bool read_command(char *line, size_t cap)
{
	if (!fgets(line, (int)cap, stdin))
		return false;
	line[strcspn(line, "\n")] = 0;
	return strcmp(line, "stop") != 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void raise_fd_limit(uint32_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		die("%u links need %u file descriptors; the hard limit (ulimit -Hn) is %lu", n_links,
		    need, (unsigned long)rl.rlim_max);
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));
}

static void parse(int argc, char **argv)
{
	char host[64], *colon;
	long n;

	if (argc < 4) {
		fprintf(stderr, "usage: coex-bench-links HUB_ID IP:PORT N [SOURCES [PER_SOURCE [WINDOW]]]\n");
		exit(2);
	}
	if (identity_id_parse(argv[1], hub_pk) != 0)
		die("not a node id: %s", argv[1]);
	snprintf(host, sizeof(host), "%s", argv[2]);
	if (!(colon = strrchr(host, ':')))
		die("not IP:PORT: %s", argv[2]);
	*colon = 0;
	hub_addr.sin_family = AF_INET;
	hub_addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &hub_addr.sin_addr) != 1)
		die("not an IPv4 address: %s", host);
	n = atol(argv[3]);
	if (n < 1 || n > 1000000)
		die("N must be 1 to 1000000");
	n_links = (uint32_t)n;
	n_sources = argc > 4 ? (uint32_t)atoi(argv[4]) : 16;
	per_source = argc > 5 ? (uint32_t)atoi(argv[5]) : 16;
	window = argc > 6 ? (uint32_t)atoi(argv[6]) : 256;
	if (n_sources < 1 || n_sources > SOURCES_MAX || per_source < 1 || window < 1)
		die("SOURCES must be 1 to %d, PER_SOURCE and WINDOW at least 1", SOURCES_MAX);
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	char line[64];
	double t_prep, t_go, t_up;
	uint32_t held;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv);
	if (sodium_init() < 0)
		die("sodium_init failed");
	raise_fd_limit(n_links + 64);
	t_prep = now_s();
	if (!(ids = calloc(n_links, sizeof(*ids))) || !(links = calloc(n_links, sizeof(*links))) ||
	    !(inflight = calloc(n_sources, sizeof(*inflight))) ||
	    !(retry = calloc(n_links, sizeof(*retry))) || !(hs_ms = calloc(n_links, sizeof(*hs_ms))))
		die("out of memory");
	for (uint32_t i = 0; i < n_links; i++) {
		if (linkgen_identity(i, &ids[i]) != 0)
			die("identity %u", i);
		links[i].fd = -1;
		links[i].src = (uint16_t)(i % n_sources);
		prepare(i);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	printf("ready %.3f\n", now_s() - t_prep);
	if (!read_command(line, sizeof(line)) || strcmp(line, "go") != 0)
		die("expected go");

	t_go = now_s();
	fill_window();
	while (n_up < n_links) {
		int k = epoll_wait(ep, evs, 256, 1000);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int e = 0; e < k; e++)
			on_event(evs[e].data.u32, evs[e].events);
		if (n_dropped > 0)
			die("the hub closed %u links while the others came up", n_dropped);
		fill_window();
		if (now_s() - t_go > 600)
			die("only %u of %u links up after 600 s", n_up, n_links);
	}
	t_up = now_s() - t_go;
	qsort(hs_ms, n_hs_ms, sizeof(*hs_ms), cmp_double);
	printf("up %u %.6f %u %.3f %.3f\n", n_up, t_up, n_retries, hs_ms[n_hs_ms / 2],
	       hs_ms[(size_t)((double)n_hs_ms * 0.99)]);

	/* Hold the links: answer the hub's keepalives until coex-bench says stop. */
	ep_set(0, EPOLLIN, STDIN_TAG, EPOLL_CTL_ADD);
	for (bool go_on = true; go_on;) {
		int k = epoll_wait(ep, evs, 256, -1);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int e = 0; e < k; e++) {
			if (evs[e].data.u32 == STDIN_TAG)
				go_on = false;
			else
				on_event(evs[e].data.u32, evs[e].events);
		}
	}
	(void)read_command(line, sizeof(line));
	held = n_up;
	for (uint32_t i = 0; i < n_links; i++) {
		if (links[i].fd >= 0)
			close(links[i].fd);
		frame_reader_free(&links[i].fr);
		noise_handshake_wipe(&links[i].hs);
		noise_session_wipe(&links[i].sess);
		free(links[i].init);
		identity_wipe(&ids[i]);
	}
	printf("held %u %u %llu\n", held, n_dropped, (unsigned long long)n_pings);
	free(ids);
	free(links);
	free(inflight);
	free(retry);
	free(hs_ms);
	close(ep);
	return 0;
}
