/* The exchange, receiving side: open, verify, de-duplicate, commit, receipt; relays. */

#include "crypto/merkle.h"
#include "crypto/sha256.h"
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
	/* Opened by prepare() on the worker (receive_prepare), else on the loop: */
	const struct identity *self;
	uint8_t box_key[32];            /* with the author (wiped in done) */
	uint8_t *env;                   /* the envelope until it is opened */
	size_t env_len;
	const char *why;                /* why prepare() refused it (a drop reason) */
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
	uint32_t suppressed = 0;
	struct net *n = rj->net;
	struct peer *p = net_peer_by_pk(n, rj->link_peer);

	exchange_pending_del(n->ex, rj->pending_key);
	failpoint("receipt.before_send");
	if (job->err == 0 && p && p->link && p->link->state == LINK_UP)
		link_send_receipt(p->link, rj->receipt, rj->receipt_len);
	else if (job->unprepared && rj->why)
		exchange_drop_peer(n, rj->link_peer, rj->why);
	else if (job->err != 0 && log_ratelimit_allow(&n->ex->rl, uv_now(n->loop), &suppressed))
		log_warn("receive_failed", "error=\"%s\" suppressed=%u", err_str(job->err), suppressed);
	if (job->err == 0 && rj->m.dir == STORE_MSG_RELAY)
		n->metrics.messages_relayed++;
	else if (job->err == 0)
		n->metrics.messages_received++;
	if (job->err == 0 && rj->m.dir == STORE_MSG_IN && n->msg_hook)
		n->msg_hook(n->msg_hook_arg, &rj->m);
	if (job->err == 0 && rj->m.dir == STORE_MSG_RELAY && (p = net_peer_by_pk(n, rj->m.peer))) {
		if (p->xp) {
			p->xp->fresh_exact = false; /* its outbox entry is in the store only */
			p->xp->outbox_bound++;
		}
		exchange_pump(n, p);
	}
	sodium_memzero(rj->box_key, sizeof(rj->box_key));
	free(rj->env);
	free(rj->m.envelope);
	free(rj->m.signed_msg);
	free(rj->entry);
	free(rj->receipt);
	free(rj);
}

void exchange_drop_peer(struct net *n, const uint8_t peer_pk[32], const char *reason)
{
	uint32_t suppressed = 0;
	char sid[IDENTITY_FPR_LEN + 1];

	net_reason_count(n->metrics.message_refusals, reason);
	if (!log_ratelimit_allow(&n->ex->rl, uv_now(n->loop), &suppressed))
		return;
	link_short_id(peer_pk, sid);
	log_warn("message_refused", "peer=%s reason=%s suppressed=%u", sid, reason, suppressed);
}

void exchange_drop(struct net *n, struct link *l, const char *reason)
{
	exchange_drop_peer(n, l->peer_pk, reason);
}

/* The loop's lookup by (author, id), in the read callback's snapshot (net_read_snapshot). */
static int exchange_stored(struct net *n, const uint8_t author[32], const uint8_t id[16],
			   struct store_msg *m)
{
	net_read_snapshot(n);
	return store_msg_get_by_id(n->store, author, id, m);
}

/* A duplicate: answer with the stored receipt (none yet: its commit is in flight). */
static bool exchange_duplicate(struct net *n, struct link *l, const struct message_opened *o,
			       const uint8_t key[32])
{
	struct store_msg m;

	if (exchange_pending_has(n->ex, key))
		return true;
	memset(&m, 0, sizeof(m));
	if (exchange_stored(n, o->meta.author, o->meta.id, &m) != 0)
		return false;
	if (m.receipt)
		link_send_receipt(l, m.receipt, m.receipt_len);
	store_msg_release(&m);
	return true;
}

static int receive_entry(struct receive_job *rj, const struct message_opened *o)
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
	if (exchange_stored(n, n->self->pk, o->meta.thread, &root) != 0)
		return false;
	ok = root.dir == STORE_MSG_OUT && root.kind == MESSAGE_KIND_PROPOSAL;
	store_msg_release(&root);
	return ok;
}

/* Checks what the body says beyond its header: forwarding chains (every signature, consent,
 * hop limit), and that a forward did not come round to a node it already passed through.
 * Returns a refusal reason or NULL. */
static const char *exchange_body_check(const uint8_t self[32], const struct message_opened *o)
{
	struct body_facts f;
	int r = body_facts_read(o->body, o->body_len, &o->meta, &f);

	if (r == ERR_DENIED)
		return "forward_without_consent";
	if (r == ERR_LIMIT)
		return "hop_limit_exceeded";
	if (r == ERR_CRYPTO)
		return "bad_original_signature";
	if (r != 0)
		return "malformed_body";
	if (o->meta.kind != MESSAGE_KIND_FORWARDED)
		return NULL;
	/* A forward stays in the original's thread (answers and de-duplication go by it) and
	 * never outlives it. */
	if (!o->meta.has_thread || memcmp(o->meta.thread, f.original_thread, 16) != 0)
		return "forward_wrong_thread";
	if (f.original_expires_ms && (!o->meta.expires_ms || o->meta.expires_ms > f.original_expires_ms))
		return "forward_outlives_original";
	for (size_t i = 0; i < f.n_path; i++)
		if (!memcmp(f.path[i], self, 32))
			return "forward_loop";
	return NULL;
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
 * proposal to, and only towards that proposal's author: on to the partner this node had the
 * proposal from (its author, or the forwarder before). Its author may be further away still
 * (the answer of a node two hops on). Committed, receipted and queued like any. */
static void exchange_relay(struct net *n, struct link *l, uint8_t *env, size_t len,
			   const uint8_t from[32], const uint8_t to[32], const uint8_t id[16])
{
	struct receive_job *rj;
	struct store_msg dup;
	const uint8_t *back = exchange_relay_back(n->ex, to, l->peer_pk);
	uint8_t key[32];

	if (!back || !net_peer_by_pk(n, back)) {
		exchange_drop(n, l, "relay_not_allowed");
		free(env);
		return;
	}
	exchange_pending_key(from, id, key);
	memset(&dup, 0, sizeof(dup));
	if (exchange_pending_has(n->ex, key) || exchange_stored(n, from, id, &dup) == 0) {
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
	sha256(rj->m.hash, env, len);
	memcpy(rj->m.id, id, 16);
	memcpy(rj->m.author, from, 32);
	memcpy(rj->m.recipient, to, 32);
	memcpy(rj->m.peer, back, 32);
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

/* Worker thread: opens and checks what a partner sent (the signature check is the costly
 * part), as exchange_receive_now does on the loop. */
static int receive_prepare(struct commit_job *job)
{
	struct receive_job *rj = (struct receive_job *)job;
	struct message_opened o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = message_open(rj->self, rj->box_key, rj->env, rj->env_len, &o)) != 0) {
		rj->why = r == ERR_DENIED ? "wrong_recipient" : r == ERR_CRYPTO ? "bad_signature" : "malformed";
		goto out;
	}
	r = ERR_PROTO;
	if (o.meta.expires_ms && o.meta.expires_ms <= net_wall_ms()) {
		rj->why = "expired";
		goto out;
	}
	if ((rj->why = exchange_body_check(rj->self->pk, &o)) != NULL)
		goto out;
	receive_fill(rj, &o, rj->env, rj->env_len);
	rj->env = NULL;
	r = receive_entry(rj, &o);
out:
	message_opened_free(&o);
	return r;
}

/* A partner's message: de-duplicated here by the envelope's (from, id), which opening checks
 * against what was signed; opened and verified on the worker, committed in arrival order.
 * Returns 0 if it took env, 1 if it must be opened here (a copy that differs from the one
 * stored under that (from, id): its signature decides). */
static int exchange_receive_queue(struct net *n, struct link *l, uint8_t *env, size_t len,
				  const uint8_t from[32], const uint8_t id[16])
{
	struct receive_job *rj;
	struct store_msg m;
	uint8_t key[32], hash[32];
	const uint8_t *box;
	bool same;

	exchange_pending_key(from, id, key);
	if (exchange_pending_has(n->ex, key)) {
		free(env); /* its commit is in flight: the receipt follows */
		return 0;
	}
	memset(&m, 0, sizeof(m));
	if (exchange_stored(n, from, id, &m) == 0) {
		crypto_hash_sha256(hash, env, len);
		same = memcmp(hash, m.hash, 32) == 0;
		if (same && m.receipt) /* the very bytes committed before: answer again */
			link_send_receipt(l, m.receipt, m.receipt_len);
		store_msg_release(&m);
		if (same)
			free(env);
		return same ? 0 : 1;
	}
	if (exchange_key_for(n, from, &box) != 0)
		return 1;
	if (n->ex->n_pending >= EXCHANGE_INFLIGHT_IN || !(rj = calloc(1, sizeof(*rj)))) {
		free(env); /* overloaded: no receipt, so the sender will resend */
		return 0;
	}
	rj->self = n->self;
	memcpy(rj->box_key, box, 32);
	rj->env = env;
	rj->env_len = len;
	memcpy(rj->link_peer, l->peer_pk, 32);
	rj->job.prepare = receive_prepare;
	exchange_submit_receive(n, l, rj, key);
	return 0;
}

/* Opens, checks and de-duplicates a message on the loop thread: for authors that are not
 * partners (the check needs the store) and re-sealed copies of stored messages. */
static void exchange_receive_now(struct net *n, struct link *l, uint8_t *env, size_t len,
				 const uint8_t from[32])
{
	struct message_opened o;
	struct receive_job *rj = NULL;
	uint8_t key[32];
	const uint8_t *box;
	const char *why;
	int r;

	memset(&o, 0, sizeof(o));
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
	if ((why = exchange_body_check(n->self->pk, &o)) != NULL) {
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
	if (receive_entry(rj, &o) != 0) {
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

void exchange_on_envelope(struct net *n, struct link *l, uint8_t *env, size_t len)
{
	uint8_t from[32], to[32], id[16];

	if (message_envelope_peek(env, len, from, to, id, NULL) != 0) {
		exchange_drop(n, l, "bad_envelope");
		free(env);
		return;
	}
	if (memcmp(to, n->self->pk, 32) != 0) {
		exchange_relay(n, l, env, len, from, to, id);
		return;
	}
	if (net_peer_by_pk(n, from) && exchange_receive_queue(n, l, env, len, from, id) == 0)
		return;
	exchange_receive_now(n, l, env, len, from);
}

