/* Witnessing: every node keeps the latest signed tree head seen from each partner (from
 * Hellos and receipts) and asks for the RFC 9162 consistency proof to any other head that
 * partner shows it. A proof that fails, or that the partner cannot give (its log shrank), is
 * evidence that it rewrote or forked its log: an alarm that persists, with both heads. */
#include "crypto/merkle.h"
#include "lib/err.h"
#include "net/commit.h"
#include "net/net_internal.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct head_job {
	struct commit_job job;
	uint8_t peer[32];
	struct tree_head head;
};

static int head_run(struct store *w, struct commit_job *job)
{
	struct head_job *h = (struct head_job *)job;

	return store_peer_head_put(w, h->peer, &h->head);
}

static void head_done(struct commit_job *job)
{
	free(job);
}

/* Records p's latest verified head, through the commit pipeline (batched with the rest; a lazy
 * job: one per receipt at low load would otherwise cost a commit of its own). */
static void witness_keep(struct net *n, struct peer *p, const struct tree_head *h)
{
	struct head_job *j;

	p->w_latest = *h;
	p->w_have = true;
	if (!n->commit || !(j = calloc(1, sizeof(*j))))
		return;
	memcpy(j->peer, p->pk, 32);
	j->head = *h;
	j->job.run = head_run;
	j->job.done = head_done;
	j->job.lazy = true; /* kept in memory at once; nothing waits for it on disk */
	commit_submit(n->commit, &j->job);
}

static void witness_alarm(struct net *n, struct peer *p, const struct tree_head *offered,
			  const char *reason)
{
	struct store_alarm a;
	char sid[IDENTITY_FPR_LEN + 1];

	memset(&a, 0, sizeof(a));
	memcpy(a.peer, p->pk, 32);
	a.detected_ms = (int64_t)net_wall_ms();
	snprintf(a.reason, sizeof(a.reason), "%s", reason);
	a.seen = p->w_latest;
	a.offered = *offered;
	net_read_snapshot_end(n); /* a write: not inside the receive path's read snapshot */
	store_alarm_add(n->store, &a); /* rare: written at once, on the loop thread */
	p->w_alarmed = true;
	n->metrics.alarms++;
	link_short_id(p->pk, sid);
	log_error("partner_log_inconsistent", "peer=%s name=%s reason=\"%s\" seen_size=%llu offered_size=%llu",
		  sid, p->name, reason, (unsigned long long)p->w_latest.size,
		  (unsigned long long)offered->size);
}

static void witness_load(struct net *n, struct peer *p)
{
	if (p->w_loaded)
		return;
	p->w_loaded = true;
	if (store_peer_head_get(n->store, p->pk, &p->w_latest) == 0)
		p->w_have = true;
}

static void witness_ask(struct net *n, struct peer *p, const struct tree_head *h)
{
	struct link_frame f = {.kind = LINK_FRAME_PROOF_REQUEST};

	(void)n;
	p->w_pending = true;
	p->w_asked = *h;
	f.size1 = h->size < p->w_latest.size ? h->size : p->w_latest.size;
	f.size2 = h->size < p->w_latest.size ? p->w_latest.size : h->size;
	if (!p->link || link_send_frame(p->link, &f) != 0)
		p->w_pending = false;
}

void witness_on_head(struct net *n, struct peer *p, const struct tree_head *h, bool verified)
{
	witness_load(n, p);
	if (p->w_have && h->size == p->w_latest.size) {
		if (memcmp(h->root, p->w_latest.root, 32) != 0 &&
		    (verified || tree_head_verify(p->pk, h) == 0))
			witness_alarm(n, p, h, "two heads of the same size with different roots");
		return;
	}
	if (p->w_pending) {
		if (h->size > p->w_next.size) { /* checked when the current proof is in */
			p->w_next = *h;
			p->w_has_next = true;
		}
		return;
	}
	if (!verified && tree_head_verify(p->pk, h) != 0)
		return; /* not signed by the partner: proves nothing */
	if (!p->w_have) {
		witness_keep(n, p, h); /* the first head seen is taken on trust */
		return;
	}
	witness_ask(n, p, h);
}

void witness_on_request(struct net *n, struct link *l, const struct link_frame *q)
{
	struct link_frame a = {.kind = LINK_FRAME_PROOF_ANSWER, .size1 = q->size1, .size2 = q->size2};
	int r;

	r = store_log_prove_consistency(n->store, q->size1, q->size2, a.proof, &a.n_proof);
	if (r != 0) {
		a.n_proof = 0;
		snprintf(a.detail, sizeof(a.detail), "cannot prove %llu -> %llu: %s",
			 (unsigned long long)q->size1, (unsigned long long)q->size2, err_str(r));
	}
	link_send_frame(l, &a);
}

void witness_on_answer(struct net *n, struct link *l, const struct link_frame *a)
{
	struct peer *p = l->peer;
	const struct tree_head *lo, *hi;
	struct tree_head asked;

	if (!p || !p->w_pending)
		return;
	asked = p->w_asked;
	lo = asked.size < p->w_latest.size ? &asked : &p->w_latest;
	hi = lo == &asked ? &p->w_latest : &asked;
	if (a->size1 != lo->size || a->size2 != hi->size)
		return; /* an answer to another question */
	p->w_pending = false;
	if (a->detail[0] ||
	    merkle_verify_consistency(lo->size, hi->size, lo->root, hi->root,
				      (const uint8_t (*)[32])a->proof, a->n_proof) != 0)
		witness_alarm(n, p, &asked, a->detail[0] ? "the partner cannot prove its earlier head: its log shrank"
						  : "consistency proof failed: the log was rewritten or forked");
	else if (asked.size > p->w_latest.size)
		witness_keep(n, p, &asked);
	if (p->w_has_next) {
		struct tree_head next = p->w_next;
		p->w_has_next = false;
		p->w_next.size = 0;
		witness_on_head(n, p, &next, false);
	}
}
