/* The node verbs: init (offline), id, status, invite, join. */
#include "cli.h"

#include "app/config.h"
#include "app/keyfile.h"
#include "crypto/identity.h"
#include "json.h"
#include "lib/err.h"
#include "table.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE "identity.key"
#define CONF_FILE "coex.conf"

enum { DATA_DIR_MODE = 0700 };

/* ------------------------------------------------------------------ init */

static int path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

static void init_print(const struct cli *cli, const char *id, const char *name,
		       const char *listen)
{
	char *data = util_shell_quote(cli->data);
	const char *d = data ? data : cli->data;

	cli_print("initialized node \"%s\"\n"
		  "  data    %s (%s, %s)\n"
		  "  listen  %s\n"
		  "next:\n"
		  "  start the node:    coexd --data %s\n"
		  "  invite a partner:  coex%s%s invite\n"
		  "node id:\n%s\n",
		  name, cli->data, KEY_FILE, CONF_FILE, listen, d,
		  cli->data_src == UTIL_DATA_FLAG ? " --data " : "",
		  cli->data_src == UTIL_DATA_FLAG ? d : "", id);
	free(data);
}

static int init_json(const struct cli *cli, const char *id, const char *name)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", id);
	json_kv_string(&j, "name", name);
	json_kv_string(&j, "data", cli->data);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

/* Checks --name and --listen as the node's config does, before anything is created. */
static int init_check(const struct cli *cli, const char *name, const char *listen)
{
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;

	if (config_name_check(name) != 0)
		return cli_usage(cli, "invalid --name '%s': 1-%d bytes of UTF-8, no control "
				 "characters or ';', not starting or ending with a space", name,
				 CONFIG_NAME_MAX);
	if (listen && config_parse_hostport(listen, host, sizeof host, &port) != 0)
		return cli_usage(cli, "invalid --listen '%s': expected HOST:PORT, e.g. 0.0.0.0:7400 "
				 "or [::]:7400", listen);
	return CLI_EXIT_OK;
}

/* Checks the data directory can take a new node: creates it, refuses an existing one. */
static int init_prepare(const struct cli *cli, char *key, char *conf)
{
	int r;

	if (util_path_join(key, CLI_PATH_MAX, cli->data, KEY_FILE) != 0 ||
	    util_path_join(conf, CLI_PATH_MAX, cli->data, CONF_FILE) != 0)
		return cli_fail(cli, "data directory path is too long: %s", cli->data);
	if ((r = util_mkdir_p(cli->data, DATA_DIR_MODE)) != 0)
		return cli_fail(cli, "cannot create data directory %s: %s", cli->data, err_str(r));
	if (path_exists(key))
		return cli_fail(cli, "%s is already initialized (%s exists)", cli->data, key);
	if (path_exists(conf))
		return cli_fail(cli, "%s already exists; move it aside to initialize %s", conf,
				cli->data);
	return CLI_EXIT_OK;
}

/* Writes the key, then the config; a config that fails takes the new key back out, so
 * init can simply be run again. */
static int init_write(const struct cli *cli, const struct identity *id, const char *key,
		      const char *conf, const char *name, const char *listen)
{
	char err[512] = "";
	int r;

	if ((r = keyfile_write(key, id)) == ERR_EXISTS)
		return cli_fail(cli, "%s is already initialized (%s exists)", cli->data, key);
	if (r != 0)
		return cli_fail(cli, "cannot write %s: %s", key, err_str(r));
	if ((r = config_write_initial(conf, name, listen, err, sizeof err)) != 0) {
		unlink(key);
		return cli_fail(cli, "%s", *err ? err : err_str(r));
	}
	return CLI_EXIT_OK;
}

static int cmd_init(struct cli *cli)
{
	const char *name = cli_opt(cli, "--name");
	const char *listen = cli_opt(cli, "--listen");
	char key[CLI_PATH_MAX], conf[CLI_PATH_MAX], idstr[IDENTITY_ID_LEN + 1];
	struct identity id;
	int rc;

	if (!name)
		return cli_usage(cli, "missing --name NAME (the name partners see)");
	if ((rc = init_check(cli, name, listen)) != CLI_EXIT_OK)
		return rc;
	listen = listen ? listen : CONFIG_DEFAULT_LISTEN;
	if ((rc = init_prepare(cli, key, conf)) != CLI_EXIT_OK)
		return rc;
	if (sodium_init() < 0)
		return cli_fail(cli, "libsodium failed to initialize");
	if (identity_generate(&id) != 0)
		return cli_fail(cli, "cannot generate a key pair");
	identity_id_format(id.pk, idstr);
	rc = init_write(cli, &id, key, conf, name, listen);
	identity_wipe(&id);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		return init_json(cli, idstr, name);
	init_print(cli, idstr, name, listen);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ id */

static int cmd_id(struct cli *cli)
{
	Coex__IdRequest q = COEX__ID_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	struct json j;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_ID;
	req.id = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_ID, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_kv_string(&j, "id", resp->id->id);
		json_kv_string(&j, "name", resp->id->name);
		json_object_end(&j);
		rc = cli_json_finish(cli, &j);
	} else {
		cli_print("%s  %s\n", resp->id->name, resp->id->id);
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ status */

static void rtt_format(uint32_t rtt_us, char *out, size_t len)
{
	uint32_t tenths = (uint32_t)(((uint64_t)rtt_us + 50) / 100);

	if (rtt_us == 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%u.%u ms", tenths / 10, tenths % 10);
}

static int status_json(const struct cli *cli, const Coex__StatusResult *s)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "id", s->id);
	json_kv_string(&j, "name", s->name);
	json_key(&j, "listen");
	json_array_begin(&j);
	for (i = 0; i < s->n_listen; i++)
		json_string(&j, s->listen[i]);
	json_array_end(&j);
	json_kv_u64(&j, "started_ms", s->started_ms);
	json_key(&j, "links");
	json_array_begin(&j);
	for (i = 0; i < s->n_links; i++) {
		const Coex__LinkInfo *l = s->links[i];

		json_object_begin(&j);
		json_kv_string(&j, "partner", l->partner);
		json_kv_string(&j, "id", l->id);
		json_kv_string(&j, "state", l->state);
		json_kv_u64(&j, "since_ms", l->since_ms);
		json_key(&j, "rtt_ms");
		if (l->rtt_us)
			json_fixed(&j, l->rtt_us, 3);
		else
			json_null(&j);
		json_kv_string(&j, "address", l->address);
		json_kv_bool(&j, "initiator", l->initiator);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "alarms");
	json_array_begin(&j);
	for (i = 0; i < s->n_alarms; i++) {
		const Coex__Alarm *a = s->alarms[i];

		json_object_begin(&j);
		json_kv_string(&j, "partner", a->partner);
		json_kv_string(&j, "partner_id", a->partner_id);
		json_kv_u64(&j, "detected_ms", a->detected_ms);
		json_kv_string(&j, "reason", a->reason);
		json_kv_u64(&j, "seen_size", a->seen ? a->seen->size : 0);
		json_kv_u64(&j, "offered_size", a->offered ? a->offered->size : 0);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

/* Alarms first and loud: a partner that rewrote its log is what an operator must see. */
static void status_print_alarms(const Coex__StatusResult *s)
{
	for (size_t i = 0; i < s->n_alarms; i++) {
		const Coex__Alarm *a = s->alarms[i];
		char *who = util_term_safe(a->partner[0] ? a->partner : a->partner_id);
		char *why = util_term_safe(a->reason);

		cli_print("ALARM   partner %s: %s (held head of size %llu, offered %llu)\n",
			  who ? who : "?", why ? why : "?",
			  (unsigned long long)(a->seen ? a->seen->size : 0),
			  (unsigned long long)(a->offered ? a->offered->size : 0));
		free(who);
		free(why);
	}
}

static void status_print_node(const Coex__StatusResult *s, uint64_t now)
{
	char up[32] = "-", since[48];
	size_t i;

	if (s->started_ms && s->started_ms <= now)
		util_duration_format(now - s->started_ms, up, sizeof up);
	util_time_local(s->started_ms, since, sizeof since);
	cli_print("node    %s\nid      %s\nlisten  ", s->name, s->id);
	for (i = 0; i < s->n_listen; i++)
		cli_print("%s%s", i ? ", " : "", s->listen[i]);
	cli_print("%s\nuptime  %s (since %s)\n", s->n_listen ? "" : "-", up, since);
}

static int status_print_links(const struct cli *cli, const Coex__StatusResult *s, uint64_t now)
{
	static const char *const hdr[] = { "PARTNER", "ID", "STATE", "SINCE", "RTT", "ADDRESS" };
	struct table *t;
	size_t i;
	int r;

	if (s->n_links == 0) {
		cli_print("\nno partners yet; add one with 'coex invite' or 'coex partner add'\n");
		return CLI_EXIT_OK;
	}
	if (!(t = table_new(6, hdr)))
		return cli_fail(cli, "out of memory");
	for (i = 0; i < s->n_links; i++) {
		const Coex__LinkInfo *l = s->links[i];
		char fpr[IDENTITY_FPR_LEN + 1], since[48], rtt[32];

		snprintf(fpr, sizeof fpr, "%s", l->id);
		util_time_relative(l->since_ms, now, since, sizeof since);
		rtt_format(l->rtt_us, rtt, sizeof rtt);
		table_row(t, l->partner, fpr, l->state, since, rtt, l->address);
	}
	fputc('\n', stdout);
	r = table_print(t, stdout);
	table_free(t);
	return r ? cli_fail(cli, "printing the links: %s", err_str(r)) : CLI_EXIT_OK;
}

static int cmd_status(struct cli *cli)
{
	Coex__StatusRequest q = COEX__STATUS_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	uint64_t now = util_now_ms();
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_STATUS;
	req.status = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_STATUS, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		rc = status_json(cli, resp->status);
	} else {
		status_print_node(resp->status, now);
		status_print_alarms(resp->status);
		rc = status_print_links(cli, resp->status, now);
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ invite */

static void invite_print(const Coex__InviteResult *inv)
{
	char when[48], rel[48];

	util_time_local(inv->expires_ms, when, sizeof when);
	util_time_relative(inv->expires_ms, util_now_ms(), rel, sizeof rel);
	cli_print("one-time invite: the first node to join with this code becomes a partner; "
		  "valid until %s (%s). On their side: coex join CODE\n%s\n",
		  when, rel, inv->code);
}

static int cmd_invite(struct cli *cli)
{
	Coex__InviteRequest q = COEX__INVITE_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *ttl = cli_opt(cli, "--ttl");
	struct json j;
	int rc;

	if (ttl && util_duration_parse(ttl, &q.ttl_s) != 0)
		return cli_usage(cli, "invalid --ttl '%s' (a duration such as 90s, 30m, 24h, 7d)",
				 ttl);
	req.cmd_case = COEX__CTL_REQUEST__CMD_INVITE;
	req.invite = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_INVITE, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_kv_string(&j, "code", resp->invite->code);
		json_kv_u64(&j, "expires_ms", resp->invite->expires_ms);
		json_object_end(&j);
		rc = cli_json_finish(cli, &j);
	} else {
		invite_print(resp->invite);
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ join */

static int cmd_join(struct cli *cli)
{
	Coex__JoinRequest q = COEX__JOIN_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	const char *name = cli_opt(cli, "--name");
	const Coex__PartnerInfo *p;
	struct json j;
	int rc;

	q.code = cli->argv[0];
	if (name)
		q.name = (char *)name;
	req.cmd_case = COEX__CTL_REQUEST__CMD_JOIN;
	req.join = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_PARTNER, &resp)) != CLI_EXIT_OK)
		return rc;
	p = resp->partner;
	if (cli->json) {
		json_init(&j, stdout);
		cmd_partner_json(&j, p);
		rc = cli_json_finish(cli, &j);
	} else {
		cli_print("joined %s (%s) at %s; link up\n", p->name, p->id,
			  *p->address ? p->address : "-");
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ the table */

static const struct cli_opt init_opts[] = {
	{ "--name", "NAME", "the name partners see for this node (required)" },
	{ "--listen", "HOST:PORT", "where to accept partner links (default " CONFIG_DEFAULT_LISTEN ")" },
	{ 0 },
};

static const struct cli_opt invite_opts[] = {
	{ "--ttl", "DURATION", "how long the code stays valid: 90s, 30m, 24h, 7d (default: the "
			       "node's, 24h)" },
	{ 0 },
};

static const struct cli_opt join_opts[] = {
	{ "--name", "LOCALNAME", "what to call the inviting partner here (default: its own name)" },
	{ 0 },
};

/* The metrics are Prometheus text: printed as they come, for people and scrapers alike. */
static int cmd_metrics(struct cli *cli)
{
	Coex__MetricsRequest q = COEX__METRICS_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_METRICS;
	req.metrics = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_METRICS, &resp)) != CLI_EXIT_OK)
		return rc;
	if (fputs(resp->metrics, stdout) == EOF)
		rc = CLI_EXIT_ERROR;
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

const struct cli_cmd cmd_node_cmds[] = {
	{ "init", "--name NAME [--listen HOST:PORT]",
	  "create this node's identity and config (offline)",
	  "Creates the data directory (mode 0700) if needed, a new Ed25519 identity in\n"
	  "identity.key (mode 0600) and the config coex.conf. Refuses a directory that already\n"
	  "holds a node. Works without coexd; start coexd afterwards. The node id is printed\n"
	  "alone on the last line.",
	  "coex init --name \"Acme Logistics\" --listen 0.0.0.0:7400\n"
	  "coex --data /srv/coex init --name \"Acme Logistics\"",
	  init_opts, 0, 0, 0, cmd_init },
	{ "id", "", "print this node's name and id",
	  "Prints the node's name and id (RFC 4648 base32 of its Ed25519 public key), as the\n"
	  "running coexd reports them.",
	  "coex id\ncoex id --json | jq -r .id",
	  NULL, 0, 0, 0, cmd_id },
	{ "status", "", "show the node and its partner links",
	  "Shows the node (name, id, listen addresses, uptime) and one line per partner link:\n"
	  "its state, since when, the last round-trip time and the peer address.",
	  "coex status\ncoex status --json",
	  NULL, 0, 0, 0, cmd_status },
	{ "invite", "[--ttl DURATION]", "make a one-time code a new partner joins with",
	  "Makes a one-time invite code. The first node that runs 'coex join CODE' with it\n"
	  "before it expires becomes a partner. Send the code over a channel you trust: it\n"
	  "carries this node's id and addresses. The code is printed alone on the last line.",
	  "coex invite --ttl 2h",
	  invite_opts, 0, 0, 0, cmd_invite },
	{ "join", "CODE [--name LOCALNAME]", "become a partner of the node that made CODE",
	  "Connects to the node that made the invite CODE, proves the invite, and adds that\n"
	  "node as a partner. Returns once the link is up (or fails with the reason).",
	  "coex join coex1... --name acme",
	  join_opts, 1, 1, 0, cmd_join },
	{ "metrics", "", "print the node's metrics (Prometheus text format)",
	  "Prints counters and gauges: links up, messages by direction and state, outbox depth,\n"
	  "commit batches, log size, alarms, handshakes dropped and messages refused by reason.\n"
	  "Set [node] metrics_listen = 127.0.0.1:9400 in coex.conf to serve the same text over\n"
	  "HTTP for a Prometheus scraper.",
	  "coex metrics\ncoex metrics | grep coex_links_up",
	  NULL, 0, 0, 0, cmd_metrics },
	{ 0 },
};
