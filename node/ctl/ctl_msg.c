/* Control commands for messages: propose, respond, inbox/outbox, show, thread. Bodies are
 * composed here (the control layer may use the generated protobuf code); sealing, storing
 * and delivery belong to the net layer. */
#include "crypto/identity.h"
#include "crypto/sha256.h"
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/net.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/card.h"
#include "wire/message.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	CTL_TITLE_MAX = 200,
	CTL_TEXT_MAX = 1 << 20,
	CTL_TAGS_MAX = 32,
};
#define CTL_EXPIRES_DEFAULT_S (30ull * 86400)

static uint64_t ctl_msg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ctl_hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, b, n);
}

static const char *ctl_kind_str(int kind)
{
	static const char *const k[] = {"?", "proposal", "response", "referral", "referral_answer",
					"forwarded"};
	return kind > 0 && kind <= MESSAGE_KIND_FORWARDED ? k[kind] : "?";
}

static const char *ctl_state_str(int state)
{
	static const char *const st[] = {"queued", "sent", "delivered", "answered", "expired",
					 "received"};
	return state >= 0 && state <= STORE_MSG_RECEIVED ? st[state] : "?";
}

int ctl_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* Checks the user's proposal fields; names the first bad one in err. */
static int ctl_proposal_check(const Coex__ProposeRequest *p, char *err, size_t errlen)
{
	if (!p->title[0] || strlen(p->title) > CTL_TITLE_MAX)
		return ctl_fail(err, errlen, ERR_INVAL, "a title of 1 to %d bytes is required", CTL_TITLE_MAX);
	if (strlen(p->summary) > CTL_TEXT_MAX || strlen(p->body) > CTL_TEXT_MAX ||
	    strlen(p->terms) > CTL_TEXT_MAX)
		return ctl_fail(err, errlen, ERR_TOOBIG, "summary, body and terms are limited to %d bytes each", CTL_TEXT_MAX);
	if (p->n_tags > CTL_TAGS_MAX)
		return ctl_fail(err, errlen, ERR_INVAL, "at most %d tags", CTL_TAGS_MAX);
	if (p->hop_limit > BODY_HOPS_MAX)
		return ctl_fail(err, errlen, ERR_INVAL, "--hops is at most %d", BODY_HOPS_MAX);
	if (p->value && (strlen(p->value->currency) != 3 || p->value->currency[0] < 'A' ||
			 p->value->currency[0] > 'Z'))
		return ctl_fail(err, errlen, ERR_INVAL, "a value needs a 3-letter currency code such as EUR");
	for (size_t i = 0; i < p->n_attachments; i++)
		if (!p->attachments[i]->name[0] || strchr(p->attachments[i]->name, '/'))
			return ctl_fail(err, errlen, ERR_INVAL, "attachment %zu needs a file name without '/'", i + 1);
	return 0;
}

/* Builds a Proposal from a request; strings point into the request (no copies). */
static void ctl_proposal_from(const Coex__ProposeRequest *req, uint64_t expires_ms, Coex__Proposal *p)
{
	coex__proposal__init(p);
	p->title = req->title;
	p->summary = req->summary;
	p->body = req->body;
	p->terms = req->terms;
	p->tags = req->tags;
	p->n_tags = req->n_tags;
	p->value = req->value;
	p->attachments = req->attachments;
	p->n_attachments = req->n_attachments;
	p->valid_until_ms = expires_ms;
	p->forwardable = req->forwardable;
	p->hop_limit = req->forwardable ? (req->hop_limit ? req->hop_limit : BODY_HOPS_DEFAULT) : 0;
}

void ctl_body_init(struct ctl_body *b, const struct ctl *c, const uint8_t recipient[32],
			  uint64_t expires_s)
{
	coex__body__init(&b->body);
	b->now = ctl_msg_now();
	message_id_new(b->now, b->id);
	b->body.id.data = b->id;
	b->body.id.len = 16;
	b->body.author.data = (uint8_t *)c->deps.self->pk;
	b->body.author.len = 32;
	b->body.recipient.data = (uint8_t *)recipient;
	b->body.recipient.len = 32;
	b->body.created_ms = b->now;
	b->body.expires_ms = b->now + (expires_s ? expires_s : CTL_EXPIRES_DEFAULT_S) * 1000;
}

/* Strings of one MessageInfo, owned together. */
struct ctl_info {
	Coex__MessageInfo info;
	char id[65], thread[33], reply_to[65];
	char author[IDENTITY_ID_LEN + 1], recipient[IDENTITY_ID_LEN + 1], peer_id[IDENTITY_ID_LEN + 1];
	char peer[65];
	char title[201];
	Coex__Body *body;               /* decoded, for show and thread */
};

static void ctl_info_fill(struct ctl *ctl, const struct store_msg *m, struct ctl_info *ci)
{
	Coex__MessageInfo *i = &ci->info;

	coex__message_info__init(i);
	ctl_hex(m->hash, 32, ci->id);
	identity_id_format(m->author, ci->author);
	identity_id_format(m->recipient, ci->recipient);
	identity_id_format(m->peer, ci->peer_id);
	if (net_partner_name(ctl->deps.net, m->peer, ci->peer, sizeof(ci->peer)) != 0)
		snprintf(ci->peer, sizeof(ci->peer), "%.8s", ci->peer_id);
	snprintf(ci->title, sizeof(ci->title), "%s", m->title);
	ci->thread[0] = ci->reply_to[0] = '\0';
	if (m->has_thread)
		ctl_hex(m->thread, 16, ci->thread);
	else
		ctl_hex(m->id, 16, ci->thread);
	if (m->has_reply_to)
		ctl_hex(m->reply_to, 32, ci->reply_to);
	i->id = ci->id;
	i->kind = (char *)ctl_kind_str(m->kind);
	i->state = (char *)ctl_state_str(m->state);
	i->direction = m->dir == STORE_MSG_IN ? "in" : "out";
	i->peer = ci->peer;
	i->peer_id = ci->peer_id;
	i->author = ci->author;
	i->recipient = ci->recipient;
	i->title = ci->title;
	i->created_ms = (uint64_t)m->created_ms;
	i->expires_ms = (uint64_t)m->expires_ms;
	i->thread = ci->thread;
	i->reply_to = ci->reply_to;
	i->log_index = m->log_index;
	/* The exchange stores a partner's receipt only after verifying its head and proof. */
	i->receipt_verified = m->dir == STORE_MSG_OUT && m->receipt_len > 0 ;
}

static void ctl_queued(void *arg, int err, const struct store_msg *m)
{
	struct ctl_client *c = arg;
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	struct ctl_info ci;

	c->wait = NULL;
	ctl_client_resume(c);
	if (err != 0) {
		ctl_client_error(c, err, err == ERR_FULL ? "storage full: the message was not queued"
			: err == ERR_TOOBIG ? "the message is larger than max_message_bytes"
			: "the message was not queued: %s", err_str(err));
		return;
	}
	ctl_info_fill(c->ctl, m, &ci); /* as stored: no need to read it back */
	resp.message = &ci.info;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_MESSAGE;
	ctl_client_reply(c, &resp);
}

/* Packs body and hands it to the net layer; the reply comes once it is durable. */
void ctl_queue_body_via(struct ctl_client *c, const uint8_t to[32], const uint8_t via[32],
			Coex__Body *body, const char *title)
{
	size_t n = coex__body__get_packed_size(body);
	uint8_t *buf = malloc(n);
	int r;

	if (!buf) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		return;
	}
	coex__body__pack(body, buf);
	c->busy = true;
	r = net_message_queue_via(c->ctl->deps.net, to, via, buf, n, title, ctl_queued, c, &c->wait);
	free(buf);
	if (r != 0) {
		ctl_client_resume(c);
		ctl_client_error(c, r, r == ERR_TOOBIG ? "the message is larger than max_message_bytes"
			: r == ERR_NOTFOUND ? "the recipient is not a partner"
			: r == ERR_LIMIT ? "the outbox for this partner is full ([limits] outbox_per_partner):"
					   " it has not taken the messages already queued"
			: "cannot queue the message: %s", err_str(r));
	}
}

/* The partner ref names (name, id or id prefix), as store_partner_find finds it, from the
 * memo if the partner table has not changed since it was found there. */
static int ctl_partner_id(struct ctl *ctl, const char *ref, uint8_t id[32])
{
	uint64_t version = net_partners_version(ctl->deps.net);
	struct ctl_partner_memo *e;
	struct store_partner p;
	int r;

	for (size_t i = 0; i < CTL_PARTNER_MEMO; i++) {
		e = &ctl->memo[i];
		if (e->used && e->version == version && strcmp(e->ref, ref) == 0) {
			memcpy(id, e->id, 32);
			return 0;
		}
	}
	if ((r = store_partner_find(ctl->deps.store, ref, &p)) != 0)
		return r;
	memcpy(id, p.id, 32);
	if (strlen(ref) < sizeof(e->ref)) {
		e = &ctl->memo[ctl->memo_next++ % CTL_PARTNER_MEMO];
		snprintf(e->ref, sizeof(e->ref), "%s", ref);
		memcpy(e->id, p.id, 32);
		e->version = version;
		e->used = true;
	}
	return 0;
}

void ctl_cmd_propose(struct ctl_client *c, const Coex__ProposeRequest *req)
{
	uint8_t to[32];
	struct ctl_body b;
	Coex__Proposal prop;
	char err[200];
	int r;

	if ((r = ctl_partner_id(c->ctl, req->to, to)) != 0) {
		ctl_client_error(c, r, r == ERR_AMBIGUOUS ? "'%s' matches more than one partner"
							  : "no partner '%s' (see 'coex partner list')", req->to);
		return;
	}
	if ((r = ctl_proposal_check(req, err, sizeof(err))) != 0) {
		ctl_client_error(c, r, "%s", err);
		return;
	}
	ctl_body_init(&b, c->ctl, to, req->expires_s);
	ctl_proposal_from(req, b.body.expires_ms, &prop);
	b.body.kind_case = COEX__BODY__KIND_PROPOSAL;
	b.body.proposal = &prop;
	ctl_queue_body_via(c, to, to, &b.body, req->title);
}

/* A forwarded message's original author, and the hash of the original's Signed bytes. */
static int ctl_forward_facts(const struct store_msg *m, struct body_facts *f)
{
	struct message_meta meta;
	const uint8_t *body;
	size_t len;
	int r;

	if (!m->signed_msg || (r = message_verify_signed(m->signed_msg, m->signed_len, &meta, &body, &len)) != 0)
		return ERR_PROTO;
	return body_facts_read(body, len, &meta, f);
}

static int ctl_forward_origin(const struct store_msg *m, uint8_t origin[32])
{
	struct body_facts f;
	int r = ctl_forward_facts(m, &f);

	if (r == 0)
		memcpy(origin, f.origin, 32);
	return r;
}

static void ctl_forward_original_hash(const struct store_msg *m, uint8_t hash[32])
{
	struct body_facts f;

	if (ctl_forward_facts(m, &f) == 0)
		memcpy(hash, f.original_signed_hash, 32);
}

/* The thread a reply belongs to: the original's, or the original itself. */
static void ctl_reply_thread(const struct store_msg *orig, uint8_t thread[16])
{
	memcpy(thread, orig->has_thread ? orig->thread : orig->id, 16);
}

void ctl_cmd_respond(struct ctl_client *c, const Coex__RespondRequest *req)
{
	struct store_msg m;
	struct ctl_body b;
	Coex__Response resp = COEX__RESPONSE__INIT;
	Coex__Proposal counter;
	uint8_t thread[16], ph[32], origin[32];
	const uint8_t *to, *via;
	char err[200];
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_msg_find(c->ctl->deps.store, req->message, &m)) != 0) {
		ctl_client_error(c, r, r == ERR_AMBIGUOUS ? "'%s' matches more than one message" : "no message '%s'", req->message);
		return;
	}
	if (req->decision == COEX__DECISION__DECISION_WITHDRAW ? m.dir != STORE_MSG_OUT : m.dir != STORE_MSG_IN) {
		ctl_client_error(c, ERR_INVAL, req->decision == COEX__DECISION__DECISION_WITHDRAW
			? "only a proposal this node sent can be withdrawn" : "only a message this node received can be answered");
		goto out;
	}
	if (m.kind != MESSAGE_KIND_PROPOSAL && m.kind != MESSAGE_KIND_RESPONSE &&
	    m.kind != MESSAGE_KIND_FORWARDED) {
		ctl_client_error(c, ERR_INVAL, "a %s cannot be answered with accept/decline/counter/withdraw", ctl_kind_str(m.kind));
		goto out;
	}
	if (req->decision < COEX__DECISION__DECISION_ACCEPT || req->decision > COEX__DECISION__DECISION_WITHDRAW) {
		ctl_client_error(c, ERR_INVAL, "unknown decision");
		goto out;
	}
	to = m.dir == STORE_MSG_IN ? m.author : m.recipient;
	via = to;
	if (m.kind == MESSAGE_KIND_FORWARDED) {
		/* Answer the original author, sealed to it, back through the forwarding partner. */
		if (ctl_forward_origin(&m, origin) != 0) {
			ctl_client_error(c, ERR_PROTO, "the forwarded proposal cannot be read");
			goto out;
		}
		to = origin;
		via = m.peer;
	}
	ctl_body_init(&b, c->ctl, to, req->counter ? req->counter->expires_s : 0);
	ctl_reply_thread(&m, thread);
	b.body.thread.data = thread;
	b.body.thread.len = 16;
	if (m.kind != MESSAGE_KIND_FORWARDED) { /* the origin never saw the forwarded envelope */
		b.body.reply_to.data = m.hash;
		b.body.reply_to.len = 32;
	}
	resp.decision = req->decision;
	resp.note = req->note;
	if (m.signed_msg) { /* accept: the co-signature covers the exact proposal signed */
		if (m.kind == MESSAGE_KIND_FORWARDED)
			ctl_forward_original_hash(&m, ph);
		else
			sha256(ph, m.signed_msg, m.signed_len);
		resp.proposal_hash.data = ph;
		resp.proposal_hash.len = 32;
	}
	if (req->decision == COEX__DECISION__DECISION_COUNTER) {
		if (!req->counter || (r = ctl_proposal_check(req->counter, err, sizeof(err))) != 0) {
			ctl_client_error(c, ERR_INVAL, "%s", req->counter ? err : "a counter-proposal needs --title");
			goto out;
		}
		ctl_proposal_from(req->counter, b.body.expires_ms, &counter);
		resp.counter = &counter;
	}
	b.body.kind_case = COEX__BODY__KIND_RESPONSE;
	b.body.response = &resp;
	ctl_queue_body_via(c, to, via, &b.body, resp.counter ? resp.counter->title : req->note);
out:
	store_msg_release(&m);
}

/* ------------------------------------------------------------------ listing */

/* Verifies the stored Signed message again and attaches its decoded body. */
static void ctl_info_body(struct ctl_info *ci, const struct store_msg *m)
{
	struct message_meta meta;
	const uint8_t *body;
	size_t len;

	ci->body = NULL;
	if (!m->signed_msg || message_verify_signed(m->signed_msg, m->signed_len, &meta, &body, &len) != 0)
		return;
	ci->info.verified = memcmp(meta.author, m->author, 32) == 0;
	if (meta.kind == MESSAGE_KIND_FORWARDED) { /* and the original author's signature too */
		struct body_facts f;
		ci->info.verified = ci->info.verified && body_facts_read(body, len, &meta, &f) == 0;
	}
	if ((ci->body = coex__body__unpack(NULL, len, body)))
		ci->info.body = ci->body;
}

static void ctl_info_free(struct ctl_info *ci)
{
	if (ci->body)
		coex__body__free_unpacked(ci->body, NULL);
}

struct ctl_list {
	struct ctl *ctl;
	struct ctl_info **items;        /* each allocated alone: an info points into itself */
	size_t n, cap;
	bool bodies;
};

static int ctl_list_add(void *arg, const struct store_msg *m)
{
	struct ctl_list *l = arg;

	struct ctl_info *ci;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ctl_info **v = realloc(l->items, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		l->items = v;
		l->cap = cap;
	}
	if (!(ci = calloc(1, sizeof(*ci))))
		return ERR_NOMEM;
	ctl_info_fill(l->ctl, m, ci);
	if (l->bodies)
		ctl_info_body(ci, m);
	l->items[l->n++] = ci;
	return 0;
}

static void ctl_list_reply(struct ctl_client *c, struct ctl_list *l)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__MessageList res = COEX__MESSAGE_LIST__INIT;
	Coex__MessageInfo **ptrs = calloc(l->n + 1, sizeof(*ptrs));

	if (!ptrs) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		ptrs[i] = &l->items[i]->info;
	res.messages = ptrs;
	res.n_messages = l->n;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_MESSAGES;
	resp.messages = &res;
	ctl_client_reply(c, &resp);
	free(ptrs);
}

static void ctl_list_free(struct ctl_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ctl_info_free(l->items[i]);
		free(l->items[i]);
	}
	free(l->items);
}

void ctl_cmd_list(struct ctl_client *c, const Coex__ListRequest *req)
{
	struct ctl_list l = {.ctl = c->ctl};
	int r;

	r = store_msg_list(c->ctl->deps.store, req->inbox ? STORE_MSG_IN : STORE_MSG_OUT, req->limit,
			   ctl_list_add, &l);
	if (r != 0)
		ctl_client_error(c, r, "cannot list messages: %s", err_str(r));
	else
		ctl_list_reply(c, &l);
	ctl_list_free(&l);
}

static void ctl_show_reply(struct ctl_client *c, const struct store_msg *m)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	struct ctl_info ci;

	ctl_info_fill(c->ctl, m, &ci);
	ctl_info_body(&ci, m);
	resp.result_case = COEX__CTL_RESPONSE__RESULT_MESSAGE;
	resp.message = &ci.info;
	ctl_client_reply(c, &resp);
	ctl_info_free(&ci);
}

/* show with wait_receipt_ms: the receipt came, or the wait is over. */
static void ctl_show_waited(struct ctl_client *c, const uint8_t hash[32])
{
	struct store_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_msg_get(c->ctl->deps.store, hash, &m)) != 0) {
		ctl_client_error(c, r, "cannot read the message: %s", err_str(r));
		return;
	}
	ctl_show_reply(c, &m);
	store_msg_release(&m);
}

void ctl_cmd_show(struct ctl_client *c, const Coex__ShowRequest *req)
{
	struct store_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_msg_find(c->ctl->deps.store, req->message, &m)) != 0) {
		ctl_client_error(c, r, r == ERR_AMBIGUOUS ? "'%s' matches more than one message" : "no message '%s'", req->message);
		return;
	}
	/* Not yet receipted: the answer waits. The receipt hook runs on this thread after the
	 * receipt's commit, so no receipt slips in unseen between this read and the wait. */
	if (req->wait_receipt_ms && m.dir != STORE_MSG_IN &&
	    (m.state == STORE_MSG_QUEUED || m.state == STORE_MSG_SENT))
		ctl_client_wait_receipt(c, m.hash, req->wait_receipt_ms, ctl_show_waited);
	else
		ctl_show_reply(c, &m);
	store_msg_release(&m);
}

void ctl_cmd_thread(struct ctl_client *c, const Coex__ShowRequest *req)
{
	struct ctl_list l = {.ctl = c->ctl, .bodies = true};
	struct store_msg m;
	uint8_t thread[16];
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = store_msg_find(c->ctl->deps.store, req->message, &m)) != 0) {
		ctl_client_error(c, r, r == ERR_AMBIGUOUS ? "'%s' matches more than one message" : "no message '%s'", req->message);
		return;
	}
	ctl_reply_thread(&m, thread);
	store_msg_release(&m);
	r = store_msg_thread(c->ctl->deps.store, thread, ctl_list_add, &l);
	if (r != 0)
		ctl_client_error(c, r, "cannot read the thread: %s", err_str(r));
	else
		ctl_list_reply(c, &l);
	ctl_list_free(&l);
}
