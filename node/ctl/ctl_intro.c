/* Referrals, introductions and forwarding: the commands, and what arriving answers set off.
 *
 * An introduction lives in one thread whose id is the introduction id: the introducer's two
 * referrals (each subject gets the other's card without addresses), each subject's answer
 * (with its own card, signed, with its address), and, once both accepted, the introducer's
 * two completions passing each subject the other's signed card. Its state is read from that
 * thread, so nothing else is stored. */
#include "crypto/identity.h"
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/failpoint.h"
#include "lib/log.h"
#include "net/net.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/body_info.h"
#include "wire/card.h"
#include "wire/log_entry.h"
#include "wire/message.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct intro_state {
	bool introducer, subject;
	size_t n_sent;
	uint8_t sent_to[2][32];
	bool answered[2], accepted[2];
	struct card answer_card[2];
	bool completed_sent;
	uint8_t introducer_pk[32];
	struct card other;                 /* subject: the card the introducer sent */
	uint8_t referral_hash[32];
	bool my_answer_sent, my_accept, completed_received;
	char note[201];
	uint64_t created_ms;
};

static int intro_read(const struct store_msg *m, struct message_meta *meta, struct body_facts *f,
		      char *note, size_t cap)
{
	const uint8_t *body;
	size_t len;

	if (!m->signed_msg || message_verify_signed(m->signed_msg, m->signed_len, meta, &body, &len) != 0)
		return ERR_PROTO;
	if (note)
		message_body_title(body, len, note, cap);
	return body_facts_read(body, len, meta, f);
}

static void intro_scan_introducer(struct intro_state *st, const struct store_msg *m,
				  const struct body_facts *f)
{
	if (m->dir == STORE_MSG_OUT && m->kind == MESSAGE_KIND_REFERRAL && st->n_sent < 2)
		memcpy(st->sent_to[st->n_sent++], m->recipient, 32);
	else if (m->dir == STORE_MSG_OUT && m->kind == MESSAGE_KIND_REFERRAL_ANSWER)
		st->completed_sent = true;
	else if (m->dir == STORE_MSG_IN && m->kind == MESSAGE_KIND_REFERRAL_ANSWER)
		for (size_t i = 0; i < st->n_sent; i++)
			if (!memcmp(st->sent_to[i], m->author, 32) && f->has_card) {
				st->answered[i] = true;
				st->accepted[i] = f->accept;
				st->answer_card[i] = f->card;
			}
}

static void intro_scan_subject(struct intro_state *st, const struct store_msg *m,
			       const struct body_facts *f)
{
	if (m->dir == STORE_MSG_IN && m->kind == MESSAGE_KIND_REFERRAL && f->has_card) {
		st->subject = true;
		memcpy(st->introducer_pk, m->author, 32);
		st->other = f->card;
		memcpy(st->referral_hash, m->hash, 32);
	} else if (st->subject && m->dir == STORE_MSG_OUT && m->kind == MESSAGE_KIND_REFERRAL_ANSWER) {
		st->my_answer_sent = true;
		st->my_accept = f->accept;
	} else if (st->subject && m->dir == STORE_MSG_IN && m->kind == MESSAGE_KIND_REFERRAL_ANSWER &&
		   !memcmp(m->author, st->introducer_pk, 32)) {
		st->completed_received = true;
	}
}

static int intro_scan_one(void *arg, const struct store_msg *m)
{
	struct intro_state *st = arg;
	struct message_meta meta;
	struct body_facts f;
	char note[201];

	if (intro_read(m, &meta, &f, note, sizeof(note)) != 0)
		return 0;
	if (m->kind == MESSAGE_KIND_REFERRAL && !f.has_card)
		return 0; /* a contact referral, not an introduction */
	if (m->kind == MESSAGE_KIND_REFERRAL) {
		if (!st->note[0])
			snprintf(st->note, sizeof(st->note), "%s", note);
		if (!st->created_ms)
			st->created_ms = (uint64_t)m->created_ms;
		if (m->dir == STORE_MSG_OUT)
			st->introducer = true;
	}
	if (st->introducer)
		intro_scan_introducer(st, m, &f);
	intro_scan_subject(st, m, &f);
	return 0;
}

static int intro_state_read(struct ctl *c, const uint8_t intro[16], struct intro_state *st)
{
	memset(st, 0, sizeof(*st));
	return store_msg_thread(c->deps.store, intro, intro_scan_one, st);
}

static const char *intro_state_str(const struct intro_state *st)
{
	if (st->introducer) {
		if (st->completed_sent)
			return "completed";
		if ((st->answered[0] && !st->accepted[0]) || (st->answered[1] && !st->accepted[1]))
			return "declined";
		return st->accepted[0] && st->accepted[1] ? "accepted" : "pending";
	}
	if (st->completed_received)
		return "completed";
	if (st->my_answer_sent)
		return st->my_accept ? "accepted" : "declined";
	return "pending";
}

/* ------------------------------------------------------------------ queueing without a client */

static void ctl_bg_done(void *arg, int err, const uint8_t hash[32])
{
	(void)arg;
	(void)hash;
	if (err)
		log_warn("introduction_send_failed", "error=\"%s\"", err_str(err));
}

/* Queues a body no client waits for (completions set off by an arriving answer). */
static int ctl_queue_background(struct ctl *c, const uint8_t to[32], Coex__Body *body)
{
	size_t n = coex__body__get_packed_size(body);
	uint8_t *buf = malloc(n);
	struct net_wait *w;
	int r;

	if (!buf)
		return ERR_NOMEM;
	coex__body__pack(body, buf);
	r = net_message_queue(c->deps.net, to, buf, n, "", ctl_bg_done, NULL, &w);
	free(buf);
	return r;
}

static void ctl_card_to_pb(const struct card *cd, Coex__Card *pc, char **addr)
{
	coex__card__init(pc);
	pc->id.data = (uint8_t *)cd->id;
	pc->id.len = 32;
	pc->name = (char *)cd->name;
	*addr = (char *)cd->address;
	pc->addresses = addr;
	pc->n_addresses = cd->address[0] ? 1 : 0;
	pc->time_ms = cd->time_ms;
	if (cd->has_signature) {
		pc->signature.data = (uint8_t *)cd->signature;
		pc->signature.len = 64;
	}
}

/* ------------------------------------------------------------------ refer */

static void ctl_refer_contact(struct ctl_client *c, const struct store_partner *to,
			      const Coex__ReferRequest *req)
{
	struct ctl_body b;
	Coex__Referral ref = COEX__REFERRAL__INIT;

	if (!req->contact->name[0] && !req->contact->email[0]) {
		ctl_client_error(c, ERR_INVAL, "a contact needs a name or an email address");
		return;
	}
	if (!req->contact->consent[0]) {
		ctl_client_error(c, ERR_INVAL, "a contact is shared only with a consent statement (--consent)");
		return;
	}
	ctl_body_init(&b, c->ctl, to->id, 0);
	ref.note = req->note;
	ref.subject_case = COEX__REFERRAL__SUBJECT_CONTACT;
	ref.contact = req->contact;
	b.body.kind_case = COEX__BODY__KIND_REFERRAL;
	b.body.referral = &ref;
	ctl_queue_body_via(c, to->id, to->id, &b.body, req->note);
}

/* Sends subject `to` a card of `other` without its address, in the introduction's thread. */
static int ctl_refer_card(struct ctl_client *c, const struct store_partner *to,
			  const struct store_partner *other, const uint8_t intro[16], const char *note,
			  bool reply)
{
	struct ctl_body b;
	Coex__Referral ref = COEX__REFERRAL__INIT;
	Coex__Card card = COEX__CARD__INIT;

	ctl_body_init(&b, c->ctl, to->id, 0);
	card.id.data = (uint8_t *)other->id;
	card.id.len = 32;
	card.name = (char *)other->name;
	card.time_ms = b.now;
	ref.note = (char *)note;
	ref.subject_case = COEX__REFERRAL__SUBJECT_CARD;
	ref.card = &card;
	ref.intro_id.data = (uint8_t *)intro;
	ref.intro_id.len = 16;
	b.body.thread.data = (uint8_t *)intro;
	b.body.thread.len = 16;
	b.body.kind_case = COEX__BODY__KIND_REFERRAL;
	b.body.referral = &ref;
	if (reply) {
		ctl_queue_body_via(c, to->id, to->id, &b.body, note);
		return 0;
	}
	return ctl_queue_background(c->ctl, to->id, &b.body);
}

void ctl_cmd_refer(struct ctl_client *c, const Coex__ReferRequest *req)
{
	struct store_partner to, other;
	uint8_t intro[16];
	int r;

	if ((r = store_partner_find(c->ctl->deps.store, req->to, &to)) != 0) {
		ctl_client_error(c, r, "no partner '%s' (see 'coex partner list')", req->to);
		return;
	}
	if (req->contact && !req->introduce[0]) {
		ctl_refer_contact(c, &to, req);
		return;
	}
	if (!req->introduce[0] || req->contact) {
		ctl_client_error(c, ERR_INVAL, "give exactly one of --introduce or --contact");
		return;
	}
	if ((r = store_partner_find(c->ctl->deps.store, req->introduce, &other)) != 0) {
		ctl_client_error(c, r, "no partner '%s' to introduce", req->introduce);
		return;
	}
	if (!memcmp(to.id, other.id, 32)) {
		ctl_client_error(c, ERR_INVAL, "a partner cannot be introduced to itself");
		return;
	}
	randombytes_buf(intro, sizeof(intro));
	/* The second subject's referral is queued first, without a client; the first one's
	 * reply tells the user it is durable, and carries the introduction id as its thread. */
	if ((r = ctl_refer_card(c, &other, &to, intro, req->note, false)) != 0) {
		ctl_client_error(c, r, "cannot queue the introduction: %s", err_str(r));
		return;
	}
	ctl_refer_card(c, &to, &other, intro, req->note, true);
	log_info("introduction_sent", "to=%s other=%s", to.name, other.name);
}

/* ------------------------------------------------------------------ answer */

/* Parses a full introduction id (32 hex characters). */
static int ctl_intro_parse(const char *hex, uint8_t intro[16])
{
	size_t n;

	if (strlen(hex) != 32 || sodium_hex2bin(intro, 16, hex, 32, NULL, &n, NULL) != 0 || n != 16)
		return ERR_INVAL;
	return 0;
}

/* Resolves an introduction id or a unique prefix among this node's introductions. */
struct intro_list {
	uint8_t ids[256][16];
	size_t n;
};

static int intro_list_add(void *arg, const struct store_msg *m)
{
	struct intro_list *l = arg;

	if (m->kind != MESSAGE_KIND_REFERRAL || !m->has_thread || l->n == 256)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(l->ids[i], m->thread, 16))
			return 0;
	memcpy(l->ids[l->n++], m->thread, 16);
	return 0;
}

static int ctl_intro_resolve(struct ctl *c, const char *ref, uint8_t intro[16])
{
	struct intro_list *l = calloc(1, sizeof(*l));
	char hex[33];
	int r = ERR_NOTFOUND, found = 0;

	if (!l)
		return ERR_NOMEM;
	if (ctl_intro_parse(ref, intro) == 0) {
		free(l);
		return 0;
	}
	store_msg_list(c->deps.store, -1, 0, intro_list_add, l);
	for (size_t i = 0; i < l->n; i++) {
		sodium_bin2hex(hex, sizeof(hex), l->ids[i], 16);
		if (strlen(ref) >= 4 && !strncmp(hex, ref, strlen(ref))) {
			memcpy(intro, l->ids[i], 16);
			found++;
		}
	}
	r = found == 1 ? 0 : found > 1 ? ERR_AMBIGUOUS : ERR_NOTFOUND;
	free(l);
	return r;
}

void ctl_cmd_answer(struct ctl_client *c, const Coex__AnswerRequest *req)
{
	struct intro_state st;
	struct ctl_body b;
	struct card mine;
	Coex__ReferralAnswer ans = COEX__REFERRAL_ANSWER__INIT;
	Coex__Card card;
	char *addr;
	uint8_t intro[16];
	int r;

	if ((r = ctl_intro_resolve(c->ctl, req->intro, intro)) != 0 ||
	    (r = intro_state_read(c->ctl, intro, &st)) != 0 || !st.subject) {
		ctl_client_error(c, r ? r : ERR_NOTFOUND, "no introduction '%s' to answer (see 'coex introductions')", req->intro);
		return;
	}
	if (st.my_answer_sent) {
		ctl_client_error(c, ERR_STATE, "this introduction was already answered (%s)", st.my_accept ? "accepted" : "declined");
		return;
	}
	memset(&mine, 0, sizeof(mine));
	memcpy(mine.id, c->ctl->deps.self->pk, 32);
	snprintf(mine.name, sizeof(mine.name), "%s", c->ctl->deps.name);
	if (req->accept) /* our address goes to the introducer only; it passes it on if both accept */
		ctl_invite_address(c->ctl, mine.address, sizeof(mine.address));
	ctl_body_init(&b, c->ctl, st.introducer_pk, 0);
	mine.time_ms = b.now;
	if ((r = card_sign(c->ctl->deps.self, &mine)) != 0) {
		ctl_client_error(c, r, "cannot sign this node's card");
		return;
	}
	ctl_card_to_pb(&mine, &card, &addr);
	ans.intro_id.data = intro;
	ans.intro_id.len = 16;
	ans.accept = req->accept;
	ans.note = req->note;
	ans.card = &card;
	b.body.thread.data = intro;
	b.body.thread.len = 16;
	b.body.reply_to.data = st.referral_hash;
	b.body.reply_to.len = 32;
	b.body.kind_case = COEX__BODY__KIND_REFERRAL_ANSWER;
	b.body.referral_answer = &ans;
	ctl_queue_body_via(c, st.introducer_pk, st.introducer_pk, &b.body, req->note);
}

/* ------------------------------------------------------------------ introductions */

static void ctl_peer_label(struct ctl *c, const uint8_t pk[32], char *out, size_t cap)
{
	struct store_partner p;
	char id[IDENTITY_ID_LEN + 1];

	if (store_partner_get(c->deps.store, pk, &p) == 0) {
		snprintf(out, cap, "%s", p.name);
		return;
	}
	identity_id_format(pk, id);
	snprintf(out, cap, "%.8s", id);
}

struct intro_row {
	char id[33], introducer[65], other[65], other_id[IDENTITY_ID_LEN + 1], note[201];
	Coex__IntroductionInfo info;
};

static void intro_row_fill(struct ctl *c, const uint8_t intro[16], const struct intro_state *st,
			   struct intro_row *row)
{
	Coex__IntroductionInfo *i = &row->info;
	const uint8_t *other = st->other.id;

	coex__introduction_info__init(i);
	sodium_bin2hex(row->id, sizeof(row->id), intro, 16);
	if (st->introducer) {
		snprintf(row->introducer, sizeof(row->introducer), "%s", "this node");
		char a[65], b[65];
		ctl_peer_label(c, st->sent_to[0], a, sizeof(a));
		ctl_peer_label(c, st->sent_to[1], b, sizeof(b));
		snprintf(row->other, sizeof(row->other), "%.30s + %.30s", a, b);
	} else {
		ctl_peer_label(c, st->introducer_pk, row->introducer, sizeof(row->introducer));
		snprintf(row->other, sizeof(row->other), "%s", st->other.name);
	}
	if (st->introducer)
		row->other_id[0] = '\0'; /* two subjects: their names say it */
	else
		identity_id_format(other, row->other_id);
	snprintf(row->note, sizeof(row->note), "%s", st->note);
	i->id = row->id;
	i->role = st->introducer ? "introducer" : "subject";
	i->introducer = row->introducer;
	i->other = row->other;
	i->other_id = row->other_id;
	i->state = (char *)intro_state_str(st);
	i->note = row->note;
	i->created_ms = st->created_ms;
}

void ctl_cmd_introductions(struct ctl_client *c)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__IntroductionList res = COEX__INTRODUCTION_LIST__INIT;
	struct intro_list *l = calloc(1, sizeof(*l));
	struct intro_row *rows = NULL;
	Coex__IntroductionInfo **ptrs = NULL;
	struct intro_state st;
	size_t n = 0;

	if (!l || !(rows = calloc(256, sizeof(*rows))) || !(ptrs = calloc(256, sizeof(*ptrs)))) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		goto out;
	}
	store_msg_list(c->ctl->deps.store, -1, 0, intro_list_add, l);
	for (size_t i = 0; i < l->n; i++) {
		if (intro_state_read(c->ctl, l->ids[i], &st) != 0 || (!st.introducer && !st.subject))
			continue;
		intro_row_fill(c->ctl, l->ids[i], &st, &rows[n]);
		ptrs[n] = &rows[n].info;
		n++;
	}
	res.introductions = ptrs;
	res.n_introductions = n;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_INTRODUCTIONS;
	resp.introductions = &res;
	ctl_client_reply(c, &resp);
out:
	free(l);
	free(rows);
	free(ptrs);
}

/* ------------------------------------------------------------------ forward */

struct forward_check {
	uint8_t to[32];
	bool already;
};

static int forward_seen(void *arg, const struct store_msg *m)
{
	struct forward_check *fc = arg;

	if (m->dir == STORE_MSG_OUT && m->kind == MESSAGE_KIND_FORWARDED && !memcmp(m->recipient, fc->to, 32))
		fc->already = true;
	return 0;
}

/* Whether a received proposal (or a forward of one) may go on to partner `to`, and the
 * Forwarded fields it gets: the hops left after this one, the original's author and the node
 * answers go back through. Loops are cut here: never to a node the proposal came through,
 * and never twice to one partner (the thread is the original's, so this de-duplicates on
 * the original id). Returns 0, or an error with its message in why. */
struct forward_plan {
	uint32_t hops_left;
	uint8_t origin[32], back[32];
};

static int ctl_forward_check(struct ctl *c, const struct store_msg *m, const struct store_partner *to,
			     struct forward_plan *plan, char *why, size_t cap)
{
	struct message_meta meta;
	struct body_facts f;
	struct forward_check fc;
	bool on_path;

	if (m->dir != STORE_MSG_IN || (m->kind != MESSAGE_KIND_PROPOSAL && m->kind != MESSAGE_KIND_FORWARDED))
		return ctl_fail(why, cap, ERR_INVAL, "only a proposal this node received can be forwarded");
	if (intro_read(m, &meta, &f, NULL, 0) != 0)
		return ctl_fail(why, cap, ERR_PROTO, "the proposal cannot be read");
	if (m->kind == MESSAGE_KIND_PROPOSAL) {
		if (!f.forwardable || f.hop_limit == 0)
			return ctl_fail(why, cap, ERR_DENIED, "the author did not mark this proposal forwardable");
		if (f.hop_limit > BODY_HOPS_MAX)
			return ctl_fail(why, cap, ERR_LIMIT, "the proposal allows %u hops: at most %d are possible",
					f.hop_limit, BODY_HOPS_MAX);
		plan->hops_left = f.hop_limit - 1;
		memcpy(plan->origin, m->author, 32);
	} else {
		if (f.hops_left == 0)
			return ctl_fail(why, cap, ERR_LIMIT, "the hop limit is reached: the author allowed no further forwarding");
		plan->hops_left = f.hops_left - 1;
		memcpy(plan->origin, f.origin, 32);
	}
	memcpy(plan->back, m->peer, 32);
	on_path = !memcmp(to->id, m->author, 32);
	for (size_t i = 0; m->kind == MESSAGE_KIND_FORWARDED && i < f.n_path; i++)
		on_path = on_path || !memcmp(to->id, f.path[i], 32);
	if (on_path)
		return ctl_fail(why, cap, ERR_INVAL, "%s is the proposal's author or already passed it on", to->name);
	if (m->expires_ms && (uint64_t)m->expires_ms <= (uint64_t)time(NULL) * 1000)
		return ctl_fail(why, cap, ERR_EXPIRED, "the proposal has expired");
	memcpy(fc.to, to->id, 32);
	fc.already = false;
	store_msg_thread(c->deps.store, m->has_thread ? m->thread : m->id, forward_seen, &fc);
	if (fc.already)
		return ctl_fail(why, cap, ERR_EXISTS, "already forwarded to %s", to->name);
	return 0;
}

/* The Forwarded body for m, to partner `to`; allows the relay of answers. The caller queues
 * it (with the title of m) and then calls forward_body_free. */
struct forward_body {
	struct ctl_body b;
	Coex__Forwarded fw;
	Coex__Signed *orig;
};

static int ctl_forward_body(struct ctl *c, const struct store_msg *m, const struct store_partner *to,
			    const char *note, struct forward_body *out, char *why, size_t cap)
{
	struct forward_plan plan;
	int r;

	if ((r = ctl_forward_check(c, m, to, &plan, why, cap)) != 0)
		return r;
	if (!(out->orig = coex__signed__unpack(NULL, m->signed_len, m->signed_msg)))
		return ctl_fail(why, cap, ERR_PROTO, "the proposal cannot be read");
	ctl_body_init(&out->b, c, to->id, 0);
	out->b.body.expires_ms = (uint64_t)m->expires_ms; /* a forward never outlives the original */
	out->b.body.thread.data = (uint8_t *)(m->has_thread ? m->thread : m->id);
	out->b.body.thread.len = 16;
	coex__forwarded__init(&out->fw);
	out->fw.original = out->orig;
	out->fw.note = (char *)(note ? note : "");
	out->fw.hops_left = plan.hops_left;
	out->b.body.kind_case = COEX__BODY__KIND_FORWARDED;
	out->b.body.forwarded = &out->fw;
	/* The rule may outlive a forward that then fails to queue: it only ever lets to's
	 * answers for plan.origin through, back towards it. */
	if ((r = net_relay_allow(c->deps.net, plan.origin, to->id, plan.back)) != 0)
		return ctl_fail(why, cap, r, "this node relays for too many forwarded proposals already");
	failpoint("forward.mid");
	log_info("forwarded", "to=%s hops_left=%u", to->name, plan.hops_left);
	return 0;
}

static void forward_body_free(struct forward_body *fb)
{
	if (fb->orig)
		coex__signed__free_unpacked(fb->orig, NULL);
}

void ctl_cmd_forward(struct ctl_client *c, const Coex__ForwardRequest *req)
{
	struct store_msg m;
	struct store_partner to;
	struct forward_body fb;
	char why[200];
	int r;

	memset(&m, 0, sizeof(m));
	memset(&fb, 0, sizeof(fb));
	if ((r = store_msg_find(c->ctl->deps.store, req->message, &m)) != 0) {
		ctl_client_error(c, r, "no message '%s'", req->message);
		return;
	}
	if ((r = store_partner_find(c->ctl->deps.store, req->to, &to)) != 0)
		ctl_client_error(c, r, "no partner '%s' (see 'coex partner list')", req->to);
	else if ((r = ctl_forward_body(c->ctl, &m, &to, req->note, &fb, why, sizeof(why))) != 0)
		ctl_client_error(c, r, "%s", why);
	else
		ctl_queue_body_via(c, to.id, to.id, &fb.b.body, m.title);
	forward_body_free(&fb);
	store_msg_release(&m);
}

/* The config's forward_to policy for the partner a proposal came from: forwarded on to each
 * partner it names, as `coex forward` would (and refused for the same reasons, logged). */
static void ctl_auto_forward(struct ctl *c, const struct store_msg *m)
{
	for (size_t i = 0; i < c->deps.n_forward_rules; i++) {
		const struct ctl_forward_rule *rule = &c->deps.forward_rules[i];
		struct store_partner to;
		struct forward_body fb;
		char why[200];
		int r;

		if (memcmp(rule->from, m->author, 32) != 0)
			continue; /* the partner's own proposals, and its own forwards */
		memset(&fb, 0, sizeof(fb));
		if ((r = store_partner_find(c->deps.store, rule->to, &to)) != 0)
			snprintf(why, sizeof(why), "no partner '%s'", rule->to);
		else if ((r = ctl_forward_body(c, m, &to, "forwarded by policy", &fb, why, sizeof(why))) == 0 &&
			 (r = ctl_queue_background(c, to.id, &fb.b.body)) != 0)
			snprintf(why, sizeof(why), "cannot queue: %s", err_str(r));
		if (r != 0)
			log_warn("auto_forward_skipped", "to=%s reason=\"%s\"", rule->to, why);
		forward_body_free(&fb);
	}
}

/* ------------------------------------------------------------------ arriving answers */

/* Introducer: both subjects accepted: pass each the other's signed card. */
static void ctl_intro_complete(struct ctl *c, const uint8_t intro[16])
{
	struct intro_state st;

	if (intro_state_read(c, intro, &st) != 0 || !st.introducer || st.completed_sent ||
	    st.n_sent != 2 || !st.accepted[0] || !st.accepted[1])
		return;
	for (int i = 0; i < 2; i++) {
		struct ctl_body b;
		Coex__ReferralAnswer ans = COEX__REFERRAL_ANSWER__INIT;
		Coex__Card card;
		char *addr;

		ctl_body_init(&b, c, st.sent_to[i], 0);
		ctl_card_to_pb(&st.answer_card[1 - i], &card, &addr);
		ans.intro_id.data = (uint8_t *)intro;
		ans.intro_id.len = 16;
		ans.accept = true;
		ans.card = &card;
		b.body.thread.data = (uint8_t *)intro;
		b.body.thread.len = 16;
		b.body.kind_case = COEX__BODY__KIND_REFERRAL_ANSWER;
		b.body.referral_answer = &ans;
		ctl_queue_background(c, st.sent_to[i], &b.body);
	}
	log_info("introduction_completed", "%s", "role=introducer");
}

/* Subject: the introducer passed the other side's card, signed by it: a new partner. */
static void ctl_intro_adopt(struct ctl *c, const struct intro_state *st, const struct card *cd)
{
	struct store_partner p, existing;
	char by[65];
	int r = ERR_EXISTS;

	if (card_verify(cd) != 0 || memcmp(cd->id, st->other.id, 32) != 0 || !cd->address[0]) {
		log_warn("introduction_refused", "reason=%s", "card not signed by its subject");
		return;
	}
	if (store_partner_get(c->deps.store, cd->id, &existing) == 0)
		return; /* already partners */
	memset(&p, 0, sizeof(p));
	memcpy(p.id, cd->id, 32);
	snprintf(p.address, sizeof(p.address), "%s", cd->address);
	p.added_ms = (int64_t)time(NULL) * 1000;
	ctl_peer_label(c, st->introducer_pk, by, sizeof(by));
	snprintf(p.introduced_by, sizeof(p.introduced_by), "%s", by);
	for (int i = 1; i < 100 && r == ERR_EXISTS; i++) {
		char base[65];
		size_t k = 0;
		for (const char *s = cd->name; *s && k < 60; s++) /* a local name from its display name */
			if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
				base[k++] = *s;
			else if (*s >= 'A' && *s <= 'Z')
				base[k++] = (char)(*s - 'A' + 'a');
			else if (k && base[k - 1] != '-')
				base[k++] = '-';
		base[k] = '\0';
		snprintf(p.name, sizeof(p.name), i == 1 ? "%s" : "%s-%d", k ? base : "partner", i);
		r = store_partner_add(c->deps.store, &p);
	}
	if (r != 0) {
		log_warn("introduction_failed", "error=\"%s\"", err_str(r));
		return;
	}
	net_partner_added(c->deps.net, &p);
	net_log_trust(c->deps.net, LOG_ENTRY_INTRODUCED, p.id, p.name);
	log_info("introduced", "name=%s by=%s", p.name, by);
}

void ctl_on_message(void *arg, const struct store_msg *m)
{
	struct ctl *c = arg;
	struct message_meta meta;
	struct body_facts f;
	struct intro_state st;

	if (m->kind == MESSAGE_KIND_PROPOSAL || m->kind == MESSAGE_KIND_FORWARDED) {
		ctl_auto_forward(c, m);
		return;
	}
	if (m->kind != MESSAGE_KIND_REFERRAL_ANSWER || intro_read(m, &meta, &f, NULL, 0) != 0 ||
	    !f.has_intro || intro_state_read(c, f.intro_id, &st) != 0)
		return;
	if (st.introducer)
		ctl_intro_complete(c, f.intro_id);
	else if (st.subject && f.accept && f.has_card && !memcmp(m->author, st.introducer_pk, 32))
		ctl_intro_adopt(c, &st, &f.card);
}
