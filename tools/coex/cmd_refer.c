/* The referral verbs: refer, introductions, answer, forward (design.md section 4).
 *
 * refer passes a lead to a partner: a contact (a person or company without a node, shared
 * under a stated consent) or another partner, introduced. answer accepts or declines an
 * introduction this node is a subject of; forward re-authors a received forwardable proposal
 * for another partner. The daemon does the work; this file checks the command line, builds
 * the request and prints the result. Names, notes and states come from the daemon or a peer
 * and are printed terminal-safe, each on its own line. */
#include "cli.h"

#include "crypto/identity.h"
#include "draft.h"
#include "json.h"
#include "lib/err.h"
#include "msg_view.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	SAFE_MAX = 4,  /* strings one line of output quotes */
	NOTE_W = 40,   /* columns of a note shown in the introductions table */
};

/* ------------------------------------------------------------------ one-line output */

/* Strings made safe to quote on one line of ours (a newline or escape in a name becomes
 * '?', so it cannot start a line of its own or drive the terminal), freed together. */
struct safe {
	char *s[SAFE_MAX];
	size_t n;
	int oom;
};

static const char *safe_str(struct safe *sf, const char *s)
{
	char *t;

	if (sf->n >= SAFE_MAX || !(t = util_term_safe(s ? s : ""))) {
		sf->oom = 1;
		return "?";
	}
	sf->s[sf->n++] = t;
	return t;
}

static int safe_done(const struct cli *cli, struct safe *sf)
{
	while (sf->n > 0)
		free(sf->s[--sf->n]);
	return sf->oom ? cli_fail(cli, "out of memory") : CLI_EXIT_OK;
}

static void short_hex(const char *id, char out[MSG_VIEW_SHORT_ID + 1])
{
	snprintf(out, MSG_VIEW_SHORT_ID + 1, "%s", id);
}

/* The partner a message went to: the daemon's name for it, else what the user gave. */
static const char *peer_of(const Coex__MessageInfo *m, const char *given)
{
	return *m->peer ? m->peer : given;
}

/* ------------------------------------------------------------------ contacts */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

/* An email address as far as the command line can tell: one '@' with text on both sides,
 * no blanks, quotes or angle brackets. The daemon checks it again. */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t\"<>");
}

/* Splits "Name <email>", "<email>", a bare email or a bare name, in place in s. A name may
 * be in double quotes ("\"Ruiz, Dana\" <dana@hooli.example>"). Returns 0 and writes *name
 * and *email ("" for the part not given), or ERR_INVAL. */
static int contact_parse(char *s, const char **name, const char **email)
{
	char *lt, *gt, *n;
	size_t len;

	s = trim(s);
	lt = strchr(s, '<');
	gt = strrchr(s, '>');
	if (!lt && !gt) {
		*name = strchr(s, '@') ? "" : s;
		*email = strchr(s, '@') ? s : "";
		return *s && (!**email || email_ok(*email)) ? 0 : ERR_INVAL;
	}
	if (!lt || !gt || gt < lt || gt[1] != '\0' || strchr(lt + 1, '<') || strchr(s, '>') != gt)
		return ERR_INVAL;
	*lt = *gt = '\0';
	n = trim(s);
	len = strlen(n);
	if (len >= 2 && n[0] == '"' && n[len - 1] == '"') {
		n[len - 1] = '\0';
		n = trim(n + 1);
	}
	*name = n;
	*email = trim(lt + 1);
	return email_ok(*email) && !strchr(n, '"') ? 0 : ERR_INVAL;
}

/* Reads the contact options into c, pointing into argv and into *buf, a copy of --contact
 * split in place (the caller frees it, also on error). */
static int contact_build(const struct cli *cli, Coex__Contact *c, char **buf)
{
	const char *v = cli_opt(cli, "--contact"), *consent, *name, *email;
	int rc = CLI_EXIT_OK;

	if (!draft_text_opt(cli, "--contact", &rc) ||
	    !(consent = draft_text_opt(cli, "--consent", &rc)) ||
	    !(c->phone = (char *)draft_text_opt(cli, "--phone", &rc)) ||
	    !(c->organization = (char *)draft_text_opt(cli, "--org", &rc)))
		return rc;
	if (!cli_opt(cli, "--consent"))
		return cli_usage(cli, "--contact needs --consent TEXT: a contact's details are "
				 "shared only under a stated consent (how and when they agreed)");
	if (consent[strspn(consent, " \t")] == '\0')
		return cli_usage(cli, "--consent is empty: say under what consent the contact's "
				 "details are shared");
	if (!(*buf = strdup(v)))
		return cli_fail(cli, "out of memory");
	if (contact_parse(*buf, &name, &email) != 0)
		return cli_usage(cli, "cannot read --contact '%s': give \"Name <email>\", an email "
				 "address or a name", v);
	c->name = (char *)name;
	c->email = (char *)email;
	c->consent = (char *)consent;
	return CLI_EXIT_OK;
}

/* "Dana Ruiz <dana@hooli.example>", or whichever of the two there is. */
static void contact_format(const Coex__Contact *c, char *out, size_t len)
{
	if (*c->name && *c->email)
		snprintf(out, len, "%s <%s>", c->name, c->email);
	else
		snprintf(out, len, "%s", *c->name ? c->name : c->email);
}

/* ------------------------------------------------------------------ refer */

static int refer_send(const struct cli *cli, Coex__ReferRequest *q, Coex__CtlResponse **resp)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	int rc = CLI_EXIT_OK;

	if (!(q->note = (char *)draft_text_opt(cli, "--note", &rc)))
		return rc;
	req.cmd_case = COEX__CTL_REQUEST__CMD_REFER;
	req.refer = q;
	return cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, resp);
}

static int contact_print(const struct cli *cli, const Coex__Contact *c,
			 const Coex__MessageInfo *m, const char *to)
{
	struct safe sf = { 0 };
	struct json j;
	char *who;
	size_t len = strlen(c->name) + strlen(c->email) + 4;

	if (!cli->json) {
		if (!(who = malloc(len)))
			return cli_fail(cli, "out of memory");
		contact_format(c, who, len);
		printf("referred %s to %s\n", safe_str(&sf, who), safe_str(&sf, peer_of(m, to)));
		printf("%s\n", safe_str(&sf, m->id));
		free(who);
		return safe_done(cli, &sf);
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", m->id);
	json_kv_string(&j, "kind", "referral");
	json_kv_string(&j, "state", m->state);
	json_kv_string(&j, "peer", peer_of(m, to));
	json_key(&j, "contact");
	json_object_begin(&j);
	json_kv_string(&j, "name", c->name);
	json_kv_string(&j, "email", c->email);
	json_kv_string(&j, "phone", c->phone);
	json_kv_string(&j, "organization", c->organization);
	json_kv_string(&j, "consent", c->consent);
	json_object_end(&j);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static int refer_contact(struct cli *cli, const char *to)
{
	Coex__ReferRequest q = COEX__REFER_REQUEST__INIT;
	Coex__Contact c = COEX__CONTACT__INIT;
	Coex__CtlResponse *resp;
	char *buf = NULL;
	int rc;

	if ((rc = contact_build(cli, &c, &buf)) == CLI_EXIT_OK) {
		q.to = (char *)to;
		q.contact = &c;
		if ((rc = refer_send(cli, &q, &resp)) == CLI_EXIT_OK) {
			rc = contact_print(cli, &c, resp->message, to);
			coex__ctl_response__free_unpacked(resp, NULL);
		}
	}
	free(buf);
	return rc;
}

static int intro_print(const struct cli *cli, const Coex__MessageInfo *m, const char *to,
		       const char *other)
{
	struct safe sf = { 0 };
	char intro[MSG_VIEW_SHORT_ID + 1];
	struct json j;

	if (!*m->thread)
		return cli_fail(cli, "coexd sent the introduction (message %s) but did not say its "
				"id; are coex and coexd the same version?", m->id);
	if (!cli->json) {
		short_hex(m->thread, intro);
		printf("introduction %s sent to %s and %s\n", safe_str(&sf, intro),
		       safe_str(&sf, to), safe_str(&sf, other));
		printf("%s\n", safe_str(&sf, m->thread));
		return safe_done(cli, &sf);
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "intro", m->thread);
	json_kv_string(&j, "id", m->id);
	json_kv_string(&j, "state", m->state);
	json_kv_string(&j, "to", to);
	json_kv_string(&j, "introduce", other);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static int refer_introduce(struct cli *cli, const char *to, const char *other)
{
	static const char *const contact_only[] = { "--consent", "--phone", "--org" };
	Coex__ReferRequest q = COEX__REFER_REQUEST__INIT;
	Coex__CtlResponse *resp;
	size_t i;
	int rc;

	if (!*other)
		return cli_usage(cli, "--introduce needs a partner");
	for (i = 0; i < sizeof contact_only / sizeof contact_only[0]; i++)
		if (cli_opt(cli, contact_only[i]))
			return cli_usage(cli, "%s goes only with --contact", contact_only[i]);
	q.to = (char *)to;
	q.introduce = (char *)other;
	if ((rc = refer_send(cli, &q, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = intro_print(cli, resp->message, to, other);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int cmd_refer(struct cli *cli)
{
	const char *to = cli_opt(cli, "--to"), *other = cli_opt(cli, "--introduce");
	const char *contact = cli_opt(cli, "--contact");

	if (!to || !*to)
		return cli_usage(cli, "missing --to PARTNER");
	if (!other == !contact)
		return cli_usage(cli, "give exactly one of --introduce PARTNER and --contact CONTACT");
	return other ? refer_introduce(cli, to, other) : refer_contact(cli, to);
}

/* ------------------------------------------------------------------ introductions */

/* The start of a note for a table cell: line breaks and tabs as spaces, at most NOTE_W
 * columns ("..." marks a cut). The caller frees; NULL if out of memory. */
static char *note_cell(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, cols = 0, len = strlen(s);
	uint32_t cp;
	char *out;

	while (i < len && cols < NOTE_W) {
		n = util_utf8_decode(p + i, len - i, &cp);
		i += n ? n : 1;
		cols++;
	}
	if (!(out = malloc(i + 4)))
		return NULL;
	memcpy(out, s, i);
	strcpy(out + i, i < len ? "..." : "");
	for (n = 0; n < i; n++)
		if (out[n] == '\n' || out[n] == '\r' || out[n] == '\t')
			out[n] = ' ';
	return out;
}

static int intro_row(struct table *t, const Coex__IntroductionInfo *in, uint64_t now)
{
	char id[MSG_VIEW_SHORT_ID + 1], fpr[IDENTITY_FPR_LEN + 1], when[48], *other, *note;
	size_t len = strlen(in->other) + sizeof fpr + 4;
	int r = 0;

	short_hex(in->id, id);
	snprintf(fpr, sizeof fpr, "%s", in->other_id);
	util_time_relative(in->created_ms, now, when, sizeof when);
	other = malloc(len);
	note = note_cell(in->note);
	if (other && note) {
		if (*in->other && *fpr)
			snprintf(other, len, "%s (%s)", in->other, fpr);
		else
			snprintf(other, len, "%s", *in->other ? in->other : fpr);
		table_row(t, id, in->role, in->introducer, other, in->state, note, when);
	} else {
		r = ERR_NOMEM;
	}
	free(other);
	free(note);
	return r;
}

static int intros_print(const struct cli *cli, const Coex__IntroductionList *l)
{
	static const char *const hdr[] = { "ID", "ROLE", "INTRODUCER", "OTHER", "STATE", "NOTE",
					   "WHEN" };
	uint64_t now = util_now_ms();
	struct table *t;
	size_t i;
	int r = 0;

	if (l->n_introductions == 0) {
		cli_print("no introductions; make one with 'coex refer --to P --introduce Q'\n");
		return CLI_EXIT_OK;
	}
	if (!(t = table_new(7, hdr)))
		return cli_fail(cli, "out of memory");
	for (i = 0; i < l->n_introductions && r == 0; i++)
		r = intro_row(t, l->introductions[i], now);
	if (r == 0)
		r = table_print(t, stdout);
	table_free(t);
	return r ? cli_fail(cli, "printing the introductions: %s", err_str(r)) : CLI_EXIT_OK;
}

static int intros_json(const struct cli *cli, const Coex__IntroductionList *l)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_array_begin(&j);
	for (i = 0; i < l->n_introductions; i++) {
		const Coex__IntroductionInfo *in = l->introductions[i];

		json_object_begin(&j);
		json_kv_string(&j, "id", in->id);
		json_kv_string(&j, "role", in->role);
		json_kv_string(&j, "introducer", in->introducer);
		json_kv_string(&j, "other", in->other);
		json_kv_string(&j, "other_id", in->other_id);
		json_kv_string(&j, "state", in->state);
		json_kv_string(&j, "note", in->note);
		json_kv_u64(&j, "created_ms", in->created_ms);
		json_object_end(&j);
	}
	json_array_end(&j);
	return cli_json_finish(cli, &j);
}

static int cmd_introductions(struct cli *cli)
{
	Coex__IntroductionsRequest q = COEX__INTRODUCTIONS_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_INTRODUCTIONS;
	req.introductions = &q;
	rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_INTRODUCTIONS, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		rc = intros_json(cli, resp->introductions);
	else
		rc = intros_print(cli, resp->introductions);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ answer */

static int answer_print(const struct cli *cli, const Coex__AnswerRequest *q,
			const Coex__MessageInfo *m)
{
	struct safe sf = { 0 };
	const char *intro = *m->thread ? m->thread : q->intro;
	char shown[MSG_VIEW_SHORT_ID + 1];
	struct json j;

	if (!cli->json) {
		short_hex(intro, shown);
		printf("%s introduction %s: answer queued to %s\n",
		       q->accept ? "accepted" : "declined", safe_str(&sf, shown),
		       safe_str(&sf, peer_of(m, "the introducer")));
		if (q->accept)
			printf("you become partners once the other side accepts too "
			       "('coex introductions' shows the state)\n");
		printf("%s\n", safe_str(&sf, m->id));
		return safe_done(cli, &sf);
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", m->id);
	json_kv_string(&j, "intro", intro);
	json_kv_bool(&j, "accept", q->accept);
	json_kv_string(&j, "state", m->state);
	json_kv_string(&j, "peer", m->peer);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static int cmd_answer(struct cli *cli)
{
	Coex__AnswerRequest q = COEX__ANSWER_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc = CLI_EXIT_OK;

	if (strcmp(cli->argv[1], "accept") != 0 && strcmp(cli->argv[1], "decline") != 0)
		return cli_usage(cli, "unknown answer '%s' (accept or decline)", cli->argv[1]);
	q.intro = cli->argv[0];
	q.accept = strcmp(cli->argv[1], "accept") == 0;
	if (!(q.note = (char *)draft_text_opt(cli, "--note", &rc)))
		return rc;
	req.cmd_case = COEX__CTL_REQUEST__CMD_ANSWER;
	req.answer = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = answer_print(cli, &q, resp->message);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ forward */

static int forward_print(const struct cli *cli, const Coex__ForwardRequest *q,
			 const Coex__MessageInfo *m)
{
	struct safe sf = { 0 };
	struct json j;

	if (!cli->json) {
		printf("forwarded to %s\n", safe_str(&sf, peer_of(m, q->to)));
		printf("%s\n", safe_str(&sf, m->id));
		return safe_done(cli, &sf);
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", m->id);
	json_kv_string(&j, "kind", "forwarded");
	json_kv_string(&j, "state", m->state);
	json_kv_string(&j, "peer", peer_of(m, q->to));
	json_kv_string(&j, "original", q->message);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static int cmd_forward(struct cli *cli)
{
	Coex__ForwardRequest q = COEX__FORWARD_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *to = cli_opt(cli, "--to");
	int rc = CLI_EXIT_OK;

	if (!to || !*to)
		return cli_usage(cli, "missing --to PARTNER");
	q.message = cli->argv[0];
	q.to = (char *)to;
	if (!(q.note = (char *)draft_text_opt(cli, "--note", &rc)))
		return rc;
	req.cmd_case = COEX__CTL_REQUEST__CMD_FORWARD;
	req.forward = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = forward_print(cli, &q, resp->message);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ the table */

static const struct cli_opt refer_opts[] = {
	{ "--to", "PARTNER", "the partner who gets the referral (required)" },
	{ "--introduce", "PARTNER", "a partner to introduce to the one of --to, and back" },
	{ "--contact", "CONTACT", "a lead: \"Name <email>\", an email address or a name" },
	{ "--consent", "TEXT", "with --contact: the consent under which its details are shared" },
	{ "--phone", "PHONE", "with --contact: the contact's phone number" },
	{ "--org", "ORG", "with --contact: the contact's company or organization" },
	{ "--note", "TEXT", "a note to go with the referral" },
	{ 0 },
};

static const struct cli_opt note_opts[] = {
	{ "--note", "TEXT", "a note to go with the answer" },
	{ 0 },
};

static const struct cli_opt forward_opts[] = {
	{ "--to", "PARTNER", "the partner it goes to (required)" },
	{ "--note", "TEXT", "a note to go with it" },
	{ 0 },
};

const struct cli_cmd cmd_refer_cmds[] = {
	{ "refer", "--to P (--introduce Q | --contact CONTACT --consent TEXT) [OPTIONS]",
	  "pass a lead to a partner, or introduce two partners",
	  "With --contact, sends partner P a lead: a person or company without a node, with\n"
	  "the consent under which its details are shared (--consent is required). Prints\n"
	  "\"referred CONTACT to P\" and the message id alone on the last line.\n"
	  "With --introduce, introduces partners P and Q to each other: each gets a card of\n"
	  "the other, without addresses, and answers with 'coex answer'. Only when both\n"
	  "accept does each get the other's full card; then they are partners, marked\n"
	  "\"introduced by\" this node. Prints the introduction id alone on the last line.",
	  "coex refer --to globex --contact \"Dana Ruiz <dana@hooli.example>\" --org Hooli \\\n"
	  "    --consent \"Dana agreed on 2024-05-02 to be put in touch about cold-chain pilots\"\n"
	  "coex refer --to globex --introduce initech --note \"You both ship to Rotterdam\"",
	  refer_opts, 0, 0, 0, cmd_refer },
	{ "introductions", "", "list the introductions made by or to this node",
	  "Lists the introductions this node made (role introducer) or was made part of (role\n"
	  "subject): id (first 12 hex characters), role, who introduced, the other side (its\n"
	  "name and the first 8 characters of its id), state (pending, accepted, declined,\n"
	  "completed), note and age.",
	  "coex introductions\n"
	  "coex introductions --json | jq -r '.[] | select(.state == \"pending\") | .id'",
	  NULL, 0, 0, 0, cmd_introductions },
	{ "answer", "INTRO_ID accept|decline [--note TEXT]", "accept or decline an introduction",
	  "Answers the introduction INTRO_ID (its id or an unambiguous prefix; see 'coex\n"
	  "introductions'). An accept sends this node's own signed card, with its addresses,\n"
	  "to be passed on once the other side accepts too. The answer's message id is printed\n"
	  "alone on the last line.",
	  "coex answer 9c04e1 accept --note \"Happy to talk\"\ncoex answer 9c04e1 decline",
	  note_opts, 2, 2, 0, cmd_answer },
	{ "forward", "ID --to P [--note TEXT]", "forward a received proposal to another partner",
	  "Forwards the proposal ID (received and marked forwardable by its author, or a\n"
	  "forward of one with hops left; its id or an unambiguous prefix) to partner P:\n"
	  "signed by this node, holding the signed message as received. P can answer the\n"
	  "author, relayed back along the path. Never to a node the proposal came through,\n"
	  "nor twice to one partner. [partner NAME] forward_to in coex.conf does this\n"
	  "without an operator.\n"
	  "Prints \"forwarded to P\" and the new message id alone on the last line.",
	  "coex forward 3fa2c1 --to initech --note \"Fits your Rotterdam lanes\"",
	  forward_opts, 1, 1, 0, cmd_forward },
	{ 0 },
};
