/* The partner links of a node: listener, dialler, handshakes, keepalive, reconnect.
 * The only user of libuv sockets. Owns the in-memory partner table (mirrored from the
 * store at start and kept current by the net_partner_* calls). */
#ifndef COEX_NET_NET_H
#define COEX_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct identity;
struct store;
struct store_partner;
struct net;

struct net_config {
	const char *name;                 /* our display name */
	const char *listen;               /* "host:port"; NULL or "" for no listener */
	uint32_t frame_bytes;
	uint32_t message_bytes;           /* largest envelope accepted or sent */
	uint32_t handshakes_per_address;
	uint32_t handshakes_total;
	uint32_t handshake_timeout_ms;
	uint64_t clock_skew_ms;
	uint32_t keepalive_ms;
	uint32_t dead_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	uint32_t outbox_per_partner;      /* messages waiting for a receipt, per partner; 0: no cap */
	uint32_t inbound_per_s;           /* messages read from one partner per second; 0: no cap */
};

/* A snapshot of one partner's link, for status. */
struct net_link_info {
	char partner[65];
	uint8_t id[32];
	bool up;
	bool initiator;
	uint64_t since_ms;                /* wall clock when the state began */
	uint32_t rtt_us;
	char address[64];                 /* remote address of the live link */
};

/* Creates the net layer. self and store must outlive it. Returns 0, ERR_NOMEM. */
int net_new(uv_loop_t *loop, const struct identity *self, struct store *store,
	    const struct net_config *cfg, struct net **out);

/* Binds the listener (if configured), loads partners from the store and starts dialling.
 * Returns 0 or a negative code (e.g. -EADDRINUSE) naming why the listener failed. */
int net_start(struct net *n);

/* Closes every link (sending Close{shutdown}) and handle. done() runs once all handles are
 * closed; then net_free() may be called. */
void net_stop(struct net *n, void (*done)(void *arg), void *arg);
void net_free(struct net *n);

/* The address the listener is bound to, e.g. "127.0.0.1:7401" (after net_start). */
const char *net_listen_address(const struct net *n);

/* Tells the net layer that a partner was added to the store: it starts dialling it.
 * Returns 0 or ERR_NOMEM. */
int net_partner_added(struct net *n, const struct store_partner *p);
/* Tells the net layer that a partner was removed: its link is closed (Close{removed}). */
void net_partner_removed(struct net *n, const uint8_t id[32]);

/* The local name of partner id, from memory. Returns 0 or ERR_NOTFOUND (not a partner). */
int net_partner_name(struct net *n, const uint8_t id[32], char *out, size_t cap);
/* Changes whenever a partner is added, changed or removed: what was looked up in the
 * partner table before is still true while it stays the same. */
uint64_t net_partners_version(const struct net *n);

/* Snapshot of every partner's link state; *out is malloc'd (caller frees). */
int net_links(struct net *n, struct net_link_info **out, size_t *count);

/* Joins by invite code: dials the inviter with the invite proof. done() runs exactly once
 * (unless the join is abandoned) with 0 and the new partner, or a negative code and a
 * message naming what went wrong. *join_out may be used to abandon the wait. */
struct net_join;
typedef void (*net_join_cb)(void *arg, int err, const char *msg, const struct store_partner *p);
int net_join(struct net *n, const char *code, const char *name, net_join_cb done, void *arg,
	     struct net_join **join_out, char *err, size_t errlen);
/* The caller no longer wants the result: done() will not be called. */
void net_join_abandon(struct net_join *j);

/* ---- the exchange: messages over the links (exchange.c) ---- */

struct commit;
/* The group-commit pipeline the exchange writes through (set before net_start). */
void net_attach_commit(struct net *n, struct commit *c);

/* Queues a message this node authored: body is a packed Body whose author is this node and
 * whose recipient is the partner `to`. Seals it, then commits the message, its outbox entry
 * and its log entry in one transaction; done() runs after the commit (err 0 and the
 * envelope hash) or on failure, unless abandoned; the message is sent whenever the link is
 * up, and resent until a receipt arrives. Returns 0 or an error (done() will not run). */
struct net_wait;
typedef void (*net_queued_cb)(void *arg, int err, const uint8_t hash[32]);
int net_message_queue(struct net *n, const uint8_t to[32], const uint8_t *body, size_t len,
		      const char *title, net_queued_cb done, void *arg, struct net_wait **wait_out);
/* The same for a recipient that is not a partner, through the partner via (an answer to a
 * forwarded proposal goes back through the partner that forwarded it); done() gets the
 * message as stored (without blobs; valid during the call; on failure only its hash may be
 * set), so the caller needs no read to describe it. */
struct store_msg;
typedef void (*net_queued_msg_cb)(void *arg, int err, const struct store_msg *m);
int net_message_queue_via(struct net *n, const uint8_t to[32], const uint8_t via[32],
			  const uint8_t *body, size_t len, const char *title, net_queued_msg_cb done,
			  void *arg, struct net_wait **wait_out);
/* The caller no longer wants the result (call only before done() ran). */
void net_wait_abandon(struct net_wait *w);

/* This node forwarded a proposal authored by origin to its partner forwardee, having it from
 * its partner back (origin itself, or the forwarder before): from now on it relays messages
 * addressed to origin that arrive from forwardee on to back (sealed: it cannot read them).
 * The node rebuilds these from its forwarded messages at start. Returns 0, or ERR_LIMIT
 * when it already holds EXCHANGE_RELAYS_MAX rules (or ERR_NOMEM). */
int net_relay_allow(struct net *n, const uint8_t origin[32], const uint8_t forwardee[32],
		    const uint8_t back[32]);

/* Called on the loop thread for every message addressed to this node once it is committed
 * (as its receipt is sent), so the layer above can act on it (introductions). */
void net_set_message_hook(struct net *n, void (*fn)(void *arg, const struct store_msg *m),
			  void *arg);
/* Called on the loop thread once a partner's receipt for the message hash this node sent is
 * committed (the message is then "delivered" in the store). */
void net_set_receipt_hook(struct net *n, void (*fn)(void *arg, const uint8_t hash[32]), void *arg);

/* Counters for `coex metrics`, owned by the net layer. Reasons are static strings. */
enum { NET_REASONS_MAX = 32 };
struct net_reason_count {
	const char *reason;
	uint64_t count;
};
struct net_metrics {
	struct net_reason_count handshake_drops[NET_REASONS_MAX];
	struct net_reason_count message_refusals[NET_REASONS_MAX];
	uint64_t messages_queued, messages_received, messages_relayed, receipts_received;
	uint64_t inbound_paused;          /* times a link stopped reading: over inbound_per_s */
	/* event-loop health: the 100 ms tick, how many ran late by more than NET_LAG_LATE_MS,
	 * and the worst lateness seen */
	uint64_t ticks, ticks_late, lag_max_ms;
	uint64_t handshakes_completed;
	uint64_t alarms;                  /* inconsistent partner heads found since start */
};
const struct net_metrics *net_metrics(const struct net *n);
enum { NET_LAG_LATE_MS = 100 };
/* Counts one occurrence of reason in table t (up to NET_REASONS_MAX distinct reasons). */
void net_reason_count(struct net_reason_count *t, const char *reason);

/* Appends a trust-change entry (enum log_entry_type) to the log through the commit pipeline. */
void net_log_trust(struct net *n, int type, const uint8_t peer[32], const char *note);

#endif
