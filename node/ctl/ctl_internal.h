/* Shared between the files of node/ctl only. */
#ifndef COEX_CTL_INTERNAL_H
#define COEX_CTL_INTERNAL_H

#include "coex.pb-c.h"
#include "ctl/ctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_msg;

struct net_join;
struct ctl_conn;

/* One request on a control connection, from the moment it is read until its reply is sent.
 * A connection may carry several (pipelined): replies go out in the order of the requests. */
struct ctl_client {
	struct ctl *ctl;
	struct ctl_conn *conn;
	struct ctl_client *next;      /* the connection's next request */
	uint8_t *out;                 /* the framed reply, held until the earlier ones are sent */
	size_t out_len;
	bool replied;
	bool running;                 /* inside ctl_cmd_dispatch */
	bool pipelined;               /* a propose: may run alongside other proposes */
	size_t size;                  /* the request's packed size */
	bool busy;                    /* an asynchronous command is running */
	struct net_join *join;
	struct net_wait *wait;
	/* ctl_client_wait_receipt: in ctl->receipt_waiters until its receipt or its deadline */
	struct ctl_client *wprev, *wnext;
	bool waits_receipt;
	uint8_t wait_hash[32];
	uint64_t wait_deadline_ms;
	void (*wait_answer)(struct ctl_client *c, const uint8_t hash[32]);
};

/* A partner reference resolved before; good while the partner table has not changed
 * since (net_partners_version), so a stream of proposals reads no store for it. */
struct ctl_partner_memo {
	char ref[128];
	uint8_t id[32];
	uint64_t version;
	bool used;
};

enum { CTL_PARTNER_MEMO = 8 };

struct ctl {
	uv_loop_t *loop;
	struct ctl_deps deps;
	char path[4096];
	uv_pipe_t server;
	struct ctl_conn *clients;
	size_t n_clients;
	int open_handles;
	struct ctl_partner_memo memo[CTL_PARTNER_MEMO];
	size_t memo_next;
	uv_tcp_t metrics;             /* optional HTTP endpoint */
	bool metrics_on;
	struct ctl_client *receipt_waiters;
	uv_timer_t wait_timer;        /* runs while there are waiters: their deadlines */
	bool stopping;
	void (*stopped)(void *arg);
	void *stopped_arg;
};

/* ctl.c: sends resp on the client's connection (after the replies to earlier requests). */
void ctl_client_reply(struct ctl_client *c, const Coex__CtlResponse *resp);
/* Replies with an error code and message; returns code. */
int ctl_client_error(struct ctl_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An asynchronous command finished: the client may send its next request. */
void ctl_client_resume(struct ctl_client *c);
/* Holds c (busy) until the message hash has its receipt (net_set_receipt_hook) or timeout_ms
 * passed, then calls answer(c, hash), which replies. */
void ctl_client_wait_receipt(struct ctl_client *c, const uint8_t hash[32], uint32_t timeout_ms,
			     void (*answer)(struct ctl_client *c, const uint8_t hash[32]));

/* ctl_cmd.c: runs one request; replies now, or later (busy) for asynchronous commands. */
void ctl_cmd_dispatch(struct ctl_client *c, const Coex__CtlRequest *req);
/* The client goes away while a command runs. */
void ctl_cmd_abandon(struct ctl_client *c);

/* ctl_cmd.c: the address partners should dial (listen address; wildcard resolved). */
void ctl_invite_address(struct ctl *c, char *out, size_t cap);

/* ctl_intro.c: referrals, introductions, forwarding, and what arriving messages set off */
void ctl_cmd_refer(struct ctl_client *c, const Coex__ReferRequest *req);
void ctl_cmd_answer(struct ctl_client *c, const Coex__AnswerRequest *req);
void ctl_cmd_introductions(struct ctl_client *c);
void ctl_cmd_forward(struct ctl_client *c, const Coex__ForwardRequest *req);
void ctl_on_message(void *arg, const struct store_msg *m);

/* ctl_msg.c: shared by ctl_intro.c */
struct ctl_body {
	Coex__Body body;
	uint8_t id[16];
	uint64_t now;
};
void ctl_body_init(struct ctl_body *b, const struct ctl *c, const uint8_t recipient[32],
		   uint64_t expires_s);
/* Queues body to `to` through `via` (a partner; to itself if direct) and replies when durable. */
void ctl_queue_body_via(struct ctl_client *c, const uint8_t to[32], const uint8_t via[32],
			Coex__Body *body, const char *title);

/* ctl_metrics.c */
void ctl_cmd_metrics(struct ctl_client *c);
/* Messages waiting for a receipt, per partner (or one), for coex drain. */
void ctl_cmd_outbox_count(struct ctl_client *c, const Coex__OutboxCountRequest *req);
/* Serves the metrics over HTTP on address (loopback advised). Returns 0 or an error. */
int ctl_metrics_listen(struct ctl *c, const char *address);

/* ctl_msg.c */
void ctl_cmd_propose(struct ctl_client *c, const Coex__ProposeRequest *req);
void ctl_cmd_respond(struct ctl_client *c, const Coex__RespondRequest *req);
void ctl_cmd_list(struct ctl_client *c, const Coex__ListRequest *req);
void ctl_cmd_show(struct ctl_client *c, const Coex__ShowRequest *req);
void ctl_cmd_thread(struct ctl_client *c, const Coex__ShowRequest *req);

/* ctl_log.c: coex log, log verify, log export (req->cmd_case says which) */
void ctl_cmd_log(struct ctl_client *c, const Coex__CtlRequest *req);

/* ctl_msg.c: writes a message into err (errlen bytes) and returns code. */
int ctl_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
