/* Joining by invite code: the joiner's side. The inviter's side is admission
 * (net_admit_hello) and redemption on key confirmation (link.c). */
#include "lib/err.h"
#include "net/net_internal.h"
#include "store/store.h"
#include "wire/invite.h"
#include "wire/log_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void join_finish(struct net_join *j, int err, const char *msg, const struct store_partner *p)
{
	net_join_cb done = j->done;

	j->done = NULL;
	if (done)
		done(j->arg, err, msg, p);
}

void join_link_failed(struct link *l, int err, const char *msg)
{
	struct net_join *j = l->join;
	char buf[512];

	if (!j || !j->done)
		return;
	if (err == ERR_TIMEOUT)
		snprintf(buf, sizeof(buf),
			 "no answer from the inviter at %s within %u s: the code may have been used "
			 "already or revoked, or the inviter is not reachable",
			 j->address, l->net->cfg.handshake_timeout_ms / 1000);
	else if (err == ERR_DENIED)
		snprintf(buf, sizeof(buf),
			 "the inviter at %s closed the connection without answering: the code may "
			 "have been used already, expired or been revoked; ask for a new one",
			 j->address);
	else
		snprintf(buf, sizeof(buf), "joining via %s failed: %s", j->address,
			 msg ? msg : err_str(err));
	join_finish(j, err, buf, NULL);
}

/* Stores the inviter under a free local name: the requested one, or its display name. */
static int join_store_partner(struct net *n, struct net_join *j, const struct hello *h,
			      struct store_partner *p)
{
	char base[65];
	int r = ERR_EXISTS;

	memset(p, 0, sizeof(*p));
	memcpy(p->id, j->inviter, 32);
	snprintf(p->address, sizeof(p->address), "%s", j->address);
	p->added_ms = (int64_t)net_wall_ms();
	if (j->name[0])
		snprintf(base, sizeof(base), "%s", j->name);
	else
		net_partner_name_from(h->name, base, sizeof(base));
	for (int i = 1; i < 100 && r == ERR_EXISTS; i++) {
		if (i == 1)
			snprintf(p->name, sizeof(p->name), "%s", base);
		else
			snprintf(p->name, sizeof(p->name), "%.60s-%d", base, i);
		r = store_partner_add(n->store, p);
		if (r == ERR_EXISTS && j->name[0])
			break; /* an explicitly requested name is not silently changed */
	}
	return r;
}

void join_link_done(struct net *n, struct link *l)
{
	struct net_join *j = l->join;
	struct store_partner p;
	char msg[200];
	int r;

	if ((r = join_store_partner(n, j, &l->peer_hello, &p)) != 0) {
		snprintf(msg, sizeof(msg), "cannot store the new partner: %s", err_str(r));
		join_finish(j, r, msg, NULL);
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	if (!(l->peer = net_peer_add(n, &p))) {
		join_finish(j, ERR_NOMEM, "out of memory", NULL);
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	log_info("joined", "name=%s addr=%s", p.name, p.address);
	net_log_trust(n, LOG_ENTRY_PARTNER_ADDED, p.id, p.name);
	join_finish(j, 0, NULL, &p);
}

static int join_check(struct net *n, const struct invite_code *c, const char *name, char *err,
		      size_t errlen)
{
	struct store_partner existing;
	struct peer *p;

	if (c->expires_s * 1000 <= net_wall_ms()) {
		time_t t = (time_t)c->expires_s;
		struct tm tm;
		char when[32];
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		snprintf(err, errlen, "this invite code expired at %s; ask for a new one", when);
		return ERR_EXPIRED;
	}
	if (memcmp(c->inviter, n->self->pk, 32) == 0) {
		snprintf(err, errlen, "this is this node's own invite code; run 'coex join' on the other node");
		return ERR_INVAL;
	}
	if ((p = net_peer_by_pk(n, c->inviter))) {
		snprintf(err, errlen, "already partners with %s", p->name);
		return ERR_EXISTS;
	}
	if (name && name[0] && store_partner_find(n->store, name, &existing) == 0) {
		snprintf(err, errlen, "a partner named '%s' already exists; choose another --name", name);
		return ERR_EXISTS;
	}
	return 0;
}

int net_join(struct net *n, const char *code, const char *name, net_join_cb done, void *arg,
	     struct net_join **join_out, char *err, size_t errlen)
{
	struct invite_code c;
	struct net_join *j = NULL;
	int r;

	if ((r = invite_code_parse(code, &c)) != 0) {
		snprintf(err, errlen, "invalid invite code: it is mangled or incomplete; copy the "
				      "whole last line that 'coex invite' printed");
		goto out;
	}
	if ((r = join_check(n, &c, name, err, errlen)) != 0)
		goto out;
	r = ERR_NOMEM;
	if (!(j = calloc(1, sizeof(*j))))
		goto out;
	j->done = done;
	j->arg = arg;
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
	snprintf(j->address, sizeof(j->address), "%s", c.address);
	memcpy(j->inviter, c.inviter, 32);
	memcpy(j->invite_id, c.invite_id, sizeof(j->invite_id));
	invite_proof_mac(c.secret, c.invite_id, n->self->pk, c.inviter, j->mac);
	if ((r = dial_join(n, j)) != 0) {
		snprintf(err, errlen, "cannot dial the inviter at %s: %s", c.address, err_str(r));
		free(j);
		goto out;
	}
	*join_out = j;
out:
	invite_code_wipe(&c);
	return r;
}

void net_join_abandon(struct net_join *j)
{
	if (j)
		j->done = NULL;
}
