/* coex: the command-line client of coexd.
 *
 *   coex [--data DIR] [--json] VERB [ARGS]
 *
 * main.c holds the global options, the list of command tables, the parsing of a command
 * line against a table entry, dispatch and the help texts. The commands live in one file
 * per group (cmd_node.c, cmd_partner.c, cmd_msg.c, cmd_drain.c, cmd_refer.c, cmd_log.c). */
#include "cli.h"
#include "completion.h"

#include "lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_cmd *const cmd_tables[] = {
	cmd_node_cmds,
	cmd_partner_cmds,
	cmd_msg_cmds,
	cmd_drain_cmds,
	cmd_refer_cmds,
	cmd_log_cmds,
};
#define CMD_TABLES (sizeof cmd_tables / sizeof cmd_tables[0])

enum { MAX_NAME = 64 }; /* longest "GROUP VERB" */

static const char global_opts_help[] =
	"  --data DIR   the node's data directory (default: $COEX_DATA, then ~/.coex)\n"
	"  --json       print JSON instead of text, for scripts\n"
	"  -h, --help   show help; 'coex VERB --help' for one verb\n";

/* The command line being parsed: a cursor into argv and the global options. */
struct args {
	int argc;
	char **argv;
	int i;
	const char *data;
	int json;
	int help;
};

/* ------------------------------------------------------------------ the tables */

static const struct cli_cmd *cmd_lookup(const char *name)
{
	size_t t;
	const struct cli_cmd *c;

	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

/* Whether word names a group of commands ("partner" for "partner add"). */
static int cmd_is_group(const char *word)
{
	size_t t, n = strlen(word);
	const struct cli_cmd *c;

	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (strncmp(c->name, word, n) == 0 && c->name[n] == ' ')
				return 1;
	return 0;
}

/* Finds the command named by words[0] and maybe words[1] ("partner add" before "partner").
 * Returns it and how many words it took, or NULL. */
static const struct cli_cmd *cmd_find(int nwords, char **words, int *taken)
{
	char two[MAX_NAME];
	const struct cli_cmd *c;
	int n;

	if (nwords >= 2) {
		n = snprintf(two, sizeof two, "%s %s", words[0], words[1]);
		if (n > 0 && (size_t)n < sizeof two && (c = cmd_lookup(two))) {
			*taken = 2;
			return c;
		}
	}
	if (nwords >= 1 && (c = cmd_lookup(words[0]))) {
		*taken = 1;
		return c;
	}
	return NULL;
}

/* ------------------------------------------------------------------ help */

static size_t name_width(const char *group)
{
	size_t t, w = 0, n = group ? strlen(group) : 0;
	const struct cli_cmd *c;

	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (!group || (strncmp(c->name, group, n) == 0 && c->name[n] == ' '))
				w = strlen(c->name) > w ? strlen(c->name) : w;
	return w;
}

static void print_example(FILE *f, const char *example)
{
	const char *p = example, *nl;

	fputs("\nexample:\n", f);
	for (; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		fprintf(f, "  %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
	}
}

static void print_usage(FILE *f)
{
	int w = (int)name_width(NULL);
	const struct cli_cmd *c;
	size_t t;

	fputs("usage: coex [--data DIR] [--json] VERB [ARGS]\n\n"
	      "Talks to this company's coex node (coexd) over its control socket.\n\n"
	      "verbs:\n", f);
	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			fprintf(f, "  %-*s  %s\n", w, c->name, c->summary);
	fprintf(f, "\nglobal options (before or after the verb):\n%s", global_opts_help);
	fputs("\nRun 'coex VERB --help' for a verb's arguments and an example.\n", f);
	print_example(f, "coex init --name \"Acme Logistics\" --listen 0.0.0.0:7400\n"
			 "coexd --data ~/.coex &\n"
			 "coex invite");
}

static void print_cmd_help(const struct cli_cmd *c)
{
	const struct cli_opt *o;
	int w = 0;

	printf("usage: coex [--data DIR] [--json] %s%s%s\n\n%s\n", c->name, *c->args ? " " : "",
	       c->args, c->help);
	for (o = c->opts; o && o->name; o++) {
		int n = (int)(strlen(o->name) + (o->metavar ? strlen(o->metavar) + 1 : 0));

		w = n > w ? n : w;
	}
	if (c->opts && c->opts->name)
		printf("\noptions:\n");
	for (o = c->opts; o && o->name; o++) {
		int n = (int)(strlen(o->name) + (o->metavar ? strlen(o->metavar) + 1 : 0));

		printf("  %s%s%s%*s  %s\n", o->name, o->metavar ? " " : "",
		       o->metavar ? o->metavar : "", w - n, "", o->help);
	}
	printf("\nglobal options:\n%s", global_opts_help);
	print_example(stdout, c->example);
}

static void print_group_help(FILE *f, const char *group)
{
	size_t t, n = strlen(group);
	int w = 0;
	const struct cli_cmd *c, *first = NULL;

	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (strncmp(c->name, group, n) == 0 && c->name[n] == ' ') {
				int len = (int)(strlen(c->name) + 1 + strlen(c->args));

				w = len > w ? len : w;
			}
	fprintf(f, "usage: coex [--data DIR] [--json] %s VERB [ARGS]\n\nverbs:\n", group);
	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++) {
			if (strncmp(c->name, group, n) != 0 || c->name[n] != ' ')
				continue;
			first = first ? first : c;
			fprintf(f, "  %s %-*s  %s\n", c->name, w - (int)strlen(c->name) - 1, c->args,
				c->summary);
		}
	fprintf(f, "\nRun 'coex %s VERB --help' for details.\n", group);
	if (first)
		print_example(f, first->example);
}

/* Lists a group's verbs on one line: "add, list, remove". */
static void print_group_verbs(FILE *f, const char *group)
{
	size_t t, n = strlen(group);
	const struct cli_cmd *c;
	const char *sep = "";

	for (t = 0; t < CMD_TABLES; t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (strncmp(c->name, group, n) == 0 && c->name[n] == ' ') {
				fprintf(f, "%s%s", sep, c->name + n + 1);
				sep = ", ";
			}
}

/* ------------------------------------------------------------------ parsing */

static int usage_error(const char *try, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A bad command line before a command is known: "coex: <what>", then where to look. */
static int usage_error(const char *try, const char *fmt, ...)
{
	va_list ap;

	fputs("coex: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'coex %s%s--help'\n", try ? try : "", try ? " " : "");
	return CLI_EXIT_USAGE;
}

/* Takes "--data DIR" or "--data=DIR" at argv[*i], if it is there. Returns 1 if taken, 0 if
 * not --data, or -1 after a usage error (*rc set). */
static int take_data(struct args *a, int *i, const char *try, int *rc)
{
	const char *s = a->argv[*i], *v = NULL;

	if (strncmp(s, "--data", 6) != 0 || (s[6] != '\0' && s[6] != '='))
		return 0;
	if (s[6] == '=')
		v = s + 7;
	else if (*i + 1 < a->argc)
		v = a->argv[++*i];
	if (!v || !*v) {
		*rc = usage_error(try, "option --data needs a directory");
		return -1;
	}
	if (a->data) {
		*rc = usage_error(try, "option --data given twice");
		return -1;
	}
	a->data = v;
	return 1;
}

/* Parses the global options before the verb. Returns -1 to go on, or an exit code. */
static int globals_parse(struct args *a)
{
	int rc = CLI_EXIT_USAGE, t;

	for (; a->i < a->argc; a->i++) {
		const char *s = a->argv[a->i];

		if (strcmp(s, "--json") == 0)
			a->json = 1;
		else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			a->help = 1;
		else if ((t = take_data(a, &a->i, NULL, &rc)) < 0)
			return rc;
		else if (t > 0)
			continue;
		else if (s[0] == '-' && s[1] != '\0')
			return usage_error(NULL, "unknown option '%s'", s);
		else
			break;
	}
	return -1;
}

static int opt_index(const struct cli_cmd *c, const char *name, size_t len)
{
	int i;

	for (i = 0; c->opts && c->opts[i].name && i < CLI_MAX_OPTS; i++)
		if (strlen(c->opts[i].name) == len && strncmp(c->opts[i].name, name, len) == 0)
			return i;
	return -1;
}

/* How many values the option takes: none for a flag, else one per word of its metavar. */
static int opt_arity(const struct cli_opt *o)
{
	const char *p;
	int n;

	if (!o->metavar)
		return 0;
	for (n = 1, p = o->metavar; *p; p++)
		n += *p == ' ';
	return n;
}

/* Whether the option may be given more than once (its metavar ends in "..."). */
static int opt_repeats(const struct cli_opt *o)
{
	size_t n = o->metavar ? strlen(o->metavar) : 0;

	return n >= 3 && strcmp(o->metavar + n - 3, "...") == 0;
}

/* Records one value of option k. Returns 0 or an exit code. */
static int opt_add(struct cli *cli, int k, const char *v)
{
	if (cli->nvals >= CLI_MAX_VALUES)
		return cli_usage(cli, "too many options (at most %d values)", CLI_MAX_VALUES);
	if (!cli->opt_val[k])
		cli->opt_val[k] = v;
	cli->val[cli->nvals] = v;
	cli->val_opt[cli->nvals++] = (unsigned char)k;
	return 0;
}

/* Takes the command's own option at argv[*i] and its values. Returns 0 or an exit code. */
static int take_opt(struct cli *cli, struct args *a, int *i)
{
	const char *s = a->argv[*i], *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	int k = opt_index(cli->cmd, s, len), n, j, rc;
	const struct cli_opt *o;
	const char *v;

	if (k < 0)
		return cli_usage(cli, "unknown option '%.*s'", (int)len, s);
	o = &cli->cmd->opts[k];
	n = opt_arity(o);
	if (n == 0 && eq)
		return cli_usage(cli, "option %s takes no value", o->name);
	if (cli->opt_val[k] && !opt_repeats(o))
		return cli_usage(cli, "option %s given twice", o->name);
	if (n == 0)
		return opt_add(cli, k, "");
	for (j = 0; j < n; j++) {
		if (j == 0 && eq)
			v = eq + 1;
		else if (*i + 1 < a->argc)
			v = a->argv[++*i];
		else
			return cli_usage(cli, "option %s needs %s (%s)", o->name,
					 n > 1 ? "values" : "a value", o->metavar);
		if ((rc = opt_add(cli, k, v)) != 0)
			return rc;
	}
	return 0;
}

/* Whether -h or --help comes before any "--". */
static int wants_help(const struct args *a)
{
	int i;

	for (i = a->i; i < a->argc && strcmp(a->argv[i], "--") != 0; i++)
		if (strcmp(a->argv[i], "-h") == 0 || strcmp(a->argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* Parses what follows the verb: options anywhere, the rest positional (moved to the front,
 * in order, within argv). Returns 0 or an exit code. */
static int cmd_args_parse(struct cli *cli, struct args *a)
{
	const struct cli_cmd *c = cli->cmd;
	int i, w = a->i, rc = 0, dash = 0;

	cli->argv = a->argv + a->i;
	for (i = a->i; i < a->argc && rc == 0; i++) {
		char *s = a->argv[i];

		if (dash || s[0] != '-' || s[1] == '\0')
			a->argv[w++] = s;
		else if (strcmp(s, "--") == 0)
			dash = 1;
		else if (strcmp(s, "--json") == 0)
			a->json = 1;
		else if (strncmp(s, "--json=", 7) == 0)
			rc = cli_usage(cli, "option --json takes no value");
		else if (take_data(a, &i, c->name, &rc) == 0)
			rc = take_opt(cli, a, &i);
	}
	if (rc != 0)
		return rc;
	cli->argc = w - a->i;
	if (cli->argc < c->min_args)
		return cli_usage(cli, "missing argument%s (usage: coex %s %s)",
				 c->min_args - cli->argc > 1 ? "s" : "", c->name, c->args);
	if (c->max_args >= 0 && cli->argc > c->max_args)
		return cli_usage(cli, "unexpected argument '%s'", cli->argv[c->max_args]);
	return 0;
}

/* ------------------------------------------------------------------ dispatch */

/* coex help [VERB...] */
static int help_run(int nwords, char **words)
{
	const struct cli_cmd *c;
	int taken = 0;

	if (nwords == 0) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if ((c = cmd_find(nwords, words, &taken)) && taken == nwords) {
		print_cmd_help(c);
		return CLI_EXIT_OK;
	}
	if (nwords == 1 && cmd_is_group(words[0])) {
		print_group_help(stdout, words[0]);
		return CLI_EXIT_OK;
	}
	return usage_error(NULL, "no help for '%s': unknown verb", words[0]);
}

/* The verb is not a command: a group without (or with an unknown) sub-verb, or unknown. */
static int verb_unknown(struct args *a)
{
	const char *verb = a->argv[a->i];

	if (!cmd_is_group(verb))
		return usage_error(NULL, "unknown verb '%s'", verb);
	if (a->help || (a->i + 1 < a->argc && (strcmp(a->argv[a->i + 1], "--help") == 0 ||
					       strcmp(a->argv[a->i + 1], "-h") == 0))) {
		print_group_help(stdout, verb);
		return CLI_EXIT_OK;
	}
	if (a->i + 1 >= a->argc || a->argv[a->i + 1][0] == '-')
		fprintf(stderr, "coex: %s: missing verb (", verb);
	else
		fprintf(stderr, "coex: %s: unknown verb '%s' (", verb, a->argv[a->i + 1]);
	print_group_verbs(stderr, verb);
	fprintf(stderr, ")\ntry 'coex %s --help'\n", verb);
	return CLI_EXIT_USAGE;
}

static int data_resolve(struct cli *cli, const struct args *a)
{
	int r = util_data_dir(a->data, cli->data, sizeof cli->data, &cli->data_src);

	if (r == ERR_NOTFOUND)
		return cli_fail(cli, "no home directory for the default data directory; "
				"use --data DIR or set COEX_DATA");
	if (r != 0)
		return cli_fail(cli, "data directory path is too long");
	return 0;
}

static int run(int argc, char **argv)
{
	struct args a = { .argc = argc, .argv = argv, .i = 1 };
	struct cli cli;
	int rc, taken = 0;

	memset(&cli, 0, sizeof cli);
	if ((rc = globals_parse(&a)) >= 0)
		return rc;
	if (a.i >= argc) {
		print_usage(a.help ? stdout : stderr);
		return a.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (strcmp(argv[a.i], "help") == 0)
		return help_run(argc - a.i - 1, argv + a.i + 1);
	if (strcmp(argv[a.i], "completion") == 0) {
		if (a.i + 2 != argc || strcmp(argv[a.i + 1], "bash") != 0) {
			fprintf(stderr, "usage: coex completion bash   (prints a bash completion script)\n");
			return CLI_EXIT_USAGE;
		}
		return completion_bash(stdout, cmd_tables, sizeof(cmd_tables) / sizeof(cmd_tables[0]));
	}
	if (!(cli.cmd = cmd_find(argc - a.i, argv + a.i, &taken)))
		return verb_unknown(&a);
	a.i += taken;
	if (a.help || wants_help(&a)) {
		print_cmd_help(cli.cmd);
		return CLI_EXIT_OK;
	}
	if ((rc = cmd_args_parse(&cli, &a)) != 0)
		return rc;
	cli.json = a.json;
	if ((rc = data_resolve(&cli, &a)) != 0)
		return rc;
	return cli.cmd->run(&cli);
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);

	/* Output that could not be written is a failure, not a silent success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == CLI_EXIT_OK)
			fprintf(stderr, "coex: writing output: %s\n", strerror(errno));
		rc = rc == CLI_EXIT_OK ? CLI_EXIT_ERROR : rc;
	}
	return rc;
}
