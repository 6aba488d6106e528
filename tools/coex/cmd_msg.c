/* The message verbs: propose, respond, inbox, outbox, show, thread.
 *
 * propose and respond build a request from the command line with draft.c; the others ask
 * the daemon for messages and format them with msg_view.c. Everything a message holds came
 * from a peer and is printed terminal-safe. */
#include "cli.h"

#include "crypto/identity.h"
#include "draft.h"
#include "json.h"
#include "lib/err.h"
#include "msg_view.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	SAVE_DIR_MODE = 0755,
	SAVE_FILE_MODE = 0666,    /* less the umask */
};

/* "queued WHAT to PEER", then the id alone on the last line; or {id, kind, state, peer,
 * decision} as JSON. The peer is the daemon's name for it, else to (what the user gave, or
 * NULL); decision is NULL for a proposal. */
static int queued_print(const struct cli *cli, const char *decision, const char *to,
			const Coex__MessageInfo *m)
{
	struct json j;

	to = *m->peer ? m->peer : to;
	if (!cli->json) {
		cli_print("queued %s%s%s\n%s\n", decision ? decision : "proposal", to ? " to " : "",
			  to ? to : "", m->id);
		return CLI_EXIT_OK;
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", m->id);
	json_kv_string(&j, "kind", decision ? "response" : "proposal");
	json_kv_string(&j, "state", m->state);
	json_kv_string(&j, "peer", to);
	if (decision)
		json_kv_string(&j, "decision", decision);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

/* ------------------------------------------------------------------ propose */

static int cmd_propose(struct cli *cli)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *to = cli_opt(cli, "--to");
	struct draft d;
	int rc;

	if (!to || !*to)
		return cli_usage(cli, "missing --to PARTNER");
	if ((rc = draft_build(cli, &d)) == CLI_EXIT_OK) {
		d.q.to = (char *)to;
		req.cmd_case = COEX__CTL_REQUEST__CMD_PROPOSE;
		req.propose = &d.q;
		rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, &resp);
	}
	draft_free(&d);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = queued_print(cli, NULL, to, resp->message);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ respond */

static int decision_parse(const char *s, Coex__Decision *out)
{
	static const Coex__Decision all[] = {
		COEX__DECISION__DECISION_ACCEPT, COEX__DECISION__DECISION_DECLINE,
		COEX__DECISION__DECISION_COUNTER, COEX__DECISION__DECISION_WITHDRAW,
	};
	size_t i;

	for (i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(s, msg_view_decision(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return ERR_INVAL;
}

static int respond_send(struct cli *cli, Coex__RespondRequest *q)
{
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_RESPOND;
	req.respond = q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = queued_print(cli, msg_view_decision(q->decision), NULL, resp->message);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int cmd_respond(struct cli *cli)
{
	Coex__RespondRequest q = COEX__RESPOND_REQUEST__INIT;
	const char *opt;
	struct draft d;
	int rc = CLI_EXIT_OK;

	if (decision_parse(cli->argv[1], &q.decision) != 0)
		return cli_usage(cli, "unknown decision '%s' (accept, decline, counter or withdraw)",
				 cli->argv[1]);
	q.message = cli->argv[0];
	if (!(q.note = (char *)draft_text_opt(cli, "--note", &rc)))
		return rc;
	if (q.decision != COEX__DECISION__DECISION_COUNTER) {
		if ((opt = draft_opt_given(cli)))
			return cli_usage(cli, "%s goes only with 'counter'", opt);
		return respond_send(cli, &q);
	}
	if ((rc = draft_build(cli, &d)) == CLI_EXIT_OK) {
		q.counter = &d.q;
		rc = respond_send(cli, &q);
	}
	draft_free(&d);
	return rc;
}

/* ------------------------------------------------------------------ inbox, outbox */

static void short_id(const char *id, char out[MSG_VIEW_SHORT_ID + 1])
{
	snprintf(out, MSG_VIEW_SHORT_ID + 1, "%s", id);
}

static int list_print(const struct cli *cli, const Coex__MessageList *l, int inbox)
{
	static const char *const hdr[] = { "ID", "KIND", "STATE", "PEER", "TITLE", "WHEN" };
	uint64_t now = util_now_ms();
	struct table *t;
	size_t i;
	int r;

	if (l->n_messages == 0) {
		cli_print("%s\n", inbox ? "no messages received" : "no messages sent");
		return CLI_EXIT_OK;
	}
	if (!(t = table_new(6, hdr)))
		return cli_fail(cli, "out of memory");
	for (i = 0; i < l->n_messages; i++) {
		const Coex__MessageInfo *m = l->messages[i];
		char id[MSG_VIEW_SHORT_ID + 1], when[48];

		short_id(m->id, id);
		util_time_relative(m->created_ms, now, when, sizeof when);
		table_row(t, id, m->kind, m->state, *m->peer ? m->peer : m->peer_id, m->title, when);
	}
	r = table_print(t, stdout);
	table_free(t);
	return r ? cli_fail(cli, "printing the messages: %s", err_str(r)) : CLI_EXIT_OK;
}

/* A list of messages as a JSON array; full adds each one's body (thread). */
static int list_json(const struct cli *cli, const Coex__MessageList *l, int full)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_array_begin(&j);
	for (i = 0; i < l->n_messages; i++)
		msg_view_json(&j, l->messages[i], full);
	json_array_end(&j);
	return cli_json_finish(cli, &j);
}

static int list_run(struct cli *cli, int inbox)
{
	Coex__ListRequest q = COEX__LIST_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *limit = cli_opt(cli, "--limit");
	uint64_t n = 0;
	int rc;

	if (limit && draft_parse_u64(limit, 1, UINT32_MAX, &n) != 0)
		return cli_usage(cli, "invalid --limit '%s': a positive number", limit);
	q.inbox = inbox;
	q.limit = (uint32_t)n;
	req.cmd_case = COEX__CTL_REQUEST__CMD_LIST;
	req.list = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGES, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		rc = list_json(cli, resp->messages, 0);
	else
		rc = list_print(cli, resp->messages, inbox);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int cmd_inbox(struct cli *cli) { return list_run(cli, 1); }
static int cmd_outbox(struct cli *cli) { return list_run(cli, 0); }

/* ------------------------------------------------------------------ show */

/* A name from a peer that is safe to use as a file name in a directory of our choosing. */
static int save_name_ok(const char *name)
{
	char *safe;
	int ok;

	if (!*name || name[0] == '.' || strchr(name, '/'))
		return 0;
	safe = util_term_safe(name);
	ok = safe && strcmp(safe, name) == 0; /* no control characters, valid UTF-8 */
	free(safe);
	return ok;
}

/* Writes one attachment as DIR/NAME, never replacing an existing file. */
static int save_one(const struct cli *cli, const char *dir, const Coex__Attachment *a)
{
	char path[CLI_PATH_MAX];
	size_t off = 0;
	ssize_t w;
	int fd, r = 0;

	if (util_path_join(path, sizeof path, dir, a->name) != 0)
		return cli_fail(cli, "path too long: %s/%s", dir, a->name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SAVE_FILE_MODE);
	if (fd < 0)
		return cli_fail(cli, "cannot create %s: %s", path, strerror(errno));
	while (off < a->data.len && r == 0) {
		if ((w = write(fd, a->data.data + off, a->data.len - off)) >= 0)
			off += (size_t)w;
		else if (errno != EINTR)
			r = -errno;
	}
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r != 0) {
		unlink(path);
		return cli_fail(cli, "writing %s: %s", path, err_str(r));
	}
	fprintf(cli->json ? stderr : stdout, "saved %s (%zu bytes)\n", path, a->data.len);
	return CLI_EXIT_OK;
}

/* --save-attachments DIR: every name is checked before any file is written. */
static int save_attachments(const struct cli *cli, const Coex__MessageInfo *m, const char *dir)
{
	const Coex__Proposal *p = NULL;
	Coex__Body *orig = NULL;
	size_t i;
	int rc = CLI_EXIT_OK, r;

	if (!m->verified)
		return cli_fail(cli, "not saving attachments: the message's signatures did not verify");
	if (m->body)
		p = msg_view_proposal(m->body, &orig);
	for (i = 0; p && i < p->n_attachments && rc == CLI_EXIT_OK; i++)
		if (!save_name_ok(p->attachments[i]->name))
			rc = cli_fail(cli, "not saving attachments: unsafe file name '%s' (a name may "
				      "not contain '/' or start with '.')", p->attachments[i]->name);
	if (rc == CLI_EXIT_OK && p && p->n_attachments && (r = util_mkdir_p(dir, SAVE_DIR_MODE)))
		rc = cli_fail(cli, "cannot create %s: %s", dir, err_str(r));
	for (i = 0; p && i < p->n_attachments && rc == CLI_EXIT_OK; i++)
		rc = save_one(cli, dir, p->attachments[i]);
	if (rc == CLI_EXIT_OK && (!p || !p->n_attachments))
		fprintf(cli->json ? stderr : stdout, "no attachments to save\n");
	coex__body__free_unpacked(orig, NULL);
	return rc;
}

static int cmd_show(struct cli *cli)
{
	Coex__ShowRequest q = COEX__SHOW_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *dir = cli_opt(cli, "--save-attachments");
	struct json j;
	int rc;

	if (dir && !*dir)
		return cli_usage(cli, "--save-attachments needs a directory");
	q.message = cli->argv[0];
	req.cmd_case = COEX__CTL_REQUEST__CMD_SHOW;
	req.show = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGE, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		json_init(&j, stdout);
		msg_view_json(&j, resp->message, 1);
		rc = cli_json_finish(cli, &j);
	} else {
		msg_view_print(resp->message, util_now_ms());
	}
	if (rc == CLI_EXIT_OK && dir)
		rc = save_attachments(cli, resp->message, dir);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ thread */

static int thread_table(const struct cli *cli, const Coex__MessageList *l)
{
	static const char *const hdr[] = { "ID", "DIR", "KIND", "DECISION", "STATE", "PEER",
					   "TITLE", "WHEN" };
	uint64_t now = util_now_ms();
	struct table *t;
	size_t i;
	int r;

	if (!(t = table_new(8, hdr)))
		return cli_fail(cli, "out of memory");
	for (i = 0; i < l->n_messages; i++) {
		const Coex__MessageInfo *m = l->messages[i];
		const Coex__Response *resp = msg_view_response(m);
		char id[MSG_VIEW_SHORT_ID + 1], when[48];

		short_id(m->id, id);
		util_time_relative(m->created_ms, now, when, sizeof when);
		table_row(t, id, m->direction, m->kind, resp ? msg_view_decision(resp->decision) : "-",
			  m->state, *m->peer ? m->peer : m->peer_id, m->title, when);
	}
	r = table_print(t, stdout);
	table_free(t);
	return r ? cli_fail(cli, "printing the thread: %s", err_str(r)) : CLI_EXIT_OK;
}

/* The node id of whoever authored the proposal m carries (a forwarded one's original
 * author); "" if m carries none, or its body is not at hand to tell. */
static void proposal_author(const Coex__MessageInfo *m, char out[IDENTITY_ID_LEN + 1])
{
	Coex__Body *orig = NULL;

	out[0] = '\0';
	if (!m->body && strcmp(m->kind, "proposal") == 0)
		snprintf(out, IDENTITY_ID_LEN + 1, "%s", m->author);
	else if (m->body && msg_view_proposal(m->body, &orig) && !orig)
		snprintf(out, IDENTITY_ID_LEN + 1, "%s", m->author);
	else if (orig && orig->author.len == IDENTITY_PK_LEN)
		identity_id_format(orig->author.data, out);
	coex__body__free_unpacked(orig, NULL);
}

/* The thread ends in an agreement if its last response accepts a message of the thread
 * that carries a proposal. Writes the two signers' ids: the proposal's author, then the
 * acceptor's. */
static int thread_agreement(const Coex__MessageList *l, char a[IDENTITY_ID_LEN + 1],
			    const char **b)
{
	const Coex__MessageInfo *acc = NULL;
	const Coex__Response *r;
	size_t i;

	for (i = l->n_messages; i > 0 && !acc; i--)
		if (strcmp(l->messages[i - 1]->kind, "response") == 0)
			acc = l->messages[i - 1];
	if (!acc || !*acc->reply_to || !(r = msg_view_response(acc)) ||
	    r->decision != COEX__DECISION__DECISION_ACCEPT)
		return 0;
	for (i = 0; i < l->n_messages; i++)
		if (strcmp(l->messages[i]->id, acc->reply_to) == 0)
			break;
	if (i == l->n_messages)
		return 0;
	proposal_author(l->messages[i], a);
	*b = acc->author;
	return *a != '\0';
}

/* A signer's name, on one line: this node's, a partner's as the thread shows it, or its
 * fingerprint. The caller frees it; NULL if out of memory. */
static char *signer_name(const Coex__MessageList *l, const Coex__IdResult *self, const char *id)
{
	char fpr[IDENTITY_FPR_LEN + 1];
	size_t i;

	if (strcmp(id, self->id) == 0)
		return util_term_safe(self->name);
	for (i = 0; i < l->n_messages; i++)
		if (strcmp(l->messages[i]->peer_id, id) == 0 && *l->messages[i]->peer)
			return util_term_safe(l->messages[i]->peer);
	snprintf(fpr, sizeof fpr, "%s", id);
	return util_term_safe(fpr);
}

static int thread_print_agreement(const struct cli *cli, const Coex__MessageList *l)
{
	Coex__IdRequest q = COEX__ID_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	char a[IDENTITY_ID_LEN + 1], *na, *nb;
	const char *b;
	int rc;

	if (!thread_agreement(l, a, &b))
		return CLI_EXIT_OK;
	req.cmd_case = COEX__CTL_REQUEST__CMD_ID;
	req.id = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_ID, &resp)) != CLI_EXIT_OK)
		return rc;
	/* Made safe one by one: a newline in a name must not start a line of ours. */
	na = signer_name(l, resp->id, a);
	nb = signer_name(l, resp->id, b);
	if (na && nb)
		printf("\nagreement: co-signed by %s and %s\n", na, nb);
	else
		rc = cli_fail(cli, "out of memory");
	free(na);
	free(nb);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int cmd_thread(struct cli *cli)
{
	Coex__ShowRequest q = COEX__SHOW_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	q.message = cli->argv[0];
	req.cmd_case = COEX__CTL_REQUEST__CMD_THREAD;
	req.thread = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_MESSAGES, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		rc = list_json(cli, resp->messages, 1);
	else if ((rc = thread_table(cli, resp->messages)) == CLI_EXIT_OK)
		rc = thread_print_agreement(cli, resp->messages);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ the table */

static const struct cli_opt propose_opts[] = {
	{ "--to", "PARTNER", "the partner: local name, id or id prefix (required)" },
	DRAFT_OPTS,
	{ 0 },
};

static const struct cli_opt respond_opts[] = {
	{ "--note", "TEXT", "a note to go with the decision" },
	DRAFT_OPTS,
	{ 0 },
};

static const struct cli_opt list_opts[] = {
	{ "--limit", "N", "show at most the N newest messages" },
	{ 0 },
};

static const struct cli_opt show_opts[] = {
	{ "--save-attachments", "DIR", "also write the attachments to files in DIR" },
	{ 0 },
};

const struct cli_cmd cmd_msg_cmds[] = {
	{ "propose", "--to PARTNER --title TITLE [--body TEXT | --body-file FILE] [OPTIONS]",
	  "send a proposal to a partner",
	  "Signs a proposal, seals it for the partner and queues it. Returns once it is durably\n"
	  "in the outbox; the node sends it whenever the link is up ('coex outbox' shows its\n"
	  "state). Attachments are read from files: named by their base name, their media type\n"
	  "guessed from the extension. The message id is printed alone on the last line.",
	  "coex propose --to globex --title \"Joint cold-chain pilot\" --body-file pitch.md \\\n"
	  "    --tag logistics --value 25000 EUR --attach terms.pdf --expires 14d --forwardable",
	  propose_opts, 0, 0, 0, cmd_propose },
	{ "respond", "ID accept|decline|withdraw [--note TEXT] | ID counter --title TITLE ...",
	  "answer a proposal: accept, decline, counter or withdraw",
	  "Answers the message ID (its id or an unambiguous prefix). An accept, signed over the\n"
	  "proposal's hash, makes a co-signed agreement. A counter-proposal takes the options\n"
	  "of 'coex propose' (except --to); withdraw takes back a proposal of this node. The\n"
	  "response's id is printed alone on the last line.",
	  "coex respond 3fa2c1 accept --note \"Let's talk\"\n"
	  "coex respond 3fa2c1 counter --title \"Pilot, two sites\" --value 40000 EUR",
	  respond_opts, 2, 2, 0, cmd_respond },
	{ "inbox", "[--limit N]", "list the messages received",
	  "Lists the messages received, newest first: id (first 12 hex characters), kind,\n"
	  "state, the partner it came from, title and age. 'coex show ID' shows one in full.",
	  "coex inbox --limit 20\ncoex inbox --json | jq -r '.[] | select(.kind == \"proposal\") | .id'",
	  list_opts, 0, 0, 0, cmd_inbox },
	{ "outbox", "[--limit N]", "list the messages sent, and whether they arrived",
	  "Lists the messages this node sent, newest first, with their state: queued, sent\n"
	  "(no receipt yet), delivered (the partner's signed receipt is stored), answered or\n"
	  "expired.",
	  "coex outbox\ncoex outbox --json --limit 1 | jq -r '.[0].state'",
	  list_opts, 0, 0, 0, cmd_outbox },
	{ "show", "ID [--save-attachments DIR]", "show a message in full",
	  "Shows every field of the message ID (an id or an unambiguous prefix): its header,\n"
	  "whether its signatures verified, and its decoded body (a proposal's Markdown body as\n"
	  "written). --save-attachments writes the attachments to DIR, never replacing a file,\n"
	  "and refuses names that contain '/' or start with '.'.",
	  "coex show 3fa2c1\ncoex show 3fa2c1 --save-attachments ~/Downloads/globex\n"
	  "coex show 3fa2c1 --json | jq .body.title",
	  show_opts, 1, 1, 0, cmd_show },
	{ "thread", "ID", "show the messages of a thread, oldest first",
	  "Lists the messages of the thread that message ID belongs to, oldest first, with\n"
	  "each response's decision. A thread whose last response accepts a proposal ends\n"
	  "with the agreement and its two signers.",
	  "coex thread 3fa2c1\ncoex thread 3fa2c1 --json | jq -r '.[].body.decision // empty'",
	  NULL, 1, 1, 0, cmd_thread },
	{ 0 },
};
