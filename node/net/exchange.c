/* The exchange: messages over partner links, exactly once.
 *
 * Sending: a message is durable in the outbox before anyone is told it is queued. While a
 * link is up, the partner's outbox is streamed from the store in order (a window of
 * EXCHANGE_WINDOW messages in flight), and each entry leaves the outbox only when its receipt
 * has been verified and committed. A link that comes up again, or a receipt that is late,
 * makes the window start over from the oldest unreceipted message: the receiver
 * de-duplicates, so resending is always safe.
 *
 * Receiving: an envelope is opened and verified, de-duplicated on (author, id), committed
 * with its log entry, and only after the commit is its receipt (tree head + inclusion
 * proof, built in the same transaction) sent back. A duplicate is answered with the receipt
 * stored for the original. */
#include "crypto/merkle.h"
#include "lib/err.h"
#include "lib/failpoint.h"
#include "net/exchange_internal.h"
#include "net/net_internal.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/body_info.h"
#include "wire/card.h"
#include "wire/log_entry.h"
#include "wire/message.h"
#include "wire/receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t ex_now(struct net *n)
{
	return uv_now(n->loop);
}

int exchange_new(struct net *n, struct exchange **out)
{
	struct exchange *ex = calloc(1, sizeof(*ex));

	if (!ex || !(ex->pending = calloc(EXCHANGE_INFLIGHT_IN, sizeof(*ex->pending)))) {
		free(ex);
		return ERR_NOMEM;
	}
	ex->net = n;
	*out = ex;
	return 0;
}

void exchange_free(struct exchange *ex)
{
	if (!ex)
		return;
	sodium_memzero(ex->strangers, sizeof(ex->strangers));
	free(ex->relays);
	free(ex->pending);
	free(ex);
}

void exchange_peer_free(struct net *n, struct peer *p)
{
	if (p->xp) {
		exchange_pump_forget(n, p);
		exchange_fresh_clear(n->ex, p->xp);
		free(p->xp->win);
		free(p->xp);
		p->xp = NULL;
	}
}

struct exchange_peer *exchange_peer_get(struct peer *p)
{
	if (!p->xp) {
		struct exchange_peer *xp = calloc(1, sizeof(*xp));
		if (!xp)
			return NULL;
		p->xp = xp;
	}
	return p->xp;
}

int exchange_box_key(struct net *n, struct peer *p)
{
	if (!p->has_box_key) {
		if (message_box_key(n->self, p->pk, p->box_key) != 0)
			return ERR_CRYPTO;
		p->has_box_key = true;
	}
	return 0;
}

/* The box key with any node: a partner's is kept with the partner; others' in a small cache
 * (an answer to a forwarded proposal comes from a node that is not a partner). */
int exchange_key_for(struct net *n, const uint8_t pk[32], const uint8_t **key)
{
	struct exchange *ex = n->ex;
	struct peer *p = net_peer_by_pk(n, pk);
	struct exchange_key *k;

	if (p) {
		if (exchange_box_key(n, p) != 0)
			return ERR_CRYPTO;
		*key = p->box_key;
		return 0;
	}
	for (size_t i = 0; i < EXCHANGE_STRANGER_KEYS; i++) {
		if (ex->strangers[i].used && memcmp(ex->strangers[i].pk, pk, 32) == 0) {
			*key = ex->strangers[i].key;
			return 0;
		}
	}
	k = &ex->strangers[ex->next_stranger];
	ex->next_stranger = (ex->next_stranger + 1) % EXCHANGE_STRANGER_KEYS;
	if (message_box_key(n->self, pk, k->key) != 0) {
		k->used = false;
		return ERR_CRYPTO;
	}
	memcpy(k->pk, pk, 32);
	k->used = true;
	*key = k->key;
	return 0;
}

int net_relay_allow(struct net *n, const uint8_t origin[32], const uint8_t forwardee[32],
		    const uint8_t back[32])
{
	struct exchange *ex = n->ex;
	struct exchange_relay *v;

	if (exchange_relay_back(ex, origin, forwardee))
		return 0;
	if (ex->n_relays >= EXCHANGE_RELAYS_MAX)
		return ERR_LIMIT;
	if (!(v = realloc(ex->relays, (ex->n_relays + 1) * sizeof(*v))))
		return ERR_NOMEM;
	ex->relays = v;
	memcpy(v[ex->n_relays].origin, origin, 32);
	memcpy(v[ex->n_relays].forwardee, forwardee, 32);
	memcpy(v[ex->n_relays].back, back, 32);
	ex->n_relays++;
	return 0;
}

const uint8_t *exchange_relay_back(const struct exchange *ex, const uint8_t origin[32],
				   const uint8_t forwardee[32])
{
	for (size_t i = 0; i < ex->n_relays; i++)
		if (!memcmp(ex->relays[i].origin, origin, 32) && !memcmp(ex->relays[i].forwardee, forwardee, 32))
			return ex->relays[i].back;
	return NULL;
}

static int exchange_relay_from_forward(void *arg, const struct store_msg *m)
{
	struct net *n = arg;
	struct message_meta meta;
	struct body_facts f;
	const uint8_t *body;
	size_t len;

	if (message_verify_signed(m->signed_msg, m->signed_len, &meta, &body, &len) != 0 ||
	    body_facts_read(body, len, &meta, &f) != 0 || f.n_path == 0) {
		log_warn("relay_unreadable", "%s", "a forwarded message in the store cannot be read");
		return 0;
	}
	if (net_relay_allow(n, f.origin, m->recipient, f.path[f.n_path - 1]) != 0)
		log_warn("relay_table_full", "%s", "answers to some forwarded proposals will not be relayed");
	return 0;
}

int exchange_relays_load(struct net *n)
{
	return store_msg_forwarded(n->store, exchange_relay_from_forward, n);
}

void net_set_message_hook(struct net *n, void (*fn)(void *arg, const struct store_msg *m),
			  void *arg)
{
	n->msg_hook = fn;
	n->msg_hook_arg = arg;
}

void net_set_receipt_hook(struct net *n, void (*fn)(void *arg, const uint8_t hash[32]), void *arg)
{
	n->receipt_hook = fn;
	n->receipt_hook_arg = arg;
}

/* ------------------------------------------------------------------ trust changes */

struct trust_job {
	struct commit_job job;
	uint8_t *entry;
	size_t len;
};

static int trust_run(struct store *w, struct commit_job *job)
{
	struct trust_job *t = (struct trust_job *)job;
	uint64_t index;

	return store_log_append(w, t->entry, t->len, &index);
}

static void trust_done(struct commit_job *job)
{
	struct trust_job *t = (struct trust_job *)job;

	if (job->err)
		log_error("log_append_failed", "error=\"%s\"", err_str(job->err));
	free(t->entry);
	free(t);
}

void net_log_trust(struct net *n, int type, const uint8_t peer[32], const char *note)
{
	struct trust_job *t;
	struct log_entry e;

	if (!n->commit || !(t = calloc(1, sizeof(*t))))
		return;
	memset(&e, 0, sizeof(e));
	e.type = (enum log_entry_type)type;
	e.time_ms = net_wall_ms();
	memcpy(e.peer, peer, 32);
	snprintf(e.note, sizeof(e.note), "%s", note ? note : "");
	if (log_entry_encode(&e, &t->entry, &t->len) != 0) {
		free(t);
		return;
	}
	t->job.run = trust_run;
	t->job.done = trust_done;
	commit_submit(n->commit, &t->job);
}

