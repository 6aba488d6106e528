/* Shared between the files of node/ctl only. */
#ifndef COEX_CTL_INTERNAL_H
#define COEX_CTL_INTERNAL_H

#include "coex.pb-c.h"
#include "ctl/ctl.h"

#include <stdbool.h>
#include <stddef.h>

struct net_join;

struct ctl_client {
	struct ctl *ctl;
	struct ctl_client *prev, *next;
	uv_pipe_t pipe;
	uint8_t hdr[4];
	size_t hdr_have;
	uint8_t *body;
	size_t need, have;
	bool busy;                    /* an asynchronous command is running */
	bool closing;
	struct net_join *join;
	struct net_wait *wait;
};

struct ctl {
	uv_loop_t *loop;
	struct ctl_deps deps;
	char path[4096];
	uv_pipe_t server;
	struct ctl_client *clients;
	size_t n_clients;
	int open_handles;
	bool stopping;
	void (*stopped)(void *arg);
	void *stopped_arg;
};

/* ctl.c: sends resp on the client's connection. */
void ctl_client_reply(struct ctl_client *c, const Coex__CtlResponse *resp);
/* Replies with an error code and message; returns code. */
int ctl_client_error(struct ctl_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An asynchronous command finished: the client may send its next request. */
void ctl_client_resume(struct ctl_client *c);

/* ctl_cmd.c: runs one request; replies now, or later (busy) for asynchronous commands. */
void ctl_cmd_dispatch(struct ctl_client *c, const Coex__CtlRequest *req);
/* The client goes away while a command runs. */
void ctl_cmd_abandon(struct ctl_client *c);

/* ctl_msg.c */
void ctl_cmd_propose(struct ctl_client *c, const Coex__ProposeRequest *req);
void ctl_cmd_respond(struct ctl_client *c, const Coex__RespondRequest *req);
void ctl_cmd_list(struct ctl_client *c, const Coex__ListRequest *req);
void ctl_cmd_show(struct ctl_client *c, const Coex__ShowRequest *req);
void ctl_cmd_thread(struct ctl_client *c, const Coex__ShowRequest *req);

#endif
