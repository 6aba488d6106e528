#include "msg_view.h"

#include "crypto/identity.h"
#include "wire/card.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	HEAD_W = 11,  /* header labels: "signatures:" is the longest */
	BODY_W = 13,  /* body labels: "organization:", "valid until:" */
	SUB_IND = 2,  /* a nested block (counter-proposal, original, subject) */
	TAB_STOP = 8,
	KEY_LEN = 32, /* Ed25519 keys in a Body */
	HEX_MAX = 64, /* longest hex shown: a 32-byte hash */
};

/* Where a block of "label: value" lines goes: its indent, label width and the time now. */
struct pane {
	int ind, w;
	uint64_t now;
};

/* ------------------------------------------------------------------ names of things */

const char *msg_view_decision(Coex__Decision d)
{
	switch (d) {
	case COEX__DECISION__DECISION_ACCEPT: return "accept";
	case COEX__DECISION__DECISION_DECLINE: return "decline";
	case COEX__DECISION__DECISION_COUNTER: return "counter";
	case COEX__DECISION__DECISION_WITHDRAW: return "withdraw";
	default: return "-";
	}
}

static const char *body_kind(const Coex__Body *b)
{
	switch (b->kind_case) {
	case COEX__BODY__KIND_PROPOSAL: return "proposal";
	case COEX__BODY__KIND_RESPONSE: return "response";
	case COEX__BODY__KIND_REFERRAL: return "referral";
	case COEX__BODY__KIND_REFERRAL_ANSWER: return "referral_answer";
	case COEX__BODY__KIND_FORWARDED: return "forwarded";
	default: return "unknown";
	}
}

const Coex__Response *msg_view_response(const Coex__MessageInfo *m)
{
	if (!m->body || m->body->kind_case != COEX__BODY__KIND_RESPONSE)
		return NULL;
	return m->body->response;
}

/* The body a forwarding chain wraps, one level down, decoded (the daemon verified every
 * signature: MessageInfo.verified); NULL if there is none or it cannot be decoded. */
static Coex__Body *forward_inner(const Coex__Body *b)
{
	const Coex__Signed *s = b->forwarded->original;

	return s ? coex__body__unpack(NULL, s->body.len, s->body.data) : NULL;
}

const Coex__Proposal *msg_view_proposal(const Coex__Body *b, Coex__Body **orig)
{
	*orig = NULL;
	if (b->kind_case == COEX__BODY__KIND_PROPOSAL)
		return b->proposal;
	if (b->kind_case == COEX__BODY__KIND_RESPONSE)
		return b->response->counter;
	/* A forward of a forward nests: go down to the proposal at its heart. */
	for (int depth = 0; b->kind_case == COEX__BODY__KIND_FORWARDED && depth < BODY_HOPS_MAX; depth++) {
		Coex__Body *next = forward_inner(b);

		coex__body__free_unpacked(*orig, NULL);
		*orig = next;
		if (!next)
			return NULL;
		b = next;
	}
	return b->kind_case == COEX__BODY__KIND_PROPOSAL ? b->proposal : NULL;
}

size_t msg_view_forwarders(const Coex__Body *b, char ids[][IDENTITY_ID_LEN + 1], size_t cap)
{
	Coex__Body *held = NULL;
	size_t n = 0;

	if (b->kind_case != COEX__BODY__KIND_FORWARDED)
		return 0;
	while (n < cap) {
		Coex__Body *next = forward_inner(b);

		coex__body__free_unpacked(held, NULL);
		held = next;
		if (!next || next->kind_case != COEX__BODY__KIND_FORWARDED || next->author.len != KEY_LEN)
			break;
		identity_id_format(next->author.data, ids[n++]);
		b = next;
	}
	coex__body__free_unpacked(held, NULL);
	for (size_t i = 0; i < n / 2; i++) { /* first forwarder first */
		char t[IDENTITY_ID_LEN + 1];

		memcpy(t, ids[i], sizeof(t));
		memcpy(ids[i], ids[n - 1 - i], sizeof(t));
		memcpy(ids[n - 1 - i], t, sizeof(t));
	}
	return n;
}

/* Lowercase hex of up to HEX_MAX / 2 bytes; "" for none. */
static void hex_format(const ProtobufCBinaryData *d, char out[HEX_MAX + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i, n = d->len < HEX_MAX / 2 ? d->len : HEX_MAX / 2;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[d->data[i] >> 4];
		out[2 * i + 1] = digits[d->data[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A node id from a 32-byte key; "" for anything else. */
static void key_format(const ProtobufCBinaryData *d, char out[IDENTITY_ID_LEN + 1])
{
	if (d->len == KEY_LEN)
		identity_id_format(d->data, out);
	else
		out[0] = '\0';
}

static void size_format(uint64_t n, char *out, size_t len)
{
	if (n < 1024)
		snprintf(out, len, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(out, len, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, len, "%.1f MiB", (double)n / (1024 * 1024));
}

/* ------------------------------------------------------------------ terminal-safe lines */

/* Prints n bytes of p, tabs expanded, made safe for the terminal (no newline). */
static void put_span(const char *p, size_t n)
{
	size_t i, o = 0, col = 0, tabs = 0;
	char *buf, *safe;

	for (i = 0; i < n; i++)
		tabs += p[i] == '\t';
	if (!(buf = malloc(n + tabs * TAB_STOP + 1))) {
		fputs("(out of memory)", stdout);
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '\t') {
			do
				buf[o++] = ' ';
			while (++col % TAB_STOP);
			continue;
		}
		col += ((unsigned char)p[i] & 0xc0) != 0x80; /* one column per code point */
		buf[o++] = p[i];
	}
	buf[o] = '\0';
	safe = util_term_safe(buf);
	fputs(safe ? safe : "(out of memory)", stdout);
	free(safe);
	free(buf);
}

/* Prints text's lines: the first where the cursor is, the others indented by ind. A CR
 * before a newline and trailing newlines are dropped. */
static void put_lines(const char *text, int ind)
{
	size_t len = strlen(text), n;
	const char *p = text, *end, *nl;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	end = text + len;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		put_span(p, n);
		fputc('\n', stdout);
		if (!nl)
			break;
		p = nl + 1;
		if (*p != '\n' && (*p != '\r' || p[1] != '\n'))
			printf("%*s", ind, ""); /* no trailing blanks on an empty line */
	}
}

static void put_label(const struct pane *pn, const char *label)
{
	printf("%*s%s:%*s ", pn->ind, "", label, pn->w - (int)strlen(label) - 1, "");
}

/* "label: value" on one line: newlines in the value become '?' like any control character. */
static void kv(const struct pane *pn, const char *label, const char *value)
{
	char *safe = util_term_safe(value && *value ? value : "-");

	put_label(pn, label);
	printf("%s\n", safe ? safe : "(out of memory)");
	free(safe);
}

/* "label: text" over as many lines as the text has, aligned under the first. */
static void kv_text(const struct pane *pn, const char *label, const char *text)
{
	put_label(pn, label);
	put_lines(*text ? text : "-", pn->ind + pn->w + 1);
}

static void kv_time(const struct pane *pn, const char *label, uint64_t ms)
{
	char when[48], rel[48], both[100];

	util_time_local(ms, when, sizeof when);
	util_time_relative(ms, pn->now, rel, sizeof rel);
	snprintf(both, sizeof both, "%s (%s)", when, rel);
	kv(pn, label, ms ? both : "never");
}

/* A nested block: the label alone, then lines indented under it. */
static struct pane sub(const struct pane *pn, const char *label)
{
	struct pane s = { pn->ind + SUB_IND, BODY_W, pn->now };

	printf("%*s%s:\n", pn->ind, "", label);
	return s;
}

/* ------------------------------------------------------------------ text */

/* "label: a, b, c" on one line. */
static void kv_list(const struct pane *pn, const char *label, char *const *items, size_t n)
{
	size_t i;

	put_label(pn, label);
	for (i = 0; i < n; i++) {
		fputs(i ? ", " : "", stdout);
		put_span(items[i], strlen(items[i]));
	}
	fputs(n ? "\n" : "-\n", stdout);
}

static void print_attachments(const struct pane *pn, const Coex__Proposal *p)
{
	char size[32];
	size_t i;

	put_label(pn, "attachments");
	for (i = 0; i < p->n_attachments; i++) {
		const Coex__Attachment *a = p->attachments[i];

		if (i)
			printf("%*s", pn->ind + pn->w + 1, "");
		size_format(a->data.len, size, sizeof size);
		put_span(a->name, strlen(a->name));
		fputs(" (", stdout);
		put_span(a->media_type, strlen(a->media_type));
		printf(", %s)\n", size);
	}
}

/* Every field of a proposal; shared by proposals, counter-proposals and forwarded ones. */
static void print_proposal(const struct pane *pn, const Coex__Proposal *p)
{
	char buf[64];

	kv(pn, "title", p->title);
	if (*p->summary)
		kv_text(pn, "summary", p->summary);
	if (p->n_tags)
		kv_list(pn, "tags", p->tags, p->n_tags);
	if (p->value) {
		char *cur = util_term_safe(p->value->currency);

		put_label(pn, "value");
		printf("%" PRIu64 " %s\n", p->value->amount, cur ? cur : "?");
		free(cur);
	}
	if (*p->terms)
		kv_text(pn, "terms", p->terms);
	kv_time(pn, "valid until", p->valid_until_ms);
	if (p->hop_limit)
		snprintf(buf, sizeof buf, "yes, at most %u hop%s", p->hop_limit,
			 p->hop_limit == 1 ? "" : "s");
	else
		snprintf(buf, sizeof buf, "yes");
	kv(pn, "forwardable", p->forwardable ? buf : "no");
	if (p->n_attachments)
		print_attachments(pn, p);
	if (*p->body) {
		printf("%*sbody:\n%*s", pn->ind, "", pn->ind + SUB_IND, "");
		put_lines(p->body, pn->ind + SUB_IND);
	}
}

static void print_card(const struct pane *pn, const char *label, const Coex__Card *c)
{
	char id[IDENTITY_ID_LEN + 1], *name = util_term_safe(c->name);

	key_format(&c->id, id);
	put_label(pn, label);
	printf("%s (%s)\n", name ? name : "?", *id ? id : "invalid key");
	free(name);
	if (c->n_addresses)
		kv_list(pn, "addresses", c->addresses, c->n_addresses);
}

static void print_contact(const struct pane *pn, const Coex__Contact *c)
{
	struct pane s = sub(pn, "lead (contact)");

	kv(&s, "name", c->name);
	kv(&s, "organization", c->organization);
	kv(&s, "email", c->email);
	kv(&s, "phone", c->phone);
	kv_text(&s, "consent", c->consent);
}

static void print_response(const struct pane *pn, const Coex__Response *r)
{
	char hash[HEX_MAX + 1];

	kv(pn, "decision", msg_view_decision(r->decision));
	if (*r->note)
		kv_text(pn, "note", r->note);
	hex_format(&r->proposal_hash, hash);
	if (*hash)
		kv(pn, "answers", hash);
	if (r->counter) {
		struct pane s = sub(pn, "counter-proposal");

		print_proposal(&s, r->counter);
	}
}

static void print_referral(const struct pane *pn, const Coex__Referral *r)
{
	char intro[HEX_MAX + 1];

	if (*r->note)
		kv_text(pn, "note", r->note);
	if (r->subject_case == COEX__REFERRAL__SUBJECT_CARD)
		print_card(pn, "introduces", r->card);
	else if (r->subject_case == COEX__REFERRAL__SUBJECT_CONTACT)
		print_contact(pn, r->contact);
	else
		kv(pn, "subject", "none");
	hex_format(&r->intro_id, intro);
	if (*intro)
		kv(pn, "intro id", intro);
}

static void print_referral_answer(const struct pane *pn, const Coex__ReferralAnswer *a)
{
	char intro[HEX_MAX + 1];

	kv(pn, "answer", a->accept ? "accept" : "decline");
	if (*a->note)
		kv_text(pn, "note", a->note);
	hex_format(&a->intro_id, intro);
	kv(pn, "intro id", intro);
	if (a->card)
		print_card(pn, "card", a->card);
}

static void print_forwarded(const struct pane *pn, const Coex__Body *b)
{
	const Coex__Forwarded *f = b->forwarded;
	char author[IDENTITY_ID_LEN + 1], hops[16], via[BODY_HOPS_MAX][IDENTITY_ID_LEN + 1];
	const Coex__Proposal *p;
	Coex__Body *orig;
	struct pane s;
	size_t n;

	if (*f->note)
		kv_text(pn, "note", f->note);
	snprintf(hops, sizeof hops, "%u", f->hops_left);
	kv(pn, "hops left", hops);
	n = msg_view_forwarders(b, via, BODY_HOPS_MAX);
	for (size_t i = 0; i < n; i++)
		kv(pn, "forwarded earlier by", via[i]);
	if (!(p = msg_view_proposal(b, &orig))) {
		kv(pn, "original", "cannot be decoded, or not a proposal");
		coex__body__free_unpacked(orig, NULL);
		return;
	}
	s = sub(pn, "original proposal");
	key_format(&orig->author, author);
	kv(&s, "author", author);
	kv_time(&s, "created", orig->created_ms);
	print_proposal(&s, p);
	coex__body__free_unpacked(orig, NULL);
}

static void print_body(const struct pane *pn, const Coex__Body *b)
{
	switch (b->kind_case) {
	case COEX__BODY__KIND_PROPOSAL: print_proposal(pn, b->proposal); break;
	case COEX__BODY__KIND_RESPONSE: print_response(pn, b->response); break;
	case COEX__BODY__KIND_REFERRAL: print_referral(pn, b->referral); break;
	case COEX__BODY__KIND_REFERRAL_ANSWER: print_referral_answer(pn, b->referral_answer); break;
	case COEX__BODY__KIND_FORWARDED: print_forwarded(pn, b); break;
	default: kv(pn, "body", "of a kind this coex does not know");
	}
}

static const char *receipt_state(const Coex__MessageInfo *m)
{
	if (m->receipt_verified)
		return "verified";
	if (!strcmp(m->state, "queued") || !strcmp(m->state, "sent") || !strcmp(m->state, "expired"))
		return "none yet";
	return "not verified";
}

void msg_view_print(const Coex__MessageInfo *m, uint64_t now_ms)
{
	struct pane h = { 0, HEAD_W, now_ms }, b = { 0, BODY_W, now_ms };
	char peer[512];

	kv(&h, "id", m->id);
	kv(&h, "kind", m->kind);
	kv(&h, "direction", !strcmp(m->direction, "in") ? "in (received)" : "out (sent)");
	snprintf(peer, sizeof peer, "%s (%s)", *m->peer ? m->peer : "-", m->peer_id);
	kv(&h, "peer", peer);
	kv(&h, "state", m->state);
	kv(&h, "author", m->author);
	kv(&h, "recipient", m->recipient);
	kv_time(&h, "created", m->created_ms);
	kv_time(&h, "expires", m->expires_ms);
	kv(&h, "thread", m->thread);
	if (*m->reply_to)
		kv(&h, "reply to", m->reply_to);
	snprintf(peer, sizeof peer, "%" PRIu64, m->log_index);
	kv(&h, "log index", peer);
	if (!strcmp(m->direction, "out"))
		kv(&h, "receipt", receipt_state(m));
	kv(&h, "signatures", m->verified ? "verified" : "NOT VERIFIED");
	fputc('\n', stdout);
	if (m->body)
		print_body(&b, m->body);
	else
		kv(&b, "body", "not available");
}

/* ------------------------------------------------------------------ JSON */

static void json_kv_hex(struct json *j, const char *key, const ProtobufCBinaryData *d)
{
	char hex[HEX_MAX + 1];

	hex_format(d, hex);
	json_kv_string(j, key, hex);
}

static void json_kv_key(struct json *j, const char *key, const ProtobufCBinaryData *d)
{
	char id[IDENTITY_ID_LEN + 1];

	key_format(d, id);
	json_kv_string(j, key, id);
}

static void json_proposal_value(struct json *j, const Coex__Value *v)
{
	json_key(j, "value");
	if (!v) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kv_u64(j, "amount", v->amount);
	json_kv_string(j, "currency", v->currency);
	json_object_end(j);
}

static void json_proposal_fields(struct json *j, const Coex__Proposal *p)
{
	size_t i;

	json_kv_string(j, "title", p->title);
	json_kv_string(j, "summary", p->summary);
	json_kv_string(j, "body", p->body);
	json_kv_string(j, "terms", p->terms);
	json_key(j, "tags");
	json_array_begin(j);
	for (i = 0; i < p->n_tags; i++)
		json_string(j, p->tags[i]);
	json_array_end(j);
	json_proposal_value(j, p->value);
	json_key(j, "attachments");
	json_array_begin(j);
	for (i = 0; i < p->n_attachments; i++) {
		json_object_begin(j);
		json_kv_string(j, "name", p->attachments[i]->name);
		json_kv_string(j, "media_type", p->attachments[i]->media_type);
		json_kv_u64(j, "size", p->attachments[i]->data.len);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_u64(j, "valid_until_ms", p->valid_until_ms);
	json_kv_bool(j, "forwardable", p->forwardable);
	json_kv_u64(j, "hop_limit", p->hop_limit);
}

static void json_card(struct json *j, const char *key, const Coex__Card *c)
{
	size_t i;

	json_key(j, key);
	if (!c) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kv_string(j, "name", c->name);
	json_kv_key(j, "id", &c->id);
	json_key(j, "addresses");
	json_array_begin(j);
	for (i = 0; i < c->n_addresses; i++)
		json_string(j, c->addresses[i]);
	json_array_end(j);
	json_kv_u64(j, "time_ms", c->time_ms);
	json_object_end(j);
}

static void json_contact(struct json *j, const Coex__Contact *c)
{
	json_key(j, "contact");
	if (!c) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kv_string(j, "name", c->name);
	json_kv_string(j, "organization", c->organization);
	json_kv_string(j, "email", c->email);
	json_kv_string(j, "phone", c->phone);
	json_kv_string(j, "consent", c->consent);
	json_object_end(j);
}

static void json_response_fields(struct json *j, const Coex__Response *r)
{
	json_kv_string(j, "decision", msg_view_decision(r->decision));
	json_kv_string(j, "note", r->note);
	json_kv_hex(j, "proposal_hash", &r->proposal_hash);
	json_key(j, "counter");
	if (!r->counter) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_proposal_fields(j, r->counter);
	json_object_end(j);
}

static void json_referral_fields(struct json *j, const Coex__Referral *r)
{
	json_kv_string(j, "note", r->note);
	json_kv_hex(j, "intro_id", &r->intro_id);
	json_card(j, "card", r->subject_case == COEX__REFERRAL__SUBJECT_CARD ? r->card : NULL);
	json_contact(j, r->subject_case == COEX__REFERRAL__SUBJECT_CONTACT ? r->contact : NULL);
}

static void json_answer_fields(struct json *j, const Coex__ReferralAnswer *a)
{
	json_kv_hex(j, "intro_id", &a->intro_id);
	json_kv_bool(j, "accept", a->accept);
	json_kv_string(j, "note", a->note);
	json_card(j, "card", a->card);
}

/* The original inside a forwarded body: its header and, for a proposal, its fields. */
static void json_forwarded_fields(struct json *j, const Coex__Body *b)
{
	char via[BODY_HOPS_MAX][IDENTITY_ID_LEN + 1];
	const Coex__Proposal *p;
	Coex__Body *orig;
	size_t n;

	json_kv_string(j, "note", b->forwarded->note);
	json_kv_u64(j, "hops_left", b->forwarded->hops_left);
	n = msg_view_forwarders(b, via, BODY_HOPS_MAX);
	json_key(j, "forwarded_earlier_by");
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, via[i]);
	json_array_end(j);
	json_key(j, "original");
	if (!(p = msg_view_proposal(b, &orig))) {
		json_null(j);
		coex__body__free_unpacked(orig, NULL);
		return;
	}
	json_object_begin(j);
	json_kv_hex(j, "id", &orig->id);
	json_kv_key(j, "author", &orig->author);
	json_kv_key(j, "recipient", &orig->recipient);
	json_kv_u64(j, "created_ms", orig->created_ms);
	json_kv_u64(j, "expires_ms", orig->expires_ms);
	json_kv_string(j, "kind", body_kind(orig));
	json_proposal_fields(j, p);
	json_object_end(j);
	coex__body__free_unpacked(orig, NULL);
}

static void json_body(struct json *j, const Coex__Body *b)
{
	json_key(j, "body");
	if (!b) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kv_hex(j, "id", &b->id);
	json_kv_string(j, "kind", body_kind(b));
	switch (b->kind_case) {
	case COEX__BODY__KIND_PROPOSAL: json_proposal_fields(j, b->proposal); break;
	case COEX__BODY__KIND_RESPONSE: json_response_fields(j, b->response); break;
	case COEX__BODY__KIND_REFERRAL: json_referral_fields(j, b->referral); break;
	case COEX__BODY__KIND_REFERRAL_ANSWER: json_answer_fields(j, b->referral_answer); break;
	case COEX__BODY__KIND_FORWARDED: json_forwarded_fields(j, b); break;
	default: break;
	}
	json_object_end(j);
}

void msg_view_json(struct json *j, const Coex__MessageInfo *m, int full)
{
	json_object_begin(j);
	json_kv_string(j, "id", m->id);
	json_kv_string(j, "kind", m->kind);
	json_kv_string(j, "state", m->state);
	json_kv_string(j, "direction", m->direction);
	json_kv_string(j, "peer", m->peer);
	json_kv_string(j, "peer_id", m->peer_id);
	json_kv_string(j, "author", m->author);
	json_kv_string(j, "recipient", m->recipient);
	json_kv_string(j, "title", m->title);
	json_kv_u64(j, "created_ms", m->created_ms);
	json_kv_u64(j, "expires_ms", m->expires_ms);
	json_kv_string(j, "thread", m->thread);
	json_kv_string(j, "reply_to", m->reply_to);
	json_kv_u64(j, "log_index", m->log_index);
	if (full) {
		json_kv_bool(j, "verified", m->verified);
		json_kv_bool(j, "receipt_verified", m->receipt_verified);
		json_body(j, m->body);
	}
	json_object_end(j);
}
