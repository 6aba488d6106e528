/* Shared between the files of node/net only. */
#ifndef COEX_NET_INTERNAL_H
#define COEX_NET_INTERNAL_H

#include "crypto/identity.h"
#include "crypto/noise.h"
#include "lib/log.h"
#include "net/net.h"
#include "wire/frame.h"
#include "wire/handshake.h"
#include "wire/hello.h"
#include "wire/link_frame.h"

#include <uv.h>

enum link_state {
	LINK_CONNECTING,       /* initiator: TCP connect in progress */
	LINK_AWAIT_RESPONSE,   /* initiator: initiation sent */
	LINK_AWAIT_INITIATION, /* responder: accepted, nothing read yet */
	LINK_AWAIT_CONFIRM,    /* responder: answered, first transport message not yet read */
	LINK_UP,
	LINK_CLOSING,
};

struct peer;
struct net_join;

struct link {
	struct net *net;
	struct link *prev, *next;       /* net->links */
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	enum link_state state;
	bool initiator;
	struct peer *peer;              /* initiator: the dialled partner; responder: once known */
	struct net_join *join;          /* initiator joining by invite (peer is NULL until done) */
	bool via_invite;                /* responder: the initiator presented an invite proof */
	uint8_t invite_id[LIMIT_INVITE_ID];
	uint8_t peer_pk[32];
	struct hello peer_hello;
	struct noise_handshake hs;
	struct noise_session sess;
	struct frame_reader fr;
	char addr[64];                  /* remote "ip:port" */
	char ip[48];                    /* remote ip, for per-address caps */
	uint64_t created_ms, up_ms, last_rx_ms, last_ping_ms, ping_sent_us;
	uint64_t ping_nonce;
	uint64_t up_wall_ms;
	struct link *hs_prev, *hs_next; /* net->hs_links: inbound handshakes in progress */
	bool in_hs;
	uint8_t *env_buf;               /* an envelope being reassembled from chunks */
	size_t env_len, env_have;
	/* inbound_per_s: a token bucket of messages (at most one second's worth); in debt, the
	 * link stops reading (TCP pushes back on the partner) until it is refilled */
	double tokens;
	uint64_t tokens_ms;
	bool read_paused;
	/* Frames written in this loop turn, sent together at its end (one write, not one each). */
	uint8_t *out;
	size_t out_len, out_cap;
	bool out_listed;                /* on net->flush_list */
	struct link *flush_next;
};

struct peer {
	struct peer *next;
	struct peer *hnext;             /* net->peer_tab chain */
	struct peer *xnext;             /* net->peer_xtab chain */
	uint8_t pk[32];
	struct handshake_partner keys;  /* its Noise static key and our ss with it (a secret) */
	char name[65];
	char address[256];
	struct link *link;              /* the live link, if any */
	struct link *dial;              /* our outbound attempt, if any */
	uint32_t attempts;
	uint64_t next_dial_ms;          /* loop time of the next dial; 0 = none planned */
	uint64_t since_wall_ms;
	uint32_t rtt_us;
	bool has_box_key;
	uint8_t box_key[32];            /* crypto_box key with this partner, computed once */
	struct exchange_peer *xp;       /* sending state (exchange.c) */
	/* witnessing (witness.c) */
	bool w_loaded, w_have, w_pending, w_has_next, w_alarmed;
	struct tree_head w_latest, w_asked, w_next;
};

struct net_join {
	net_join_cb done;               /* NULL once abandoned */
	void *arg;
	char name[65];                  /* requested local name, or "" */
	char address[256];
	uint8_t inviter[32];
	uint8_t invite_id[LIMIT_INVITE_ID];
	uint8_t mac[LIMIT_INVITE_MAC];
};

struct net {
	uv_loop_t *loop;
	const struct identity *self;
	struct store *store;
	struct net_config cfg;
	char name[65];
	char listen_cfg[256];
	char listen_addr[64];
	uv_tcp_t listener;
	bool listening;
	uv_timer_t tick;
	uint64_t partners_version;      /* net_partners_version */
	/* The end of a loop turn's callbacks: the pumps asked for run, then the links' output
	 * gathered meanwhile goes out, one write per link (net_turn_end_soon). */
	uv_idle_t turn_end;
	struct link *flush_list;        /* links with output waiting */
	bool read_snapshot;             /* a read transaction on store is open (net_read_snapshot) */
	uint64_t last_tick_ms;          /* loop time the tick last ran, for the lag metrics */
	struct peer *peers;
	struct peer **peer_tab;         /* peers by key: every handshake looks its partner up */
	struct peer **peer_xtab;        /* the same by Noise static key (keys.x_pk) */
	size_t peer_tab_cap, n_peers;
	struct link *links;
	struct link *hs_links;          /* inbound links still in their handshake */
	uint32_t n_hs;
	bool accept_paused;             /* at the handshake cap: the kernel holds new connections */
	struct replay_cache *replay;
	struct log_ratelimit drop_rl;
	uint8_t readbuf[65536 + 2];
	bool readbuf_busy;
	bool stopping;
	int open_handles;
	void (*stopped)(void *arg);
	void *stopped_arg;
	struct commit *commit;
	struct exchange *ex;
	struct net_metrics metrics;
	void (*msg_hook)(void *arg, const struct store_msg *m);
	void *msg_hook_arg;
	void (*receipt_hook)(void *arg, const uint8_t hash[32]);
	void *receipt_hook_arg;
};

/* net.c */
uint64_t net_wall_ms(void);
struct peer *net_peer_by_pk(struct net *n, const uint8_t pk[32]);
struct peer *net_peer_add(struct net *n, const struct store_partner *p);
void net_hello_fill(struct net *n, struct hello *h);
void net_link_established(struct net *n, struct link *l);
void net_link_closed(struct net *n, struct link *l);
void net_handle_closed(struct net *n);
void net_log_drop(struct net *n, const struct link *l, const char *reason);
/* Handshake admission (see wire/handshake.h): a partner, or a valid unused invite proof. */
int net_admit_hello(void *arg, const struct hello *h);
/* Handshake partner lookup (see wire/handshake.h): the partner whose Noise static key is x_pk. */
const struct handshake_partner *net_handshake_partner(void *arg, const uint8_t x_pk[32]);
/* Derives a local partner name ("acme-logistics") from a display name. */
void net_partner_name_from(const char *display, char *out, size_t cap);
/* The reads the receive path makes for one link read callback (de-duplication: one per
 * message) share one read transaction on store, opened here if none is: one lock and one
 * check of the WAL instead of one each, and the page cache kept between them. Only reads
 * may run while it is open: a write on the loop's connection ends it first (witness). It
 * ends with the read callback (link_on_read), so it never spans a commit batch's done()
 * callbacks (a duplicate would miss both the in-flight key they remove and the row: a
 * snapshot opened later sees every batch whose done() ran) nor the loop's sleep (it would
 * pin the WAL). If it cannot be opened, the reads are made one by one as before. */
void net_read_snapshot(struct net *n);
void net_read_snapshot_end(struct net *n);

/* link.c */
struct link *link_new(struct net *n, bool initiator);
int link_start_read(struct link *l);
void link_close(struct link *l, enum link_close_reason reason, const char *detail);
int link_send_frame(struct link *l, const struct link_frame *f);
/* Writes the link's gathered output (one uv_write). Returns 0 or a libuv/ERR_* code. */
int link_flush(struct link *l);
int link_send_initiation(struct link *l);
void link_tick(struct link *l, uint64_t now);
/* The address the peer announced in its Hello (wildcard host: the one it came from). */
void link_peer_address(const struct link *l, char *out, size_t cap);
void link_short_id(const uint8_t pk[32], char out[IDENTITY_FPR_LEN + 1]);

/* dial.c */
void dial_peer(struct net *n, struct peer *p);
int dial_join(struct net *n, struct net_join *j);
void dial_schedule_retry(struct net *n, struct peer *p);

/* exchange.c */
struct exchange;
int exchange_new(struct net *n, struct exchange **out);
void exchange_free(struct exchange *ex);
/* Rebuilds the relay table from the messages this node forwarded (at start). */
int exchange_relays_load(struct net *n);
void exchange_peer_up(struct net *n, struct peer *p);
void exchange_peer_down(struct net *n, struct peer *p);
void exchange_peer_free(struct net *n, struct peer *p);
/* Runs the pumps asked for since the last turn end (exchange_pump). */
void exchange_run_pumps(struct net *n);
/* Asks for net's turn end: pumps, then every link's gathered output written. */
void net_turn_end_soon(struct net *n);
void exchange_on_envelope(struct net *n, struct link *l, uint8_t *env, size_t len);
void exchange_on_receipt(struct net *n, struct link *l, const uint8_t *data, size_t len);
void exchange_tick(struct net *n, uint64_t now);
int link_send_envelope(struct link *l, const uint8_t *env, size_t len);
int link_send_receipt(struct link *l, const uint8_t *data, size_t len);

/* witness.c */
void witness_on_head(struct net *n, struct peer *p, const struct tree_head *h, bool verified);
void witness_on_request(struct net *n, struct link *l, const struct link_frame *q);
void witness_on_answer(struct net *n, struct link *l, const struct link_frame *a);

/* listener.c */
int listener_start(struct net *n);
/* A link left its handshake (up or closing): it no longer counts against the caps. */
void listener_hs_remove(struct net *n, struct link *l);
/* Accepts again if accepting was paused at the cap and there is room now. */
void listener_resume(struct net *n);

/* join.c */
void join_link_done(struct net *n, struct link *l);
void join_link_failed(struct link *l, int err, const char *msg);

#endif
