/* The net layer's owner: partner table, link bookkeeping, admission, the one-link-per-pair
 * rule, the tick that drives timeouts, keepalive and redialling. */
#include "lib/err.h"
#include "net/commit.h"
#include "net/net_internal.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/invite.h"
#include "wire/replay.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NET_TICK_MS = 100 };

uint64_t net_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void net_partner_name_from(const char *display, char *out, size_t cap)
{
	size_t o = 0;
	int dash = 0;

	for (const char *p = display; *p && o + 1 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c) && c < 0x80) {
			if (dash && o > 0 && o + 2 < cap)
				out[o++] = '-';
			out[o++] = (char)tolower(c);
			dash = 0;
		} else {
			dash = 1;
		}
	}
	if (o == 0)
		o = (size_t)snprintf(out, cap, "partner");
	out[o < cap ? o : cap - 1] = '\0';
}

/* Keys are public and chosen by whoever holds them, but only partners are in the tables (an
 * operator's choice), so a plain bucket from the key's bytes is enough. */
static size_t net_peer_slot(const struct net *n, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h % n->peer_tab_cap);
}

struct peer *net_peer_by_pk(struct net *n, const uint8_t pk[32])
{
	if (!n->peer_tab)
		return NULL;
	for (struct peer *p = n->peer_tab[net_peer_slot(n, pk)]; p; p = p->hnext)
		if (memcmp(p->pk, pk, 32) == 0)
			return p;
	return NULL;
}

/* Every partner initiation: its Noise static key is all the responder knows at the ss token. */
static struct peer *net_peer_by_x_pk(struct net *n, const uint8_t x_pk[32])
{
	if (!n->peer_xtab)
		return NULL;
	for (struct peer *p = n->peer_xtab[net_peer_slot(n, x_pk)]; p; p = p->xnext)
		if (memcmp(p->keys.x_pk, x_pk, 32) == 0)
			return p;
	return NULL;
}

const struct handshake_partner *net_handshake_partner(void *arg, const uint8_t x_pk[32])
{
	struct peer *p = net_peer_by_x_pk(arg, x_pk);

	return p ? &p->keys : NULL;
}

static void net_peer_link_slots(struct net *n, struct peer *p)
{
	size_t i = net_peer_slot(n, p->pk), x = net_peer_slot(n, p->keys.x_pk);

	p->hnext = n->peer_tab[i];
	n->peer_tab[i] = p;
	p->xnext = n->peer_xtab[x];
	n->peer_xtab[x] = p;
}

/* Keeps the tables at most one peer per bucket on average. */
static int net_peer_index(struct net *n, struct peer *p)
{
	if (n->n_peers + 1 > n->peer_tab_cap) {
		size_t cap = n->peer_tab_cap ? n->peer_tab_cap * 2 : 64;
		struct peer **tab = calloc(cap, sizeof(*tab)), **xtab = calloc(cap, sizeof(*xtab));

		if (!tab || !xtab) {
			free(tab);
			free(xtab);
			return ERR_NOMEM;
		}
		free(n->peer_tab);
		free(n->peer_xtab);
		n->peer_tab = tab;
		n->peer_xtab = xtab;
		n->peer_tab_cap = cap;
		for (struct peer *q = n->peers; q; q = q->next)
			net_peer_link_slots(n, q);
	}
	net_peer_link_slots(n, p);
	n->n_peers++;
	return 0;
}

static void net_peer_unindex(struct net *n, struct peer *p)
{
	struct peer **pp = &n->peer_tab[net_peer_slot(n, p->pk)];
	struct peer **xp = &n->peer_xtab[net_peer_slot(n, p->keys.x_pk)];

	while (*xp && *xp != p)
		xp = &(*xp)->xnext;
	if (*xp)
		*xp = p->xnext;
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = p->hnext;
		n->n_peers--;
	}
}

/* A peer's memory holds secrets (its ss and box key with us): wiped before it is freed. */
static void net_peer_free(struct net *n, struct peer *p)
{
	exchange_peer_free(n, p);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

struct peer *net_peer_add(struct net *n, const struct store_partner *sp)
{
	struct peer *p = net_peer_by_pk(n, sp->id);

	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return NULL;
		/* two X25519-sized operations, once per partner rather than per handshake */
		if (handshake_partner_init(&p->keys, n->self, sp->id) != 0) {
			free(p);
			return NULL;
		}
		memcpy(p->pk, sp->id, 32);
		p->since_wall_ms = net_wall_ms();
		if (net_peer_index(n, p) != 0) {
			net_peer_free(n, p);
			return NULL;
		}
		p->next = n->peers;
		n->peers = p;
	}
	snprintf(p->name, sizeof(p->name), "%s", sp->name);
	snprintf(p->address, sizeof(p->address), "%s", sp->address);
	n->partners_version++;
	if (!p->link && !p->dial && p->address[0])
		p->next_dial_ms = uv_now(n->loop);
	return p;
}

void net_hello_fill(struct net *n, struct hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version_min = h->version_max = COEX_PROTOCOL_VERSION;
	memcpy(h->identity, n->self->pk, 32);
	snprintf(h->name, sizeof(h->name), "%s", n->name);
	if (n->listen_addr[0]) {
		snprintf(h->listen[0], sizeof(h->listen[0]), "%s", n->listen_addr);
		h->n_listen = 1;
	}
	h->timestamp_ms = net_wall_ms();
	if (n->commit && commit_head(n->commit)->size > 0) {
		h->has_head = true;
		h->head = *commit_head(n->commit);
	}
}

void net_reason_count(struct net_reason_count *t, const char *reason)
{
	for (size_t i = 0; i < NET_REASONS_MAX; i++) {
		if (!t[i].reason)
			t[i].reason = reason;
		if (strcmp(t[i].reason, reason) == 0) {
			t[i].count++;
			return;
		}
	}
}

const struct net_metrics *net_metrics(const struct net *n)
{
	return &n->metrics;
}

void net_log_drop(struct net *n, const struct link *l, const char *reason)
{
	uint32_t suppressed = 0;

	net_reason_count(n->metrics.handshake_drops, reason);
	if (log_ratelimit_allow(&n->drop_rl, uv_now(n->loop), &suppressed))
		log_info("handshake_dropped", "addr=%s reason=%s suppressed=%u", l->addr, reason,
			 suppressed);
}

int net_admit_hello(void *arg, const struct hello *h)
{
	struct net *n = arg;
	struct store_invite inv;
	int r;

	if (net_peer_by_pk(n, h->identity))
		return 0;
	if (!h->has_invite)
		return ERR_DENIED;
	if ((r = store_invite_get(n->store, h->invite_id, &inv)) != 0)
		return ERR_NOTFOUND;
	if (inv.used_ms != 0)
		r = ERR_USED;
	else if ((uint64_t)inv.expires_ms <= net_wall_ms())
		r = ERR_STATE; /* expired invite: distinct from a skewed clock (ERR_EXPIRED) */
	else if (invite_proof_verify(inv.secret, h->invite_id, h->identity, n->self->pk,
				     h->invite_mac) != 0)
		r = ERR_DENIED;
	sodium_memzero(&inv, sizeof(inv));
	return r;
}

/* Simultaneous dials: both links confirmed within one handshake timeout of each other.
 * Keep the one dialled by the node with the smaller id; otherwise the newer link wins
 * (the peer evidently started over, e.g. after a restart). */
static bool net_keep_new_link(struct net *n, const struct link *old, const struct link *l)
{
	const uint8_t *old_init, *new_init;

	if (uv_now(n->loop) - old->up_ms >= n->cfg.handshake_timeout_ms)
		return true;
	old_init = old->initiator ? n->self->pk : old->peer_pk;
	new_init = l->initiator ? n->self->pk : l->peer_pk;
	if (memcmp(old_init, new_init, 32) == 0)
		return true;
	return memcmp(new_init, old_init, 32) < 0;
}

/* A partner that moved (or listens on an OS-chosen port) is found again at the address its
 * authenticated Hello announces. */
static void net_peer_learn_address(struct net *n, struct peer *p, const struct link *l)
{
	char addr[256];

	link_peer_address(l, addr, sizeof(addr));
	if (!addr[0] || strcmp(addr, p->address) == 0)
		return;
	if (store_partner_set_address(n->store, p->pk, addr) == 0)
		snprintf(p->address, sizeof(p->address), "%s", addr);
}

void net_link_established(struct net *n, struct link *l)
{
	struct peer *p = l->peer;
	struct link *old = p->link;
	char sid[IDENTITY_FPR_LEN + 1];

	l->up_ms = uv_now(n->loop);
	l->last_rx_ms = l->up_ms;
	l->tokens = n->cfg.inbound_per_s; /* a second's worth to start with */
	l->tokens_ms = l->up_ms;
	if (p->dial == l)
		p->dial = NULL;
	if (old && old != l) {
		if (!net_keep_new_link(n, old, l)) {
			link_close(l, LINK_CLOSE_DUPLICATE, "another link to this partner is kept");
			return;
		}
		p->link = NULL; /* so closing old does not count as the partner going down */
		link_close(old, LINK_CLOSE_DUPLICATE, "another link to this partner is kept");
	}
	p->link = l;
	net_peer_learn_address(n, p, l);
	p->attempts = 0;
	p->next_dial_ms = 0;
	p->since_wall_ms = net_wall_ms();
	exchange_peer_up(n, p);
	n->metrics.handshakes_completed++;
	if (l->peer_hello.has_head)
		witness_on_head(n, p, &l->peer_hello.head, false);
	link_short_id(p->pk, sid);
	log_info("link_up", "peer=%s name=%s addr=%s role=%s", sid, p->name, l->addr,
		 l->initiator ? "initiator" : "responder");
}

void net_link_closed(struct net *n, struct link *l)
{
	struct peer *p = l->peer;
	char sid[IDENTITY_FPR_LEN + 1];

	if (!p)
		return;
	if (p->dial == l)
		p->dial = NULL;
	if (p->link == l) {
		p->link = NULL;
		p->since_wall_ms = net_wall_ms();
		p->rtt_us = 0;
		exchange_peer_down(n, p);
		link_short_id(p->pk, sid);
		log_info("link_down", "peer=%s name=%s", sid, p->name);
	}
	if (!p->link && !p->dial && !n->stopping)
		dial_schedule_retry(n, p);
	l->peer = NULL;
}

/* An idle handle runs before the loop next waits for I/O, so everything the turn's
 * callbacks asked for is done together and nothing waits on a poll. */
static void net_on_turn_end(uv_idle_t *h)
{
	struct net *n = h->data;
	struct link *l;

	uv_idle_stop(h);
	exchange_run_pumps(n);
	while ((l = n->flush_list)) {
		n->flush_list = l->flush_next;
		l->flush_next = NULL;
		l->out_listed = false;
		if (link_flush(l) != 0)
			link_close(l, LINK_CLOSE_UNSPECIFIED, "send failed");
	}
}

void net_read_snapshot(struct net *n)
{
	if (!n->read_snapshot)
		n->read_snapshot = store_read_begin(n->store) == 0;
}

void net_read_snapshot_end(struct net *n)
{
	if (!n->read_snapshot)
		return;
	n->read_snapshot = false;
	store_read_end(n->store);
}

void net_turn_end_soon(struct net *n)
{
	if (n->stopping || uv_is_closing((uv_handle_t *)&n->turn_end))
		return; /* a handle started while closing would keep the loop alive */
	if (n->turn_end.data == n && !uv_is_active((uv_handle_t *)&n->turn_end))
		uv_idle_start(&n->turn_end, net_on_turn_end);
}

void net_handle_closed(struct net *n)
{
	if (--n->open_handles == 0 && n->stopping && n->stopped)
		n->stopped(n->stopped_arg);
}

static void net_on_tick(uv_timer_t *t)
{
	struct net *n = t->data;
	uint64_t now = uv_now(n->loop), lag;
	struct link *next;

	if (n->last_tick_ms) {
		lag = now - n->last_tick_ms > NET_TICK_MS ? now - n->last_tick_ms - NET_TICK_MS : 0;
		n->metrics.ticks++;
		n->metrics.ticks_late += lag > NET_LAG_LATE_MS;
		if (lag > n->metrics.lag_max_ms)
			n->metrics.lag_max_ms = lag;
	}
	n->last_tick_ms = now;
	for (struct link *l = n->links; l; l = next) {
		next = l->next;
		link_tick(l, now);
	}
	for (struct peer *p = n->peers; p; p = p->next)
		if (!p->link && !p->dial && p->next_dial_ms && now >= p->next_dial_ms)
			dial_peer(n, p);
	if (n->commit)
		exchange_tick(n, now);
	listener_resume(n);
}

int net_new(uv_loop_t *loop, const struct identity *self, struct store *store,
	    const struct net_config *cfg, struct net **out)
{
	struct net *n = calloc(1, sizeof(*n));

	if (!n)
		return ERR_NOMEM;
	n->loop = loop;
	n->self = self;
	n->store = store;
	n->cfg = *cfg;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name ? cfg->name : "");
	snprintf(n->listen_cfg, sizeof(n->listen_cfg), "%s", cfg->listen ? cfg->listen : "");
	n->cfg.name = n->name;
	n->cfg.listen = n->listen_cfg;
	if (replay_cache_new(LIMIT_REPLAY_CACHE, &n->replay) != 0 || exchange_new(n, &n->ex) != 0) {
		replay_cache_free(n->replay);
		free(n);
		return ERR_NOMEM;
	}
	*out = n;
	return 0;
}

static int net_load_partners(struct net *n)
{
	struct store_partner *ps = NULL;
	size_t count = 0;
	int r;

	if ((r = store_partner_list(n->store, &ps, &count)) != 0)
		return r;
	for (size_t i = 0; i < count && r == 0; i++)
		if (!net_peer_add(n, &ps[i]))
			r = ERR_NOMEM;
	free(ps);
	return r;
}

int net_start(struct net *n)
{
	int r;

	if ((r = uv_timer_init(n->loop, &n->tick)) != 0)
		return r;
	n->open_handles++;
	n->tick.data = n;
	if ((r = uv_idle_init(n->loop, &n->turn_end)) != 0)
		return r;
	n->open_handles++;
	n->turn_end.data = n;
	if (n->listen_cfg[0] && (r = listener_start(n)) != 0)
		return r;
	if ((r = net_load_partners(n)) != 0 || (r = exchange_relays_load(n)) != 0)
		return r;
	return uv_timer_start(&n->tick, net_on_tick, NET_TICK_MS, NET_TICK_MS);
}

static void net_on_handle_close(uv_handle_t *h)
{
	net_handle_closed(h->data);
}

void net_stop(struct net *n, void (*done)(void *arg), void *arg)
{
	struct link *next;

	n->stopping = true;
	n->stopped = done;
	n->stopped_arg = arg;
	n->open_handles++; /* held while closing, so done() runs once, after all of them */
	for (struct link *l = n->links; l; l = next) {
		next = l->next;
		link_close(l, LINK_CLOSE_SHUTDOWN, "node stopping");
	}
	if (n->listening)
		uv_close((uv_handle_t *)&n->listener, net_on_handle_close);
	if (uv_is_active((uv_handle_t *)&n->tick) || n->tick.data == n)
		uv_close((uv_handle_t *)&n->tick, net_on_handle_close);
	if (n->turn_end.data == n)
		uv_close((uv_handle_t *)&n->turn_end, net_on_handle_close);
	net_handle_closed(n);
}

void net_free(struct net *n)
{
	struct peer *next;

	if (!n)
		return;
	for (struct peer *p = n->peers; p; p = next) {
		next = p->next;
		net_peer_free(n, p);
	}
	free(n->peer_tab);
	free(n->peer_xtab);
	exchange_free(n->ex);
	replay_cache_free(n->replay);
	free(n);
}

const char *net_listen_address(const struct net *n)
{
	return n->listen_addr;
}

int net_partner_name(struct net *n, const uint8_t id[32], char *out, size_t cap)
{
	const struct peer *p = net_peer_by_pk(n, id);

	if (!p)
		return ERR_NOTFOUND;
	snprintf(out, cap, "%s", p->name);
	return 0;
}

uint64_t net_partners_version(const struct net *n)
{
	return n->partners_version;
}

int net_partner_added(struct net *n, const struct store_partner *p)
{
	return net_peer_add(n, p) ? 0 : ERR_NOMEM;
}

void net_partner_removed(struct net *n, const uint8_t id[32])
{
	struct peer **pp = &n->peers, *p;
	struct link *next;

	while (*pp && memcmp((*pp)->pk, id, 32) != 0)
		pp = &(*pp)->next;
	if (!(p = *pp))
		return;
	*pp = p->next;
	net_peer_unindex(n, p);
	n->partners_version++;
	p->link = p->dial = NULL;
	for (struct link *l = n->links; l; l = next) {
		next = l->next;
		if (l->peer == p) {
			l->peer = NULL;
			link_close(l, LINK_CLOSE_REMOVED, "partner removed");
		}
	}
	net_peer_free(n, p);
}

int net_links(struct net *n, struct net_link_info **out, size_t *count)
{
	struct net_link_info *v;
	size_t k = 0, total = 0;

	for (struct peer *p = n->peers; p; p = p->next)
		total++;
	if (!(v = calloc(total ? total : 1, sizeof(*v))))
		return ERR_NOMEM;
	for (struct peer *p = n->peers; p; p = p->next, k++) {
		snprintf(v[k].partner, sizeof(v[k].partner), "%s", p->name);
		memcpy(v[k].id, p->pk, 32);
		v[k].up = p->link != NULL;
		v[k].since_ms = p->since_wall_ms;
		v[k].rtt_us = p->rtt_us;
		if (p->link) {
			v[k].initiator = p->link->initiator;
			snprintf(v[k].address, sizeof(v[k].address), "%s", p->link->addr);
		}
	}
	*out = v;
	*count = total;
	return 0;
}
