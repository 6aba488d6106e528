#include "cli.h"

#include "client.h"
#include "json.h"
#include "lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CLI_SOCK_NAME "coexd.sock"
#define CLI_KEY_NAME "identity.key"

const char *cli_opt(const struct cli *cli, const char *name)
{
	const struct cli_opt *o = cli->cmd->opts;
	size_t i;

	for (i = 0; o && o[i].name && i < CLI_MAX_OPTS; i++)
		if (strcmp(o[i].name, name) == 0)
			return cli->opt_val[i];
	return NULL;
}

size_t cli_opt_values(const struct cli *cli, const char *name, const char **out, size_t max)
{
	const struct cli_opt *o = cli->cmd->opts;
	size_t n = 0;
	int i, k;

	for (k = 0; o && o[k].name && k < CLI_MAX_OPTS; k++)
		if (strcmp(o[k].name, name) == 0)
			break;
	if (!o || !o[k].name || k >= CLI_MAX_OPTS)
		return 0;
	for (i = 0; i < cli->nvals && n < max; i++)
		if (cli->val_opt[i] == k)
			out[n++] = cli->val[i];
	return n;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Formats into a new string; NULL if out of memory. */
static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

/* Prints "coex: VERB: message" to stderr, made safe for the terminal: the message may quote
 * the daemon, which may quote a peer. */
static void print_error(const struct cli *cli, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void print_error(const struct cli *cli, const char *fmt, va_list ap)
{
	char *msg = vformat(fmt, ap);
	char *safe = msg ? util_term_safe(msg) : NULL;

	fprintf(stderr, "coex: %s: %s\n", cli->cmd ? cli->cmd->name : "error",
		safe ? safe : "out of memory");
	free(safe);
	free(msg);
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(cli, fmt, ap);
	va_end(ap);
	fprintf(stderr, "try 'coex %s --help'\n", cli->cmd ? cli->cmd->name : "");
	return CLI_EXIT_USAGE;
}

int cli_fail(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(cli, fmt, ap);
	va_end(ap);
	return CLI_EXIT_ERROR;
}

void cli_print(const char *fmt, ...)
{
	va_list ap;
	char *msg, *line, *nl;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (!msg) {
		fputs("(out of memory)\n", stdout);
		return;
	}
	/* Newlines are ours; any other control character came from data. */
	for (line = msg; line; line = nl ? nl + 1 : NULL) {
		char *safe;

		if ((nl = strchr(line, '\n')))
			*nl = '\0';
		safe = util_term_safe(line);
		fputs(safe ? safe : "?", stdout);
		free(safe);
		if (nl)
			fputc('\n', stdout);
	}
	free(msg);
}

/* Explains a daemon that cannot be reached, and how to start it (or make a node first). */
static int unreachable(const struct cli *cli, const char *sock, const char *why)
{
	char key[CLI_PATH_MAX];
	char *data = util_shell_quote(cli->data);
	struct stat st;
	int no_node = util_path_join(key, sizeof key, cli->data, CLI_KEY_NAME) == 0 &&
		      lstat(key, &st) != 0 && errno == ENOENT;

	if (!no_node)
		fprintf(stderr, "coex: cannot reach coexd at %s: %s; is the node running? "
			"(start it with: coexd --data %s)\n", sock, why, data ? data : cli->data);
	else
		fprintf(stderr, "coex: cannot reach coexd at %s: %s; no node is initialized in %s "
			"(create one with: coex --data %s init --name NAME, then start it with: "
			"coexd --data %s)\n", sock, why, cli->data, data ? data : cli->data,
			data ? data : cli->data);
	free(data);
	return CLI_EXIT_ERROR;
}

int cli_call(const struct cli *cli, const Coex__CtlRequest *req,
	     Coex__CtlResponse__ResultCase expect, Coex__CtlResponse **out)
{
	char sock[CLI_PATH_MAX], err[512];
	Coex__CtlResponse *resp = NULL;
	int r;

	if (util_path_join(sock, sizeof sock, cli->data, CLI_SOCK_NAME) != 0)
		return cli_fail(cli, "data directory path is too long: %s", cli->data);
	r = client_call(sock, req, cli->cmd->timeout_ms, &resp, err, sizeof err);
	if (r == ERR_UNAVAILABLE)
		return unreachable(cli, sock, err);
	if (r != 0)
		return cli_fail(cli, "%s", err);
	if (resp->code != 0) {
		r = cli_fail(cli, "%s", resp->error && *resp->error ? resp->error
								 : err_str(resp->code));
		coex__ctl_response__free_unpacked(resp, NULL);
		return r;
	}
	if (expect != COEX__CTL_RESPONSE__RESULT__NOT_SET && resp->result_case != expect) {
		r = cli_fail(cli, "unexpected response from coexd (result %d, wanted %d); "
			     "are coex and coexd the same version?",
			     (int)resp->result_case, (int)expect);
		coex__ctl_response__free_unpacked(resp, NULL);
		return r;
	}
	*out = resp;
	return CLI_EXIT_OK;
}

int cli_json_finish(const struct cli *cli, struct json *j)
{
	int r = json_finish(j);

	if (r == ERR_STATE)
		return cli_fail(cli, "internal error: unbalanced JSON output");
	if (r != 0)
		return cli_fail(cli, "writing output: %s", err_str(r));
	return CLI_EXIT_OK;
}
