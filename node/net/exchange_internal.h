/* Shared by the exchange's files only (exchange.c, exchange_send.c, exchange_recv.c). */
#ifndef COEX_NET_EXCHANGE_INTERNAL_H
#define COEX_NET_EXCHANGE_INTERNAL_H

#include "net/commit.h"
#include "net/net_internal.h"

#include <stdbool.h>
#include <stdint.h>

enum {
	EXCHANGE_WINDOW = 512,          /* messages in flight per link */
	EXCHANGE_RESEND_MS = 10000,     /* a receipt later than this restarts the window */
	EXCHANGE_INFLIGHT_IN = 4096,    /* inbound messages awaiting commit, per node */
	EXCHANGE_SENT_MARK_MS = 1000,   /* unreceipted this long: shown as "sent" */
	EXCHANGE_FRESH_MAX = 8 * EXCHANGE_WINDOW, /* fresh envelopes kept per partner */
};

/* Bytes of fresh envelopes kept for all partners together. */
#define EXCHANGE_FRESH_BYTES_MAX ((size_t)64 << 20)

struct exchange_inflight {
	uint64_t seq;
	uint8_t hash[32];
	uint64_t sent_ms;
	bool receipted;                 /* receipt being committed */
	bool mark_sent;                 /* still "queued" in the store */
};

/* A message this node just queued, kept so its first send needs no read of the store. */
struct exchange_fresh {
	struct exchange_fresh *next;
	uint64_t seq;                   /* its outbox entry */
	uint8_t hash[32];
	int64_t expires_ms;
	size_t len;
	uint8_t env[];
};

/* Per-partner sending state. */
struct exchange_peer {
	struct exchange_inflight *win;  /* ring of EXCHANGE_WINDOW */
	size_t head, count;
	uint64_t cursor;                /* highest outbox seq sent on the current link */
	bool pumping;
	/* fresh holds every outbox entry after cursor: the pump sends from memory and reads no
	 * store. Set by a scan that found the store's end; cleared by a restart, by an entry
	 * that could not be kept, and by an entry queued elsewhere (a relay). */
	bool fresh_exact;
	bool pump_queued;               /* on the exchange's pump list */
	struct peer *pump_next;
	uint8_t head_root[32];          /* the partner's last verified tree head */
	uint64_t head_size;
	uint8_t head_sig[64];
	struct exchange_fresh *fresh, **fresh_tail; /* in outbox order; EXCHANGE_FRESH_MAX */
	size_t n_fresh;
	bool outbox_known;              /* outbox_bound was read from the store */
	uint64_t outbox_bound;          /* at least the outbox's size (exchange_outbox_room) */
};

enum { EXCHANGE_STRANGER_KEYS = 64, EXCHANGE_RELAYS_MAX = 4096 };

struct exchange_key {
	uint8_t pk[32];
	uint8_t key[32];
	bool used;
};

struct exchange_relay {
	uint8_t origin[32], forwardee[32], back[32];
};

struct exchange {
	struct net *net;
	struct exchange_key strangers[EXCHANGE_STRANGER_KEYS]; /* box keys for non-partners */
	size_t next_stranger;
	struct exchange_relay *relays;
	size_t n_relays;
	/* (author, id) of inbound messages whose commit is in flight: a hash set by BLAKE2b. */
	uint8_t (*pending)[32];
	size_t n_pending;
	size_t fresh_bytes;             /* all partners' fresh envelopes */
	struct peer *pump_list;         /* partners to pump at the loop turn's end */
	struct log_ratelimit rl;
};

struct net_wait {
	net_queued_cb done;             /* one of these two */
	net_queued_msg_cb done_msg;
	void *arg;
};


uint64_t ex_now(struct net *n);
struct exchange_peer *exchange_peer_get(struct peer *p);
/* The box key with partner p, computed once. Returns 0 or ERR_CRYPTO. */
int exchange_box_key(struct net *n, struct peer *p);
/* The box key with any node (partners' kept with them, others' in a small cache). */
int exchange_key_for(struct net *n, const uint8_t pk[32], const uint8_t **key);
/* The partner a message for origin arriving from forwardee goes on to, or NULL: not ours to
 * relay. */
const uint8_t *exchange_relay_back(const struct exchange *ex, const uint8_t origin[32],
				   const uint8_t forwardee[32]);
/* Forgets p's fresh envelopes (they are in the store). */
void exchange_fresh_clear(struct exchange *ex, struct exchange_peer *xp);
/* Sends what the partner's outbox holds, within the window, while its link is up: soon,
 * once the loop turn's callbacks have run (a commit batch's done() calls all ask for it). */
void exchange_pump(struct net *n, struct peer *p);
/* Takes p off the pump list (it is going away). */
void exchange_pump_forget(struct net *n, struct peer *p);
/* Counts and logs (rate-limited) a refused message. */
void exchange_drop(struct net *n, struct link *l, const char *reason);
/* The same for a message from the partner peer_pk whose link may be gone. */
void exchange_drop_peer(struct net *n, const uint8_t peer_pk[32], const char *reason);

#endif
