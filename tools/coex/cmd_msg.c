/* The message verbs: propose, respond, inbox, outbox, show, thread.
 *
 * propose and respond build a request from the command line (reading the body and the
 * attachments from files); the others ask the daemon for messages and format them with
 * msg_view.c. Everything a message holds came from a peer and is printed terminal-safe. */
#include "cli.h"

#include "app/config.h"
#include "crypto/identity.h"
#include "json.h"
#include "lib/err.h"
#include "msg_view.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	/* What one message may carry: the recipient's default limit (a node configured for
	 * more still refuses what its partners would not take). */
	MSG_MAX_BYTES = CONFIG_DEFAULT_MESSAGE_BYTES,
	MSG_HOPS_MAX = 3,         /* forwarding hops a proposal may allow (design.md 4) */
	MSG_CURRENCY_LEN = 3,     /* ISO 4217 code */
	READ_CHUNK = 64 * 1024,
	SAVE_DIR_MODE = 0755,
	SAVE_FILE_MODE = 0666,    /* less the umask */
};

/* ------------------------------------------------------------------ small parsers */

/* Whether s is valid UTF-8 (protobuf strings must be). */
static int utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	for (; i < len; i += n)
		if ((n = util_utf8_decode(p + i, len - i, &cp)) == 0)
			return 0;
	return 1;
}

/* A decimal number in [min, max], digits only. Returns 0 or ERR_INVAL. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return ERR_INVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return ERR_INVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return ERR_INVAL;
	*out = v;
	return 0;
}

static const char *media_type_guess(const char *name)
{
	static const char *const types[][2] = {
		{ ".pdf", "application/pdf" }, { ".md", "text/markdown" },
		{ ".txt", "text/plain" },      { ".png", "image/png" },
		{ ".jpg", "image/jpeg" },      { ".jpeg", "image/jpeg" },
		{ ".json", "application/json" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

/* ------------------------------------------------------------------ files */

/* Grows a full read buffer by a chunk, up to one byte past max: reading that byte proves
 * the input too long. Returns 0, ERR_TOOBIG or ERR_NOMEM. */
static int buf_grow(char **buf, size_t *cap, size_t max)
{
	size_t ncap = *cap + READ_CHUNK > max + 1 ? max + 1 : *cap + READ_CHUNK;
	char *nb;

	if (*cap > max)
		return ERR_TOOBIG;
	if (!(nb = realloc(*buf, ncap)))
		return ERR_NOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Reads all of fd, at most max bytes, into a new NUL-terminated buffer; hint is the size
 * expected. Returns 0, ERR_TOOBIG, ERR_NOMEM or -errno. */
static int fd_read_all(int fd, size_t hint, size_t max, char **out, size_t *len)
{
	size_t cap = (hint < max ? hint : max) + 1, n = 0;
	char *buf = malloc(cap);
	ssize_t got;
	int r = buf ? 0 : ERR_NOMEM;

	while (r == 0) {
		if (n == cap)
			r = buf_grow(&buf, &cap, max);
		else if ((got = read(fd, buf + n, cap - n)) > 0)
			n += (size_t)got;
		else if (got == 0)
			break;
		else if (errno != EINTR)
			r = -errno;
	}
	if (r != 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0'; /* a read returns 0 only with room left */
	*out = buf;
	*len = n;
	return 0;
}

/* Reads a whole file ("-": standard input) of at most max bytes. The size is checked
 * before anything is allocated. Returns 0, ERR_TOOBIG, ERR_NOMEM or -errno. */
static int file_read(const char *path, size_t max, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		r = ERR_TOOBIG;
	else
		r = fd_read_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : READ_CHUNK, max,
				out, len);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

/* ------------------------------------------------------------------ a proposal draft */

/* A ProposeRequest built from the command line, and the memory it points into. */
struct draft {
	Coex__ProposeRequest q;
	Coex__Value value;
	const char *tags[CLI_MAX_VALUES];
	Coex__Attachment att[CLI_MAX_VALUES];
	Coex__Attachment *attp[CLI_MAX_VALUES];
	char *body;        /* read from --body-file, else NULL */
	size_t total;      /* bytes of body and attachments */
};

static void draft_free(struct draft *d)
{
	size_t i;

	for (i = 0; i < d->q.n_attachments; i++)
		free(d->att[i].data.data);
	free(d->body);
}

/* The option's value, checked to be UTF-8; "" if not given. NULL after a usage error. */
static const char *text_opt(const struct cli *cli, const char *name, int *rc)
{
	const char *v = cli_opt(cli, name);

	if (!v)
		return "";
	if (!utf8_ok(v, strlen(v))) {
		*rc = cli_usage(cli, "%s is not valid UTF-8 text", name);
		return NULL;
	}
	return v;
}

static int draft_body_file(const struct cli *cli, struct draft *d, const char *path)
{
	size_t len;
	int r = file_read(path, MSG_MAX_BYTES, &d->body, &len);

	if (r == ERR_TOOBIG)
		return cli_fail(cli, "%s is larger than %d MiB, the most a message can carry",
				strcmp(path, "-") ? path : "standard input", MSG_MAX_BYTES >> 20);
	if (r != 0)
		return cli_fail(cli, "cannot read %s: %s", path, err_str(r));
	if (strlen(d->body) != len || !utf8_ok(d->body, len))
		return cli_fail(cli, "%s is not UTF-8 text (the body is Markdown)", path);
	d->q.body = d->body;
	d->total += len;
	return CLI_EXIT_OK;
}

static int draft_text(const struct cli *cli, struct draft *d)
{
	const char *file = cli_opt(cli, "--body-file");
	int rc = CLI_EXIT_OK;

	if (!cli_opt(cli, "--title") || !*cli_opt(cli, "--title"))
		return cli_usage(cli, "missing --title TITLE");
	if (file && cli_opt(cli, "--body"))
		return cli_usage(cli, "give --body or --body-file, not both");
	if (!(d->q.title = (char *)text_opt(cli, "--title", &rc)) ||
	    !(d->q.summary = (char *)text_opt(cli, "--summary", &rc)) ||
	    !(d->q.body = (char *)text_opt(cli, "--body", &rc)) ||
	    !(d->q.terms = (char *)text_opt(cli, "--terms", &rc)))
		return rc;
	d->total += strlen(d->q.body);
	return file ? draft_body_file(cli, d, file) : CLI_EXIT_OK;
}

static int draft_tags(const struct cli *cli, struct draft *d)
{
	size_t i, n = cli_opt_values(cli, "--tag", d->tags, CLI_MAX_VALUES);

	for (i = 0; i < n; i++)
		if (!*d->tags[i] || !utf8_ok(d->tags[i], strlen(d->tags[i])))
			return cli_usage(cli, "invalid --tag '%s': empty or not UTF-8", d->tags[i]);
	d->q.tags = (char **)d->tags;
	d->q.n_tags = n;
	return CLI_EXIT_OK;
}

/* --value AMOUNT CURRENCY: a whole non-negative amount and an ISO 4217 code. */
static int draft_value(const struct cli *cli, struct draft *d)
{
	const char *v[2];
	size_t i;

	if (cli_opt_values(cli, "--value", v, 2) != 2)
		return CLI_EXIT_OK;
	if (parse_u64(v[0], 0, UINT64_MAX, &d->value.amount) != 0)
		return cli_usage(cli, "invalid --value amount '%s': a whole number such as 25000",
				 v[0]);
	for (i = 0; i < MSG_CURRENCY_LEN && v[1][i] >= 'A' && v[1][i] <= 'Z'; i++)
		;
	if (i != MSG_CURRENCY_LEN || v[1][i])
		return cli_usage(cli, "invalid --value currency '%s': three capital letters such "
				 "as EUR or USD", v[1]);
	d->value.currency = (char *)v[1];
	d->q.value = &d->value;
	return CLI_EXIT_OK;
}

static int draft_attach_one(const struct cli *cli, struct draft *d, const char *path)
{
	Coex__Attachment *a = &d->att[d->q.n_attachments];
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	char *data;
	size_t len;
	int r;

	if (!*name)
		return cli_usage(cli, "invalid --attach '%s': a file, not a directory", path);
	if (!utf8_ok(name, strlen(name)))
		return cli_usage(cli, "invalid --attach '%s': the file name is not UTF-8", path);
	if ((r = file_read(path, MSG_MAX_BYTES, &data, &len)) == ERR_TOOBIG)
		return cli_fail(cli, "cannot attach %s: larger than %d MiB, the most a message can "
				"carry", path, MSG_MAX_BYTES >> 20);
	if (r != 0)
		return cli_fail(cli, "cannot attach %s: %s", path, err_str(r));
	coex__attachment__init(a);
	a->name = (char *)name;
	a->media_type = (char *)media_type_guess(name);
	a->data.data = (uint8_t *)data;
	a->data.len = len;
	d->attp[d->q.n_attachments++] = a;
	d->total += len;
	if (d->total > MSG_MAX_BYTES)
		return cli_fail(cli, "the body and attachments come to more than %d MiB, the most a "
				"message can carry", MSG_MAX_BYTES >> 20);
	return CLI_EXIT_OK;
}

static int draft_attach(const struct cli *cli, struct draft *d)
{
	const char *paths[CLI_MAX_VALUES];
	size_t i, n = cli_opt_values(cli, "--attach", paths, CLI_MAX_VALUES);
	int rc;

	d->q.attachments = d->attp;
	for (i = 0; i < n; i++)
		if ((rc = draft_attach_one(cli, d, paths[i])) != CLI_EXIT_OK)
			return rc;
	return CLI_EXIT_OK;
}

/* --expires, --forwardable and --hops. */
static int draft_reach(const struct cli *cli, struct draft *d)
{
	const char *exp = cli_opt(cli, "--expires"), *hops = cli_opt(cli, "--hops");
	uint64_t n;

	if (exp && util_duration_parse(exp, &d->q.expires_s) != 0)
		return cli_usage(cli, "invalid --expires '%s' (a duration such as 48h or 30d)", exp);
	d->q.forwardable = cli_opt(cli, "--forwardable") != NULL;
	if (hops && !d->q.forwardable)
		return cli_usage(cli, "--hops goes with --forwardable");
	if (hops && parse_u64(hops, 1, MSG_HOPS_MAX, &n) != 0)
		return cli_usage(cli, "invalid --hops '%s': 1 to %d", hops, MSG_HOPS_MAX);
	d->q.hop_limit = hops ? (uint32_t)n : 0;
	return CLI_EXIT_OK;
}

/* Fills d from the proposal options. Free it with draft_free whatever this returns. */
static int draft_build(const struct cli *cli, struct draft *d)
{
	int rc;

	memset(d, 0, sizeof *d);
	coex__propose_request__init(&d->q);
	coex__value__init(&d->value);
	if ((rc = draft_text(cli, d)) != CLI_EXIT_OK || (rc = draft_tags(cli, d)) != CLI_EXIT_OK ||
	    (rc = draft_value(cli, d)) != CLI_EXIT_OK || (rc = draft_reach(cli, d)) != CLI_EXIT_OK)
		return rc;
	return draft_attach(cli, d);
}

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
	rc = queued_print(cli, NULL, cli_opt(cli, "--to"), resp->message);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ respond */

/* The options only a counter-proposal takes. */
static const char *const counter_only[] = {
	"--title", "--summary", "--body", "--body-file", "--terms", "--tag", "--value",
	"--attach", "--expires", "--forwardable", "--hops",
};

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
	struct draft d;
	size_t i;
	int rc = CLI_EXIT_OK;

	if (decision_parse(cli->argv[1], &q.decision) != 0)
		return cli_usage(cli, "unknown decision '%s' (accept, decline, counter or withdraw)",
				 cli->argv[1]);
	q.message = cli->argv[0];
	if (!(q.note = (char *)text_opt(cli, "--note", &rc)))
		return rc;
	if (q.decision != COEX__DECISION__DECISION_COUNTER) {
		for (i = 0; i < sizeof counter_only / sizeof counter_only[0]; i++)
			if (cli_opt(cli, counter_only[i]))
				return cli_usage(cli, "%s goes only with 'counter'", counter_only[i]);
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

	if (limit && parse_u64(limit, 1, UINT32_MAX, &n) != 0)
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

/* The options of a proposal, for propose and for respond's counter-proposals. */
#define DRAFT_OPTS                                                                            \
	{ "--title", "TITLE", "a one-line title (required)" },                                \
	{ "--summary", "TEXT", "a short summary" },                                           \
	{ "--body", "TEXT", "the proposal itself, in Markdown" },                             \
	{ "--body-file", "FILE", "read the Markdown body from FILE ('-': standard input)" },   \
	{ "--terms", "TEXT", "the terms offered" },                                           \
	{ "--tag", "TAG...", "whom it suits, e.g. logistics; repeatable" },                   \
	{ "--value", "AMOUNT CURRENCY", "its value, a whole amount and an ISO 4217 code" },   \
	{ "--attach", "FILE...", "attach a file (at most 4 MiB in all); repeatable" },        \
	{ "--expires", "DURATION", "how long it stays open: 48h, 30d (default 30d)" },        \
	{ "--forwardable", NULL, "let the partner forward it to its own partners" },          \
	{ "--hops", "N", "with --forwardable: forwards it may take, 1-3 (default 2)" }

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
