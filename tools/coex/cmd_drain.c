/* coex drain [--to PARTNER] [--timeout DURATION]: waits until the outbox (of every partner,
 * or one) holds no message still waiting for its receipt. It asks the node for the counts
 * (one COUNT per partner, never a listing) a few times a second and shows a progress bar on
 * a terminal; scripts see only the result. */
#include "cli.h"

#include "json.h"
#include "lib/err.h"
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { DRAIN_POLL_MS = 200 };

static uint64_t drain_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drain_sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One count from the node: *out holds the response (the caller frees it). */
static int drain_fetch(const struct cli *cli, Coex__CtlResponse **out, uint64_t *waiting)
{
	Coex__OutboxCountRequest q = COEX__OUTBOX_COUNT_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	int rc;

	q.partner = (char *)(cli_opt(cli, "--to") ? cli_opt(cli, "--to") : "");
	req.cmd_case = COEX__CTL_REQUEST__CMD_OUTBOX_COUNT;
	req.outbox_count = &q;
	if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_OUTBOX_COUNT, out)) != CLI_EXIT_OK)
		return rc;
	*waiting = 0;
	for (size_t i = 0; i < (*out)->outbox_count->n_partners; i++)
		*waiting += (*out)->outbox_count->partners[i]->waiting;
	return CLI_EXIT_OK;
}

static int drain_json(const struct cli *cli, const Coex__OutboxCountResult *res, uint64_t waiting,
		      uint64_t delivered, uint64_t ms)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_bool(&j, "drained", waiting == 0);
	json_kv_u64(&j, "remaining", waiting);
	json_kv_u64(&j, "delivered", delivered);
	json_key(&j, "seconds");
	json_fixed(&j, ms, 3);
	json_key(&j, "partners");
	json_array_begin(&j);
	for (size_t i = 0; i < res->n_partners; i++) {
		json_object_begin(&j);
		json_kv_string(&j, "partner", res->partners[i]->partner);
		json_kv_string(&j, "id", res->partners[i]->id);
		json_kv_u64(&j, "waiting", res->partners[i]->waiting);
		json_kv_bool(&j, "up", res->partners[i]->up);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

/* "globex: 3, link down; initech: 1" for the partners still waiting. */
static void drain_who(const Coex__OutboxCountResult *res, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < res->n_partners && used < len; i++) {
		const Coex__OutboxCount *o = res->partners[i];
		int n;

		if (!o->waiting)
			continue;
		n = snprintf(out + used, len - used, "%s%s: %llu%s", used ? "; " : "", o->partner,
			     (unsigned long long)o->waiting, o->up ? "" : ", link down");
		used += n > 0 ? (size_t)n : 0;
	}
}

static int drain_report(const struct cli *cli, const Coex__OutboxCountResult *res,
			uint64_t waiting, uint64_t delivered, uint64_t ms)
{
	char took[32], who[512];
	int rc = CLI_EXIT_OK;

	util_duration_format(ms, took, sizeof took);
	if (cli->json)
		rc = drain_json(cli, res, waiting, delivered, ms);
	else if (waiting == 0 && delivered == 0)
		cli_print("nothing to drain: no message waits for a receipt\n");
	else if (waiting == 0)
		cli_print("drained: %llu message%s delivered in %s\n", (unsigned long long)delivered,
			  delivered == 1 ? "" : "s", took);
	if (waiting == 0)
		return rc;
	drain_who(res, who, sizeof who);
	return cli_fail(cli, "timed out after %s: %llu message%s still wait%s for a receipt (%s)",
			took, (unsigned long long)waiting, waiting == 1 ? "" : "s",
			waiting == 1 ? "s" : "", who);
}

static int cmd_drain(struct cli *cli)
{
	const char *t = cli_opt(cli, "--timeout");
	uint64_t timeout_s = 0, start = drain_mono_ms(), now, deadline = 0;
	uint64_t waiting = 0, last = 0, total = 0;
	Coex__CtlResponse *resp = NULL;
	struct progress pg;
	int rc;

	if (t && util_duration_parse(t, &timeout_s) != 0)
		return cli_usage(cli, "--timeout: expected a duration such as 30s, 5m or 1h30m, got '%s'", t);
	if (timeout_s)
		deadline = start + timeout_s * 1000;
	if ((rc = drain_fetch(cli, &resp, &waiting)) != CLI_EXIT_OK)
		return rc;
	total = last = waiting;
	progress_start(&pg, "draining", "messages", total);
	for (;;) {
		progress_update(&pg, total - waiting);
		now = drain_mono_ms();
		if (waiting == 0 || (deadline && now >= deadline))
			break;
		drain_sleep_ms(deadline && deadline - now < DRAIN_POLL_MS ? deadline - now : DRAIN_POLL_MS);
		coex__ctl_response__free_unpacked(resp, NULL);
		resp = NULL;
		if ((rc = drain_fetch(cli, &resp, &waiting)) != CLI_EXIT_OK) {
			progress_end(&pg);
			return rc;
		}
		if (waiting > last) { /* queued meanwhile: more to wait for */
			total += waiting - last;
			progress_set_total(&pg, total);
		}
		last = waiting;
	}
	progress_end(&pg);
	rc = drain_report(cli, resp->outbox_count, waiting, total - waiting, now - start);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static const struct cli_opt drain_opts[] = {
	{ "--to", "PARTNER", "only this partner's messages: local name, id or id prefix" },
	{ "--timeout", "DURATION", "give up after this long (30s, 5m, 1h); default: wait" },
	{ 0 },
};

const struct cli_cmd cmd_drain_cmds[] = {
	{ "drain", "[--to PARTNER] [--timeout DURATION]",
	  "wait until every queued message has its receipt",
	  "Waits until the outbox (of every partner, or of --to PARTNER) holds no message still\n"
	  "waiting for its receipt, for instance before stopping a node or after a partner comes\n"
	  "back. On a terminal it shows a progress bar (delivered of total, rate, time left);\n"
	  "otherwise it prints only the result. Exits 0 once drained, 1 at the --timeout with\n"
	  "the number of messages still waiting and their partners. Messages queued meanwhile\n"
	  "are waited for too.",
	  "coex drain --to globex --timeout 10m\n"
	  "coex drain --timeout 30s --json | jq .remaining",
	  drain_opts, 0, 0, 0, cmd_drain },
	{ 0 },
};
