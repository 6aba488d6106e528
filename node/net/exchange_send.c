/* The exchange, sending side: the outbox window, queueing new messages, receipts in. */

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

/* ------------------------------------------------------------------ sending */


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

/* A message that left and has no receipt after EXCHANGE_SENT_MARK_MS: "sent". Only a
 * display state: nothing depends on it, so a crash before it is written loses nothing, and
 * the many messages receipted sooner are never written for it. */
struct sent_job {
	struct commit_job job;
	size_t n;
	uint8_t hashes[EXCHANGE_WINDOW][32];
};

static int sent_run(struct store *w, struct commit_job *job)
{
	struct sent_job *j = (struct sent_job *)job;

	for (size_t i = 0; i < j->n; i++) {
		int r = store_msg_set_state_from(w, j->hashes[i], STORE_MSG_QUEUED, STORE_MSG_SENT);
		if (r != 0 && r != ERR_NOTFOUND) /* gone, or already past "queued": fine */
			return r;
	}
	return 0;
}

static void exchange_mark_sent(struct net *n, struct exchange_peer *xp, uint64_t now)
{
	struct sent_job *j = NULL;

	for (size_t i = 0; i < xp->count; i++) {
		struct exchange_inflight *s = &xp->win[(xp->head + i) % EXCHANGE_WINDOW];
		if (!s->mark_sent || s->receipted || now - s->sent_ms < EXCHANGE_SENT_MARK_MS)
			continue;
		if (!j && !(j = calloc(1, sizeof(*j))))
			return;
		memcpy(j->hashes[j->n++], s->hash, 32);
		s->mark_sent = false;
	}
	if (!j)
		return;
	j->job.run = sent_run;
	j->job.done = expire_done;
	j->job.lazy = true; /* a display state: it need not cost a commit of its own */
	commit_submit(n->commit, &j->job);
}

void exchange_fresh_clear(struct exchange *ex, struct exchange_peer *xp)
{
	struct exchange_fresh *f, *next;

	for (f = xp->fresh; f; f = next) {
		next = f->next;
		ex->fresh_bytes -= f->len;
		free(f);
	}
	xp->fresh = NULL;
	xp->fresh_tail = &xp->fresh;
	xp->n_fresh = 0;
	xp->fresh_exact = false;
}

/* Keeps the envelope of a message just queued for p (outbox entry seq), if there is room;
 * if there is not, the pump reads the store again for what comes after. */
static void exchange_fresh_add(struct exchange *ex, struct exchange_peer *xp, uint64_t seq,
			       const struct store_msg *m)
{
	struct exchange_fresh *f;

	if (!xp->fresh_tail)
		xp->fresh_tail = &xp->fresh;
	if (xp->fresh_exact && seq <= xp->cursor)
		return; /* a scan found and sent it before this: not fresh */
	if (xp->n_fresh >= EXCHANGE_FRESH_MAX ||
	    m->envelope_len > EXCHANGE_FRESH_BYTES_MAX - ex->fresh_bytes ||
	    !(f = malloc(sizeof(*f) + m->envelope_len))) {
		xp->fresh_exact = false;
		return;
	}
	f->next = NULL;
	f->seq = seq;
	memcpy(f->hash, m->hash, 32);
	f->expires_ms = m->expires_ms;
	f->len = m->envelope_len;
	memcpy(f->env, m->envelope, m->envelope_len);
	*xp->fresh_tail = f;
	xp->fresh_tail = &f->next;
	xp->n_fresh++;
	ex->fresh_bytes += f->len;
}

/* Unlinks the oldest fresh envelope (the caller frees it). */
static struct exchange_fresh *exchange_fresh_pop(struct exchange *ex, struct exchange_peer *xp)
{
	struct exchange_fresh *f = xp->fresh;

	if (!f)
		return NULL;
	xp->fresh = f->next;
	if (!xp->fresh)
		xp->fresh_tail = &xp->fresh;
	xp->n_fresh--;
	ex->fresh_bytes -= f->len;
	return f;
}

/* The fresh envelope of outbox entry seq (the caller frees it), dropping older ones (sent,
 * expired or removed meanwhile); NULL if it is not kept. */
static struct exchange_fresh *exchange_fresh_take(struct exchange *ex, struct exchange_peer *xp,
						  uint64_t seq)
{
	struct exchange_fresh *f;

	while (xp->fresh && xp->fresh->seq <= seq) {
		f = exchange_fresh_pop(ex, xp);
		if (f->seq == seq)
			return f;
		free(f);
	}
	return NULL;
}

static void exchange_restart(struct peer *p);

/* Puts one envelope (outbox entry seq) on the link; returns 1 if it went into the window, 0
 * if it expired (it leaves the outbox), -1 if it could not be sent (the window starts over). */
static int exchange_send_env(struct net *n, struct peer *p, uint64_t seq, const uint8_t hash[32],
			     const uint8_t *env, size_t len, int64_t expires_ms, bool queued)
{
	struct exchange_peer *xp = p->xp;
	struct exchange_inflight *slot;

	/* The window is made with the first message, so an idle link holds none. */
	if (!xp->win && !(xp->win = calloc(EXCHANGE_WINDOW, sizeof(*xp->win))))
		return -1;
	if (expires_ms && (uint64_t)expires_ms <= net_wall_ms()) {
		exchange_expire(n, hash);
		return 0;
	}
	failpoint("send.before");
	if (link_send_envelope(p->link, env, len) != 0)
		return -1;
	failpoint("send.after");
	slot = &xp->win[(xp->head + xp->count) % EXCHANGE_WINDOW];
	slot->seq = seq;
	memcpy(slot->hash, hash, 32);
	slot->sent_ms = ex_now(n);
	slot->receipted = false;
	slot->mark_sent = queued;
	xp->count++;
	return 1;
}

/* Sends one outbox entry found by a scan, from memory if it is fresh; as exchange_send_env. */
static int exchange_send_one(struct net *n, struct peer *p, uint64_t seq, const uint8_t hash[32])
{
	struct exchange_fresh *f = exchange_fresh_take(n->ex, p->xp, seq);
	struct store_msg m;
	int r;

	if (f && memcmp(f->hash, hash, 32) == 0) { /* never sent yet, so still "queued" */
		r = exchange_send_env(n, p, seq, hash, f->env, f->len, f->expires_ms, true);
		free(f);
		return r;
	}
	free(f);
	memset(&m, 0, sizeof(m));
	if (store_msg_get(n->store, hash, &m) != 0)
		return 0; /* unreadable (logged): skipped until the window starts over, as before */
	r = exchange_send_env(n, p, seq, hash, m.envelope, m.envelope_len, m.expires_ms,
			      m.state == STORE_MSG_QUEUED);
	store_msg_release(&m);
	return r;
}

/* The pump when fresh holds everything after the cursor: no store read. */
static void exchange_pump_fresh(struct net *n, struct peer *p)
{
	struct exchange_peer *xp = p->xp;
	struct exchange_fresh *f;

	while (xp->count < EXCHANGE_WINDOW && p->link && p->link->state == LINK_UP &&
	       (f = exchange_fresh_pop(n->ex, xp))) {
		int r = 0;
		/* One a scan sent before its queue_done() added it: sent already. */
		if (f->seq > xp->cursor) {
			xp->cursor = f->seq;
			r = exchange_send_env(n, p, f->seq, f->hash, f->env, f->len, f->expires_ms,
					      true);
		}
		free(f);
		if (r < 0) { /* not sent, and the cursor is past it: start over from the store */
			exchange_restart(p);
			return;
		}
	}
}

static void exchange_pump_now(struct net *n, struct peer *p)
{
	struct exchange_peer *xp = p->xp;
	struct exchange_scan *sc;
	size_t want;

	if (!xp || !p->link || p->link->state != LINK_UP || xp->pumping)
		return;
	if (xp->count >= EXCHANGE_WINDOW)
		return;
	xp->pumping = true;
	if (xp->fresh_exact) {
		exchange_pump_fresh(n, p);
		xp->pumping = false;
		return;
	}
	if (!(sc = malloc(sizeof(*sc)))) {
		xp->pumping = false;
		return;
	}
	sc->n = 0;
	want = EXCHANGE_WINDOW - xp->count;
	if (store_outbox_scan(n->store, p->pk, xp->cursor, want, exchange_scan_one, sc) == 0) {
		for (size_t i = 0; i < sc->n && p->link && p->link->state == LINK_UP; i++) {
			xp->cursor = sc->seqs[i];
			if (exchange_send_one(n, p, sc->seqs[i], sc->hashes[i]) < 0) {
				exchange_restart(p); /* the cursor is past one not sent */
				free(sc);
				xp->pumping = false;
				return;
			}
		}
		/* The store has nothing after the cursor: whatever is queued from now on
		 * reaches fresh (queue_done) before any pump, so fresh is exact. */
		if (sc->n < want && p->link && p->link->state == LINK_UP) {
			free(exchange_fresh_take(n->ex, xp, xp->cursor));
			xp->fresh_exact = true;
		}
	}
	free(sc);
	xp->pumping = false;
}

void exchange_run_pumps(struct net *n)
{
	struct peer *p = n->ex->pump_list, *next;
	bool reading;

	n->ex->pump_list = NULL;
	/* One read transaction for all of them: a scan and the envelopes it names (a backlog
	 * after a link comes back) take the store's locks once. */
	reading = p && store_read_begin(n->store) == 0;
	for (; p; p = next) {
		next = p->xp->pump_next;
		p->xp->pump_queued = false;
		p->xp->pump_next = NULL;
		if (!n->stopping)
			exchange_pump_now(n, p);
	}
	if (reading)
		store_read_end(n->store);
}

void exchange_pump(struct net *n, struct peer *p)
{
	struct exchange_peer *xp = exchange_peer_get(p);

	if (!xp || xp->pump_queued || n->stopping)
		return;
	if (n->turn_end.data != n) { /* no loop handle (not started): at once */
		exchange_pump_now(n, p);
		return;
	}
	xp->pump_queued = true;
	xp->pump_next = n->ex->pump_list;
	n->ex->pump_list = p;
	net_turn_end_soon(n);
}

void exchange_pump_forget(struct net *n, struct peer *p)
{
	struct peer **pp = &n->ex->pump_list;

	if (!p->xp || !p->xp->pump_queued)
		return;
	while (*pp && *pp != p)
		pp = &(*pp)->xp->pump_next;
	if (*pp)
		*pp = p->xp->pump_next;
	p->xp->pump_queued = false;
	p->xp->pump_next = NULL;
}

/* Forgets the window: the next pump starts over from the oldest outbox entry. */
static void exchange_restart(struct peer *p)
{
	if (!p->xp)
		return;
	p->xp->head = p->xp->count = 0;
	p->xp->cursor = 0;
	p->xp->fresh_exact = false;
}

void exchange_peer_up(struct net *n, struct peer *p)
{
	exchange_restart(p);
	exchange_pump(n, p);
}

void exchange_peer_down(struct net *n, struct peer *p)
{
	exchange_restart(p);
	if (p->xp) /* the store has them: the link's return rescans it */
		exchange_fresh_clear(n->ex, p->xp);
}

void exchange_tick(struct net *n, uint64_t now)
{
	for (struct peer *p = n->peers; p; p = p->next) {
		struct exchange_peer *xp = p->xp;
		if (!p->link || p->link->state != LINK_UP)
			continue;
		if (xp)
			exchange_mark_sent(n, xp, now);
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
	const struct identity *self;
	uint8_t key[32];                /* the box key with the recipient (wiped in done) */
	size_t max_bytes;
	uint8_t *body;                  /* the packed Body, sealed by prepare() */
	size_t body_len;
	uint8_t *entry;
	size_t entry_len;
	uint64_t seq;                   /* its outbox entry */
};

static int queue_entry(struct queue_job *q)
{
	struct log_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LOG_ENTRY_SENT;
	e.time_ms = net_wall_ms();
	memcpy(e.peer, q->peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, q->m.hash, 32);
	memcpy(e.message_id, q->m.id, 16);
	memcpy(e.author, q->self->pk, 32);
	return log_entry_encode(&e, &q->entry, &q->entry_len);
}

/* Worker thread: the signature and the seal, off the loop. */
static int queue_prepare(struct commit_job *job)
{
	struct queue_job *q = (struct queue_job *)job;
	int r;

	if ((r = message_seal(q->self, q->key, q->body, q->body_len, 0, q->max_bytes,
			      &q->m.envelope, &q->m.envelope_len, q->m.hash, &q->m.signed_msg,
			      &q->m.signed_len)) != 0)
		return r;
	return queue_entry(q);
}

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
	return store_outbox_add(w, q->m.hash, q->peer, &q->seq);
}

static void queue_job_free(struct queue_job *q)
{
	sodium_memzero(q->key, sizeof(q->key));
	free(q->wait);
	free(q->body);
	free(q->m.envelope);
	free(q->m.signed_msg);
	free(q->entry);
	free(q);
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
	else if (q->wait->done_msg)
		q->wait->done_msg(q->wait->arg, job->err, &q->m);
	if (job->err == 0 && (p = net_peer_by_pk(n, q->peer))) {
		if (p->xp && p->link && p->link->state == LINK_UP)
			exchange_fresh_add(n->ex, p->xp, q->seq, &q->m);
		exchange_pump(n, p);
	}
	queue_job_free(q);
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

/* outbox_per_partner: counting the outbox for every message would cost a scan each, so the
 * count is read once and then only grows with what is queued here (and relayed), an upper
 * bound; only when that reaches the limit is it read again. */
static int exchange_outbox_room(struct net *n, struct peer *p)
{
	struct exchange_peer *xp = exchange_peer_get(p);
	uint64_t limit = n->cfg.outbox_per_partner, queued = 0;

	if (!limit)
		return 0;
	if (!xp) { /* out of memory: count every time */
		if (store_outbox_count(n->store, p->pk, &queued) == 0 && queued >= limit)
			return ERR_LIMIT;
		return 0;
	}
	if (!xp->outbox_known || xp->outbox_bound >= limit) {
		if (store_outbox_count(n->store, p->pk, &queued) != 0)
			return 0;
		xp->outbox_bound = queued;
		xp->outbox_known = true;
	}
	if (xp->outbox_bound >= limit)
		return ERR_LIMIT; /* the partner is not taking them: stop, rather than fill the disk */
	xp->outbox_bound++;
	return 0;
}

static int exchange_queue(struct net *n, const uint8_t to[32], const uint8_t via[32],
			  const uint8_t *body, size_t len, const char *title,
			  const struct net_wait *cb, struct net_wait **wait_out)
{
	struct message_meta meta;
	struct queue_job *q = NULL;
	struct peer *p;
	const uint8_t *key;
	int r;

	if (!(p = net_peer_by_pk(n, via)))
		return ERR_NOTFOUND;
	if (len > n->cfg.message_bytes)
		return ERR_TOOBIG;
	if ((r = message_body_meta(body, len, &meta)) != 0)
		return r;
	if (memcmp(meta.recipient, to, 32) != 0 || memcmp(meta.author, n->self->pk, 32) != 0)
		return ERR_INVAL;
	if ((r = exchange_key_for(n, to, &key)) != 0)
		return r;
	if ((r = exchange_outbox_room(n, p)) != 0)
		return r;
	if (!(q = calloc(1, sizeof(*q))) || !(q->wait = calloc(1, sizeof(*q->wait))) ||
	    !(q->body = malloc(len ? len : 1))) {
		if (q)
			queue_job_free(q);
		return ERR_NOMEM;
	}
	memcpy(q->peer, via, 32);
	memcpy(q->key, key, 32);
	memcpy(q->body, body, len);
	q->body_len = len;
	q->self = n->self;
	q->max_bytes = n->cfg.message_bytes;
	queue_fill(q, &meta, title);
	q->net = n;
	*q->wait = *cb;
	q->job.prepare = queue_prepare;
	q->job.run = queue_run;
	q->job.done = queue_done;
	*wait_out = q->wait;
	commit_submit(n->commit, &q->job);
	return 0;
}

int net_message_queue_via(struct net *n, const uint8_t to[32], const uint8_t via[32],
			  const uint8_t *body, size_t len, const char *title, net_queued_msg_cb done,
			  void *arg, struct net_wait **wait_out)
{
	struct net_wait cb = {.done_msg = done, .arg = arg};

	return exchange_queue(n, to, via, body, len, title, &cb, wait_out);
}

int net_message_queue(struct net *n, const uint8_t to[32], const uint8_t *body, size_t len,
		      const char *title, net_queued_cb done, void *arg, struct net_wait **wait_out)
{
	struct net_wait cb = {.done = done, .arg = arg};

	return exchange_queue(n, to, to, body, len, title, &cb, wait_out);
}

void net_wait_abandon(struct net_wait *w)
{
	if (w) {
		w->done = NULL;
		w->done_msg = NULL;
	}
}

void net_attach_commit(struct net *n, struct commit *c)
{
	n->commit = c;
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
	if ((r = store_msg_get_meta(w, rj->hash, &m)) != 0)
		return r;
	if (m.dir == STORE_MSG_IN || memcmp(m.peer, rj->peer, 32) != 0)
		return ERR_DENIED;
	if (m.state == STORE_MSG_DELIVERED || m.state == STORE_MSG_ANSWERED) {
		/* a late duplicate receipt: only make sure the outbox entry is gone */
		r = store_outbox_remove(w, rj->hash);
		return r == ERR_NOTFOUND ? 0 : r;
	}
	if ((r = store_log_append(w, rj->entry, rj->entry_len, &index)) != 0 ||
	    (r = store_msg_set_delivered(w, rj->hash, rj->data, rj->len)) != 0)
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
	if (job->err == 0 && n->receipt_hook)
		n->receipt_hook(n->receipt_hook_arg, rj->hash);
	if (xp) {
		/* Slide the window past every receipted entry at its head. */
		for (size_t i = 0; i < xp->count && job->err == 0; i++) {
			struct exchange_inflight *s = &xp->win[(xp->head + i) % EXCHANGE_WINDOW];
			if (memcmp(s->hash, rj->hash, 32) == 0)
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

/* Whether hash is in p's window: sent to p on this link from its outbox. */
static bool exchange_in_window(const struct peer *p, const uint8_t hash[32])
{
	const struct exchange_peer *xp = p->xp;

	for (size_t i = 0; xp && i < xp->count; i++)
		if (memcmp(xp->win[(xp->head + i) % EXCHANGE_WINDOW].hash, hash, 32) == 0)
			return true;
	return false;
}

/* A receipt counts only from the partner the message went to, for a message this node sent
 * or relays, and only if the receiver logged it as coming from this node. */
static bool exchange_receipt_ours(struct net *n, struct peer *p, const struct receipt *rc)
{
	struct store_msg m;
	struct log_entry e;
	bool ok;

	if (log_entry_decode(rc->entry, rc->entry_len, &e) != 0)
		return false;
	ok = memcmp(e.peer, n->self->pk, 32) == 0;
	log_entry_release(&e);
	if (!ok)
		return false;
	if (exchange_in_window(p, rc->envelope_hash))
		return true; /* only outbox entries for p are sent to p: ours, to p */
	memset(&m, 0, sizeof(m));
	if (store_msg_get_meta(n->store, rc->envelope_hash, &m) != 0)
		return false;
	return m.dir != STORE_MSG_IN && memcmp(m.peer, p->pk, 32) == 0;
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
	if (!exchange_receipt_ours(n, p, &rc)) {
		exchange_drop(n, l, "receipt_wrong_peer");
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

