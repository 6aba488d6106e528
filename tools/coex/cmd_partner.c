/* The partner verbs: partner add, partner list, partner remove. */
#include "cli.h"

#include "json.h"
#include "lib/err.h"
#include "table.h"

#include <stdio.h>

void cmd_partner_json(struct json *j, const Coex__PartnerInfo *p)
{
	json_object_begin(j);
	json_kv_string(j, "name", p->name);
	json_kv_string(j, "id", p->id);
	json_kv_string(j, "address", p->address);
	json_kv_u64(j, "added_ms", p->added_ms);
	json_kv_string(j, "introduced_by", p->introduced_by);
	json_object_end(j);
}

/* Prints "VERB partner NAME (ID) at ADDRESS", or the partner as JSON. */
static int partner_result(const struct cli *cli, const char *verb, const Coex__PartnerInfo *p)
{
	struct json j;

	if (cli->json) {
		json_init(&j, stdout);
		cmd_partner_json(&j, p);
		return cli_json_finish(cli, &j);
	}
	if (*p->address)
		cli_print("%s partner %s (%s) at %s\n", verb, p->name, p->id, p->address);
	else
		cli_print("%s partner %s (%s)\n", verb, p->name, p->id);
	return CLI_EXIT_OK;
}

static int cmd_partner_add(struct cli *cli)
{
	Coex__PartnerAddRequest q = COEX__PARTNER_ADD_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	/* The daemon checks the name, id and address and says what is wrong. */
	q.name = cli->argv[0];
	q.id = cli->argv[1];
	q.address = cli->argv[2];
	req.cmd_case = COEX__CTL_REQUEST__CMD_PARTNER_ADD;
	req.partner_add = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_PARTNER, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = partner_result(cli, "added", resp->partner);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int partner_list_json(const struct cli *cli, const Coex__PartnerListResult *l)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_array_begin(&j);
	for (i = 0; i < l->n_partners; i++)
		cmd_partner_json(&j, l->partners[i]);
	json_array_end(&j);
	return cli_json_finish(cli, &j);
}

static int partner_list_print(const struct cli *cli, const Coex__PartnerListResult *l)
{
	static const char *const hdr[] = { "NAME", "ID", "ADDRESS", "ADDED", "INTRODUCED BY" };
	uint64_t now = util_now_ms();
	struct table *t;
	size_t i;
	int r;

	if (l->n_partners == 0) {
		cli_print("no partners yet; add one with 'coex invite' or 'coex partner add'\n");
		return CLI_EXIT_OK;
	}
	if (!(t = table_new(5, hdr)))
		return cli_fail(cli, "out of memory");
	for (i = 0; i < l->n_partners; i++) {
		const Coex__PartnerInfo *p = l->partners[i];
		char added[48];

		util_time_relative(p->added_ms, now, added, sizeof added);
		table_row(t, p->name, p->id, p->address, added, p->introduced_by);
	}
	r = table_print(t, stdout);
	table_free(t);
	return r ? cli_fail(cli, "printing the partners: %s", err_str(r)) : CLI_EXIT_OK;
}

static int cmd_partner_list(struct cli *cli)
{
	Coex__PartnerListRequest q = COEX__PARTNER_LIST_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_PARTNER_LIST;
	req.partner_list = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_PARTNERS, &resp)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		rc = partner_list_json(cli, resp->partners);
	else
		rc = partner_list_print(cli, resp->partners);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int cmd_partner_remove(struct cli *cli)
{
	Coex__PartnerRemoveRequest q = COEX__PARTNER_REMOVE_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	int rc;

	q.partner = cli->argv[0];
	req.cmd_case = COEX__CTL_REQUEST__CMD_PARTNER_REMOVE;
	req.partner_remove = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_PARTNER, &resp)) != CLI_EXIT_OK)
		return rc;
	rc = partner_result(cli, "removed", resp->partner);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

const struct cli_cmd cmd_partner_cmds[] = {
	{ "partner add", "NAME ID HOST:PORT", "add a partner by hand, by its id and address",
	  "Adds the node with id ID (what 'coex id' prints there), reachable at HOST:PORT, as\n"
	  "a partner called NAME here (1-64 of a-z 0-9 . _ -). coexd checks the values and\n"
	  "starts dialling it. 'coex invite' and 'coex join' do the same without copying ids.",
	  "coex partner add globex rhgycjfikvzyp7h7syoml3n6eqakdvfs5n3smikejrkur2ypjd4q "
	  "192.0.2.7:7400",
	  NULL, 3, 3, 0, cmd_partner_add },
	{ "partner list", "", "list the partners",
	  "Lists the partners: local name, full id, address, when added and who introduced\n"
	  "them (for partners made by an introduction).",
	  "coex partner list\ncoex partner list --json | jq -r '.[].id'",
	  NULL, 0, 0, 0, cmd_partner_list },
	{ "partner remove", "NAME|ID|PREFIX", "remove a partner and close its link",
	  "Removes a partner, named by its local name, its full id or an unambiguous id prefix,\n"
	  "and closes its link.",
	  "coex partner remove globex\ncoex partner remove rhgycjfi",
	  NULL, 1, 1, 0, cmd_partner_remove },
	{ 0 },
};
