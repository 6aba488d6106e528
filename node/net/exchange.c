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
#include "net/commit.h"
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

enum {
	EXCHANGE_WINDOW = 512,          /* messages in flight per link */
	EXCHANGE_RESEND_MS = 10000,     /* a receipt later than this restarts the window */
	EXCHANGE_INFLIGHT_IN = 4096,    /* inbound messages awaiting commit, per node */
};

struct exchange_inflight {
	uint64_t seq;
	uint8_t hash[32];
	uint64_t sent_ms;
	bool receipted;                 /* receipt being committed */
};

/* Per-partner sending state. */
struct exchange_peer {
	struct exchange_inflight *win;  /* ring of EXCHANGE_WINDOW */
	size_t head, count;
	uint64_t cursor;                /* highest outbox seq sent on the current link */
	bool pumping, exhausted;
	uint8_t head_root[32];          /* the partner's last verified tree head */
	uint64_t head_size;
	uint8_t head_sig[64];
};

enum { EXCHANGE_STRANGER_KEYS = 64, EXCHANGE_RELAYS_MAX = 4096 };

struct exchange_key {
	uint8_t pk[32];
	uint8_t key[32];
	bool used;
};

struct exchange_relay {
	uint8_t origin[32], forwardee[32];
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
	struct log_ratelimit rl;
};

struct net_wait {
	net_queued_cb done;
	void *arg;
};

static uint64_t ex_now(struct net *n)
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

void exchange_peer_free(struct peer *p)
{
	if (p->xp) {
		free(p->xp->win);
		free(p->xp);
		p->xp = NULL;
	}
}

static struct exchange_peer *exchange_peer_get(struct peer *p)
{
	if (!p->xp) {
		struct exchange_peer *xp = calloc(1, sizeof(*xp));
		if (!xp || !(xp->win = calloc(EXCHANGE_WINDOW, sizeof(*xp->win)))) {
			free(xp);
			return NULL;
		}
		p->xp = xp;
	}
	return p->xp;
}

static int exchange_box_key(struct net *n, struct peer *p)
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
static int exchange_key_for(struct net *n, const uint8_t pk[32], const uint8_t **key)
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

void net_relay_allow(struct net *n, const uint8_t origin[32], const uint8_t forwardee[32])
{
	struct exchange *ex = n->ex;
	struct exchange_relay *v;

	for (size_t i = 0; i < ex->n_relays; i++)
		if (!memcmp(ex->relays[i].origin, origin, 32) && !memcmp(ex->relays[i].forwardee, forwardee, 32))
			return;
	if (ex->n_relays >= EXCHANGE_RELAYS_MAX ||
	    !(v = realloc(ex->relays, (ex->n_relays + 1) * sizeof(*v))))
		return;
	ex->relays = v;
	memcpy(v[ex->n_relays].origin, origin, 32);
	memcpy(v[ex->n_relays].forwardee, forwardee, 32);
	ex->n_relays++;
}

static bool exchange_relay_allowed(struct exchange *ex, const uint8_t origin[32],
				   const uint8_t forwardee[32])
{
	for (size_t i = 0; i < ex->n_relays; i++)
		if (!memcmp(ex->relays[i].origin, origin, 32) && !memcmp(ex->relays[i].forwardee, forwardee, 32))
			return true;
	return false;
}

void net_set_message_hook(struct net *n, void (*fn)(void *arg, const struct store_msg *m),
			  void *arg)
{
	n->msg_hook = fn;
	n->msg_hook_arg = arg;
}

/* ------------------------------------------------------------------ sending */

static void exchange_pump(struct net *n, struct peer *p);

struct exchange_scan {
	uint64_t seqs[EXCHANGE_WINDOW];
	uint8_t hashes[EXCHANGE_WINDOW][32];
	size_t n;
};

static int exchange_scan_one(void *arg, uint64_t seq, const uint8_t hash[32])
{
	struct exchange_scan *sc = arg;

	sc->seqs[sc->n] = seq;
	memcpy(sc->hashes[sc->n], hash, 32);
	sc->n++;
	return 0;
}

/* Expired messages are marked so and leave the outbox; they are never sent. */
struct expire_job {
	struct commit_job job;
	uint8_t hash[32];
};

static int expire_run(struct store *w, struct commit_job *job)
{
	struct expire_job *e = (struct expire_job *)job;
	int r;

	if ((r = store_msg_set_state(w, e->hash, STORE_MSG_EXPIRED)) != 0)
		return r;
	return store_outbox_remove(w, e->hash);
}

static void expire_done(struct commit_job *job)
{
	free(job);
}

static void exchange_expire(struct net *n, const uint8_t hash[32])
{
	struct expire_job *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	memcpy(e->hash, hash, 32);
	e->job.run = expire_run;
	e->job.done = expire_done;
	commit_submit(n->commit, &e->job);
}

/* Sends one outbox entry; returns 1 if it went into the window. */
static int exchange_send_one(struct net *n, struct peer *p, uint64_t seq, const uint8_t hash[32])
{
	struct exchange_peer *xp = p->xp;
	struct store_msg m;
	struct exchange_inflight *slot;
	int sent = 0;

	memset(&m, 0, sizeof(m));
	if (store_msg_get(n->store, hash, &m) != 0)
		return 0;
	if (m.expires_ms && (uint64_t)m.expires_ms <= net_wall_ms()) {
		exchange_expire(n, hash);
		store_msg_release(&m);
		return 0;
	}
	failpoint("send.before");
	if (link_send_envelope(p->link, m.envelope, m.envelope_len) == 0) {
		failpoint("send.after");
		slot = &xp->win[(xp->head + xp->count) % EXCHANGE_WINDOW];
		slot->seq = seq;
		memcpy(slot->hash, hash, 32);
		slot->sent_ms = ex_now(n);
		slot->receipted = false;
		xp->count++;
		sent = 1;
	}
	store_msg_release(&m);
	return sent;
}

static void exchange_pump(struct net *n, struct peer *p)
{
	struct exchange_peer *xp = exchange_peer_get(p);
	struct exchange_scan *sc;

	if (!xp || !p->link || p->link->state != LINK_UP || xp->pumping)
		return;
	if (xp->count >= EXCHANGE_WINDOW || xp->exhausted)
		return;
	if (!(sc = malloc(sizeof(*sc))))
		return;
	xp->pumping = true;
	sc->n = 0;
	if (store_outbox_scan(n->store, p->pk, xp->cursor, EXCHANGE_WINDOW - xp->count,
			      exchange_scan_one, sc) == 0) {
		xp->exhausted = sc->n == 0;
		for (size_t i = 0; i < sc->n && p->link && p->link->state == LINK_UP; i++) {
			xp->cursor = sc->seqs[i];
			exchange_send_one(n, p, sc->seqs[i], sc->hashes[i]);
		}
	}
	free(sc);
	xp->pumping = false;
}

/* Forgets the window: the next pump starts over from the oldest outbox entry. */
static void exchange_restart(struct peer *p)
{
	if (!p->xp)
		return;
	p->xp->head = p->xp->count = 0;
	p->xp->cursor = 0;
	p->xp->exhausted = false;
}

void exchange_peer_up(struct net *n, struct peer *p)
{
	exchange_restart(p);
	exchange_pump(n, p);
}

void exchange_peer_down(struct net *n, struct peer *p)
{
	(void)n;
	exchange_restart(p);
}

void exchange_tick(struct net *n, uint64_t now)
{
	for (struct peer *p = n->peers; p; p = p->next) {
		struct exchange_peer *xp = p->xp;
		if (!p->link || p->link->state != LINK_UP)
			continue;
		if (xp && xp->count > 0 && !xp->win[xp->head].receipted &&
		    now - xp->win[xp->head].sent_ms >= EXCHANGE_RESEND_MS) {
			exchange_restart(p);
		}
		exchange_pump(n, p);
	}
}

/* ------------------------------------------------------------------ queueing */

struct queue_job {
	struct commit_job job;
	struct net *net;
	struct net_wait *wait;
	struct store_msg m;             /* envelope owned by the job */
	uint8_t peer[32];
	uint8_t *entry;
	size_t entry_len;
};

static int queue_run(struct store *w, struct commit_job *job)
{
	struct queue_job *q = (struct queue_job *)job;
	int r;

	if ((r = store_log_append(w, q->entry, q->entry_len, &q->m.log_index)) != 0)
		return r;
	failpoint("log.append.mid");
	if ((r = store_msg_insert(w, &q->m)) != 0)
		return r;
	if (q->m.has_reply_to && (r = store_msg_set_state(w, q->m.reply_to, STORE_MSG_ANSWERED)) != 0 &&
	    r != ERR_NOTFOUND)
		return r;
	return store_outbox_add(w, q->m.hash, q->peer, NULL);
}

static void queue_done(struct commit_job *job)
{
	struct queue_job *q = (struct queue_job *)job;
	struct net *n = q->net;
	struct peer *p;

	if (job->err == 0)
		n->metrics.messages_queued++;
	if (q->wait->done)
		q->wait->done(q->wait->arg, job->err, q->m.hash);
	if (job->err == 0 && (p = net_peer_by_pk(n, q->peer)) && p->xp)
		p->xp->exhausted = false;
	if (job->err == 0 && (p = net_peer_by_pk(n, q->peer)))
		exchange_pump(n, p);
	free(q->wait);
	free(q->m.envelope);
	free(q->m.signed_msg);
	free(q->entry);
	free(q);
}

static int queue_entry(struct net *n, struct queue_job *q, const struct message_meta *meta)
{
	struct log_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_SENT;
	e.time_ms = net_wall_ms();
	memcpy(e.peer, q->peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, q->m.hash, 32);
	memcpy(e.message_id, meta->id, 16);
	memcpy(e.author, n->self->pk, 32);
	return log_entry_encode(&e, &q->entry, &q->entry_len);
}

static void queue_fill(struct queue_job *q, const struct message_meta *meta, const char *title)
{
	struct store_msg *m = &q->m;

	memcpy(m->id, meta->id, 16);
	memcpy(m->author, meta->author, 32);
	memcpy(m->recipient, meta->recipient, 32);
	memcpy(m->peer, q->peer, 32);
	m->dir = STORE_MSG_OUT;
	m->kind = (int)meta->kind;
	m->state = STORE_MSG_QUEUED;
	m->created_ms = (int64_t)meta->created_ms;
	m->expires_ms = (int64_t)meta->expires_ms;
	m->stored_ms = (int64_t)net_wall_ms();
	/* The first message of a thread names it: stored with its own id as the thread. */
	m->has_thread = true;
	memcpy(m->thread, meta->has_thread ? meta->thread : meta->id, 16);
	m->has_reply_to = meta->has_reply_to;
	memcpy(m->reply_to, meta->reply_to, 32);
	snprintf(m->title, sizeof(m->title), "%s", title ? title : "");
}

int net_message_queue_via(struct net *n, const uint8_t to[32], const uint8_t via[32],
			  const uint8_t *body, size_t len, const char *title, net_queued_cb done,
			  void *arg, struct net_wait **wait_out)
{
	struct message_meta meta;
	struct queue_job *q = NULL;
	const uint8_t *key;
	int r;

	if (!net_peer_by_pk(n, via))
		return ERR_NOTFOUND;
	if ((r = message_body_meta(body, len, &meta)) != 0)
		return r;
	if (memcmp(meta.recipient, to, 32) != 0)
		return ERR_INVAL;
	if ((r = exchange_key_for(n, to, &key)) != 0)
		return r;
	r = ERR_NOMEM;
	if (!(q = calloc(1, sizeof(*q))) || !(q->wait = calloc(1, sizeof(*q->wait))))
		goto fail;
	memcpy(q->peer, via, 32);
	if ((r = message_seal(n->self, key, body, len, 0, n->cfg.message_bytes,
			      &q->m.envelope, &q->m.envelope_len, q->m.hash, &q->m.signed_msg,
			      &q->m.signed_len)) != 0)
		goto fail;
	if ((r = queue_entry(n, q, &meta)) != 0)
		goto fail;
	queue_fill(q, &meta, title);
	q->net = n;
	q->wait->done = done;
	q->wait->arg = arg;
	q->job.run = queue_run;
	q->job.done = queue_done;
	*wait_out = q->wait;
	commit_submit(n->commit, &q->job);
	return 0;
fail:
	if (q) {
		free(q->wait);
		free(q->m.envelope);
		free(q->m.signed_msg);
		free(q->entry);
	}
	free(q);
	return r;
}

int net_message_queue(struct net *n, const uint8_t to[32], const uint8_t *body, size_t len,
		      const char *title, net_queued_cb done, void *arg, struct net_wait **wait_out)
{
	return net_message_queue_via(n, to, to, body, len, title, done, arg, wait_out);
}

void net_wait_abandon(struct net_wait *w)
{
	if (w)
		w->done = NULL;
}

void net_attach_commit(struct net *n, struct commit *c)
{
	n->commit = c;
}

/* ------------------------------------------------------------------ receiving */

static void exchange_pending_key(const uint8_t author[32], const uint8_t id[16], uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, author, 32);
	crypto_generichash_update(&st, id, 16);
	crypto_generichash_final(&st, out, 32);
}

static bool exchange_pending_has(struct exchange *ex, const uint8_t key[32])
{
	for (size_t i = 0; i < ex->n_pending; i++)
		if (memcmp(ex->pending[i], key, 32) == 0)
			return true;
	return false;
}

static void exchange_pending_del(struct exchange *ex, const uint8_t key[32])
{
	for (size_t i = 0; i < ex->n_pending; i++) {
		if (memcmp(ex->pending[i], key, 32) == 0) {
			memmove(ex->pending[i], ex->pending[ex->n_pending - 1], 32);
			ex->n_pending--;
			return;
		}
	}
}

struct receive_job {
	struct commit_job job;
	struct net *net;
	uint8_t link_peer[32];
	uint8_t pending_key[32];
	struct store_msg m;
	uint8_t *entry;
	size_t entry_len;
	uint8_t *receipt;
	size_t receipt_len;
};

/* An answer to a forwarded proposal names no envelope of ours (the author never saw the
 * forward): it answers the thread's first message, which this node authored. */
static int receive_mark_root_answered(struct store *w, struct receive_job *rj)
{
	struct store_msg root;
	int r;

	memset(&root, 0, sizeof(root));
	if (store_msg_get_by_id(w, rj->net->self->pk, rj->m.thread, &root) != 0)
		return 0;
	r = root.dir == STORE_MSG_OUT ? store_msg_set_state(w, root.hash, STORE_MSG_ANSWERED) : 0;
	store_msg_release(&root);
	return r;
}

static int receive_run(struct store *w, struct commit_job *job)
{
	struct receive_job *rj = (struct receive_job *)job;
	int r;

	if ((r = store_log_append(w, rj->entry, rj->entry_len, &rj->m.log_index)) != 0)
		return r;
	if ((r = store_msg_insert(w, &rj->m)) != 0)
		return r;
	if (rj->m.dir == STORE_MSG_RELAY)
		return store_outbox_add(w, rj->m.hash, rj->m.peer, NULL);
	if (rj->m.has_reply_to && (r = store_msg_set_state(w, rj->m.reply_to, STORE_MSG_ANSWERED)) != 0 &&
	    r != ERR_NOTFOUND)
		return r;
	if (!rj->m.has_reply_to && rj->m.kind == MESSAGE_KIND_RESPONSE)
		return receive_mark_root_answered(w, rj);
	return 0;
}

/* Builds the receipt from the batch's head, in the batch's transaction. */
static int receive_after(struct store *w, struct commit_job *job, const struct tree_head *head)
{
	struct receive_job *rj = (struct receive_job *)job;
	struct receipt rc;
	int r;

	if (!head)
		return ERR_STATE;
	memset(&rc, 0, sizeof(rc));
	memcpy(rc.envelope_hash, rj->m.hash, 32);
	rc.received_ms = (uint64_t)rj->m.stored_ms;
	rc.log_index = rj->m.log_index;
	rc.entry = rj->entry;
	rc.entry_len = rj->entry_len;
	rc.head = *head;
	if ((r = store_log_prove_inclusion(w, rc.log_index, head->size, rc.proof, &rc.n_proof)) != 0)
		return r;
	if ((r = receipt_encode(&rc, &rj->receipt, &rj->receipt_len)) != 0)
		return r;
	return store_msg_set_receipt(w, rj->m.hash, rj->receipt, rj->receipt_len);
}

static void receive_done(struct commit_job *job)
{
	struct receive_job *rj = (struct receive_job *)job;
	struct net *n = rj->net;
	struct peer *p = net_peer_by_pk(n, rj->link_peer);

	exchange_pending_del(n->ex, rj->pending_key);
	failpoint("receipt.before_send");
	if (job->err == 0 && p && p->link && p->link->state == LINK_UP)
		link_send_receipt(p->link, rj->receipt, rj->receipt_len);
	else if (job->err != 0)
		log_warn("receive_failed", "error=\"%s\"", err_str(job->err));
	if (job->err == 0 && rj->m.dir == STORE_MSG_RELAY)
		n->metrics.messages_relayed++;
	else if (job->err == 0)
		n->metrics.messages_received++;
	if (job->err == 0 && rj->m.dir == STORE_MSG_IN && n->msg_hook)
		n->msg_hook(n->msg_hook_arg, &rj->m);
	if (job->err == 0 && rj->m.dir == STORE_MSG_RELAY && (p = net_peer_by_pk(n, rj->m.peer))) {
		if (p->xp)
			p->xp->exhausted = false;
		exchange_pump(n, p);
	}
	free(rj->m.envelope);
	free(rj->m.signed_msg);
	free(rj->entry);
	free(rj->receipt);
	free(rj);
}

static void exchange_drop(struct net *n, struct link *l, const char *reason)
{
	uint32_t suppressed = 0;
	char sid[IDENTITY_FPR_LEN + 1];

	net_reason_count(n->metrics.message_refusals, reason);
	if (!log_ratelimit_allow(&n->ex->rl, uv_now(n->loop), &suppressed))
		return;
	link_short_id(l->peer_pk, sid);
	log_warn("message_refused", "peer=%s reason=%s suppressed=%u", sid, reason, suppressed);
}

/* A duplicate: answer with the stored receipt (none yet: its commit is in flight). */
static bool exchange_duplicate(struct net *n, struct link *l, const struct message_opened *o,
			       const uint8_t key[32])
{
	struct store_msg m;

	if (exchange_pending_has(n->ex, key))
		return true;
	memset(&m, 0, sizeof(m));
	if (store_msg_get_by_id(n->store, o->meta.author, o->meta.id, &m) != 0)
		return false;
	if (m.receipt)
		link_send_receipt(l, m.receipt, m.receipt_len);
	store_msg_release(&m);
	return true;
}

static int receive_entry(struct net *n, struct receive_job *rj, const struct message_opened *o)
{
	struct log_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_RECEIVED;
	e.time_ms = (uint64_t)rj->m.stored_ms;
	memcpy(e.peer, rj->link_peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, o->hash, 32);
	memcpy(e.message_id, o->meta.id, 16);
	memcpy(e.author, o->meta.author, 32);
	(void)n;
	return log_entry_encode(&e, &rj->entry, &rj->entry_len);
}

static void receive_fill(struct receive_job *rj, struct message_opened *o, uint8_t *env,
			 size_t len)
{
	struct store_msg *m = &rj->m;

	memcpy(m->hash, o->hash, 32);
	memcpy(m->id, o->meta.id, 16);
	memcpy(m->author, o->meta.author, 32);
	memcpy(m->recipient, o->meta.recipient, 32);
	memcpy(m->peer, rj->link_peer, 32);
	m->dir = STORE_MSG_IN;
	m->kind = (int)o->meta.kind;
	m->state = STORE_MSG_RECEIVED;
	m->created_ms = (int64_t)o->meta.created_ms;
	m->expires_ms = (int64_t)o->meta.expires_ms;
	m->stored_ms = (int64_t)net_wall_ms();
	m->has_thread = true;
	memcpy(m->thread, o->meta.has_thread ? o->meta.thread : o->meta.id, 16);
	m->has_reply_to = o->meta.has_reply_to;
	memcpy(m->reply_to, o->meta.reply_to, 32);
	message_body_title(o->body, o->body_len, m->title, sizeof(m->title));
	m->envelope = env;
	m->envelope_len = len;
	m->signed_msg = o->signed_msg; /* ownership moves to the job */
	m->signed_len = o->signed_len;
	o->signed_msg = NULL;
}

/* A sender that is not a partner may only answer a proposal this node authored and that a
 * partner forwarded to it (the answer comes back through that partner). */
static bool exchange_stranger_ok(struct net *n, const struct message_opened *o)
{
	struct store_msg root;
	bool ok;

	if (!o->meta.has_thread)
		return false;
	memset(&root, 0, sizeof(root));
	if (store_msg_get_by_id(n->store, n->self->pk, o->meta.thread, &root) != 0)
		return false;
	ok = root.dir == STORE_MSG_OUT && root.kind == MESSAGE_KIND_PROPOSAL;
	store_msg_release(&root);
	return ok;
}

/* Checks what the body says beyond its header: forwarded originals (both signatures, consent,
 * hop limit). Returns a refusal reason or NULL. */
static const char *exchange_body_check(const struct message_opened *o)
{
	struct body_facts f;
	int r = body_facts_read(o->body, o->body_len, &o->meta, &f);

	if (r == ERR_DENIED)
		return "forward_without_consent";
	if (r == ERR_CRYPTO)
		return "bad_original_signature";
	return r != 0 ? "malformed_body" : NULL;
}

static void exchange_submit_receive(struct net *n, struct link *l, struct receive_job *rj,
				    const uint8_t key[32])
{
	rj->net = n;
	memcpy(rj->link_peer, l->peer_pk, 32);
	memcpy(rj->pending_key, key, 32);
	memcpy(n->ex->pending[n->ex->n_pending++], key, 32);
	rj->job.run = receive_run;
	rj->job.after = receive_after;
	rj->job.done = receive_done;
	commit_submit(n->commit, &rj->job);
}

static int relay_entry(struct receive_job *rj)
{
	struct log_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_RECEIVED;
	e.time_ms = (uint64_t)rj->m.stored_ms;
	memcpy(e.peer, rj->link_peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, rj->m.hash, 32);
	memcpy(e.message_id, rj->m.id, 16);
	memcpy(e.author, rj->m.author, 32);
	return log_entry_encode(&e, &rj->entry, &rj->entry_len);
}

/* A sealed message for someone else: relayed only from a partner this node forwarded a
 * proposal to, back to that proposal's author. Committed, receipted and queued like any. */
static void exchange_relay(struct net *n, struct link *l, uint8_t *env, size_t len,
			   const uint8_t from[32], const uint8_t to[32], const uint8_t id[16])
{
	struct receive_job *rj;
	struct store_msg dup;
	uint8_t key[32];

	if (memcmp(from, l->peer_pk, 32) != 0 || !net_peer_by_pk(n, to) ||
	    !exchange_relay_allowed(n->ex, to, from)) {
		exchange_drop(n, l, "relay_not_allowed");
		free(env);
		return;
	}
	exchange_pending_key(from, id, key);
	memset(&dup, 0, sizeof(dup));
	if (exchange_pending_has(n->ex, key) || store_msg_get_by_id(n->store, from, id, &dup) == 0) {
		if (dup.receipt)
			link_send_receipt(l, dup.receipt, dup.receipt_len);
		store_msg_release(&dup);
		free(env);
		return;
	}
	if (n->ex->n_pending >= EXCHANGE_INFLIGHT_IN || !(rj = calloc(1, sizeof(*rj)))) {
		free(env);
		return;
	}
	crypto_hash_sha256(rj->m.hash, env, len);
	memcpy(rj->m.id, id, 16);
	memcpy(rj->m.author, from, 32);
	memcpy(rj->m.recipient, to, 32);
	memcpy(rj->m.peer, to, 32);
	rj->m.dir = STORE_MSG_RELAY;
	rj->m.state = STORE_MSG_QUEUED;
	rj->m.stored_ms = (int64_t)net_wall_ms();
	rj->m.envelope = env;
	rj->m.envelope_len = len;
	memcpy(rj->link_peer, l->peer_pk, 32);
	if (relay_entry(rj) != 0) {
		free(env);
		free(rj);
		return;
	}
	exchange_submit_receive(n, l, rj, key);
}

void exchange_on_envelope(struct net *n, struct link *l, uint8_t *env, size_t len)
{
	struct message_opened o;
	struct receive_job *rj = NULL;
	uint8_t from[32], to[32], id[16], key[32];
	const uint8_t *box;
	const char *why;
	int r;

	memset(&o, 0, sizeof(o));
	if (message_envelope_peek(env, len, from, to, id, NULL) != 0) {
		exchange_drop(n, l, "bad_envelope");
		goto out;
	}
	if (memcmp(to, n->self->pk, 32) != 0) {
		exchange_relay(n, l, env, len, from, to, id);
		return;
	}
	if (exchange_key_for(n, from, &box) != 0) {
		exchange_drop(n, l, "bad_author_key");
		goto out;
	}
	if ((r = message_open(n->self, box, env, len, &o)) != 0) {
		exchange_drop(n, l, r == ERR_DENIED ? "wrong_recipient" : r == ERR_CRYPTO ? "bad_signature" : "malformed");
		goto out;
	}
	if (!net_peer_by_pk(n, from) && !exchange_stranger_ok(n, &o)) {
		exchange_drop(n, l, "unknown_author");
		goto out;
	}
	if (o.meta.expires_ms && o.meta.expires_ms <= net_wall_ms()) {
		exchange_drop(n, l, "expired");
		goto out;
	}
	if ((why = exchange_body_check(&o)) != NULL) {
		exchange_drop(n, l, why);
		goto out;
	}
	exchange_pending_key(o.meta.author, o.meta.id, key);
	if (exchange_duplicate(n, l, &o, key))
		goto out;
	if (n->ex->n_pending >= EXCHANGE_INFLIGHT_IN || !(rj = calloc(1, sizeof(*rj))))
		goto out; /* overloaded: no receipt, so the sender will resend */
	memcpy(rj->link_peer, l->peer_pk, 32);
	receive_fill(rj, &o, env, len);
	env = NULL;
	if (receive_entry(n, rj, &o) != 0) {
		free(rj->m.envelope);
		free(rj->m.signed_msg);
		free(rj);
		goto out;
	}
	exchange_submit_receive(n, l, rj, key);
out:
	message_opened_free(&o);
	free(env);
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

/* ------------------------------------------------------------------ receipts */

struct receipt_job {
	struct commit_job job;
	struct net *net;
	uint8_t peer[32];
	uint8_t hash[32];
	uint8_t *data;
	size_t len;
	uint8_t *entry;
	size_t entry_len;
};

static int receipt_run(struct store *w, struct commit_job *job)
{
	struct receipt_job *rj = (struct receipt_job *)job;
	struct store_msg m;
	uint64_t index;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_msg_get(w, rj->hash, &m)) != 0)
		return r;
	r = m.state == STORE_MSG_DELIVERED || m.state == STORE_MSG_ANSWERED ? 1 : 0;
	store_msg_release(&m);
	if (r == 1) { /* a late duplicate receipt: only make sure the outbox entry is gone */
		r = store_outbox_remove(w, rj->hash);
		return r == ERR_NOTFOUND ? 0 : r;
	}
	if ((r = store_log_append(w, rj->entry, rj->entry_len, &index)) != 0 ||
	    (r = store_msg_set_receipt(w, rj->hash, rj->data, rj->len)) != 0 ||
	    (r = store_msg_set_state(w, rj->hash, STORE_MSG_DELIVERED)) != 0)
		return r;
	r = store_outbox_remove(w, rj->hash);
	return r == ERR_NOTFOUND ? 0 : r;
}

static void receipt_done(struct commit_job *job)
{
	struct receipt_job *rj = (struct receipt_job *)job;
	struct net *n = rj->net;
	struct peer *p = net_peer_by_pk(n, rj->peer);
	struct exchange_peer *xp = p ? p->xp : NULL;

	if (job->err == 0)
		n->metrics.receipts_received++;
	if (xp) {
		/* Slide the window past every receipted entry at its head. */
		for (size_t i = 0; i < xp->count; i++) {
			struct exchange_inflight *s = &xp->win[(xp->head + i) % EXCHANGE_WINDOW];
			if (memcmp(s->hash, rj->hash, 32) == 0 && job->err == 0)
				s->receipted = true;
		}
		while (xp->count > 0 && xp->win[xp->head].receipted) {
			xp->head = (xp->head + 1) % EXCHANGE_WINDOW;
			xp->count--;
		}
		exchange_pump(n, p);
	}
	free(rj->data);
	free(rj->entry);
	free(rj);
}

/* Verifies a receipt; one signature check per distinct tree head of the partner. */
static int exchange_receipt_check(struct net *n, struct peer *p, const struct receipt *rc)
{
	struct exchange_peer *xp = exchange_peer_get(p);
	struct receipt copy = *rc;
	int r;

	(void)n;
	if (xp && xp->head_size == rc->head.size && memcmp(xp->head_root, rc->head.root, 32) == 0 &&
	    memcmp(xp->head_sig, rc->head.signature, 64) == 0) {
		uint8_t leaf[32];
		struct log_entry e;
		if ((r = log_entry_decode(rc->entry, rc->entry_len, &e)) != 0)
			return r;
		r = e.type == LOG_ENTRY_RECEIVED && memcmp(e.envelope_hash, rc->envelope_hash, 32) == 0
			    ? 0 : ERR_PROTO;
		log_entry_release(&e);
		if (r != 0)
			return r;
		merkle_leaf_hash(rc->entry, rc->entry_len, leaf);
		return merkle_verify_inclusion(rc->log_index, rc->head.size, leaf,
					       (const uint8_t (*)[32])rc->proof, rc->n_proof,
					       rc->head.root);
	}
	if ((r = receipt_verify(&copy, p->pk, rc->envelope_hash)) != 0)
		return r;
	if (xp) {
		xp->head_size = rc->head.size;
		memcpy(xp->head_root, rc->head.root, 32);
		memcpy(xp->head_sig, rc->head.signature, 64);
	}
	return 0;
}

static int receipt_entry(struct net *n, struct receipt_job *rj, const uint8_t *data, size_t len)
{
	struct log_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_RECEIPT;
	e.time_ms = net_wall_ms();
	memcpy(e.peer, rj->peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, rj->hash, 32);
	memcpy(e.author, n->self->pk, 32);
	e.receipt = data;
	e.receipt_len = len;
	return log_entry_encode(&e, &rj->entry, &rj->entry_len);
}

void exchange_on_receipt(struct net *n, struct link *l, const uint8_t *data, size_t len)
{
	struct receipt rc;
	struct receipt_job *rj;
	struct peer *p = l->peer;

	if (!p || receipt_decode(data, len, &rc) != 0) {
		exchange_drop(n, l, "bad_receipt");
		return;
	}
	if (exchange_receipt_check(n, p, &rc) != 0) {
		exchange_drop(n, l, "receipt_not_verified");
		receipt_release(&rc);
		return;
	}
	if (!(rj = calloc(1, sizeof(*rj))) || !(rj->data = malloc(len))) {
		free(rj);
		receipt_release(&rc);
		return;
	}
	witness_on_head(n, p, &rc.head, true); /* its signature was checked with the receipt */
	rj->net = n;
	memcpy(rj->peer, p->pk, 32);
	memcpy(rj->hash, rc.envelope_hash, 32);
	memcpy(rj->data, data, len);
	rj->len = len;
	receipt_release(&rc);
	if (receipt_entry(n, rj, data, len) != 0) {
		free(rj->data);
		free(rj);
		return;
	}
	rj->job.run = receipt_run;
	rj->job.done = receipt_done;
	commit_submit(n->commit, &rj->job);
}
