/* The CLI's command table and the context every command handler receives.
 *
 * A command is one entry in a group's table: its name ("init", "partner add"), synopsis,
 * help, options and argument counts, and a handler. main.c parses the global options and
 * the command line against the entry (flags, --help, argument counts) before the handler
 * runs, so a handler only reads cli->argv and cli_opt(), talks to the daemon through
 * cli_call() and formats the result. To add a verb: add an entry to a group's table; to add
 * a group: a new cmd_GROUP.c with its table, declared below and listed in main.c. */
#ifndef COEX_CLI_CLI_H
#define COEX_CLI_CLI_H

#include <stddef.h>

#include "coex.pb-c.h"
#include "util.h"

struct json;

/* Exit codes (design.md section 8). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

enum {
	CLI_MAX_OPTS = 16,   /* options one command may take, besides the global ones */
	CLI_MAX_VALUES = 64, /* option values on one command line, repeats included */
	CLI_PATH_MAX = 4096,
};

/* A command's own option: "--name NAME" (metavar "NAME") or a flag (metavar NULL). Given as
 * "--name VALUE" or "--name=VALUE", anywhere after the verb. The metavar also says how the
 * option is parsed: one value per word ("AMOUNT CURRENCY" takes two: "--value 25000 EUR"),
 * and a metavar ending in "..." ("TAG...") may be given more than once; any other option
 * given twice is a usage error. */
struct cli_opt {
	const char *name;     /* with the dashes: "--listen" */
	const char *metavar;  /* "HOST:PORT", or NULL for a flag that takes no value */
	const char *help;     /* one line */
};

struct cli;

struct cli_cmd {
	const char *name;     /* "init", or "GROUP VERB" such as "partner add" */
	const char *args;     /* synopsis after the name: "CODE [--name LOCALNAME]" */
	const char *summary;  /* one line, for 'coex --help' */
	const char *help;     /* what it does and prints, for 'coex VERB --help' */
	const char *example;  /* one or more example lines */
	const struct cli_opt *opts; /* ends with a zeroed entry; NULL for none */
	int min_args, max_args;     /* positional arguments */
	int timeout_ms;             /* control request deadline; 0 for CLIENT_TIMEOUT_MS */
	int (*run)(struct cli *cli); /* returns a CLI_EXIT_* code */
};

/* What a handler gets: the parsed command line. */
struct cli {
	const struct cli_cmd *cmd;
	char data[CLI_PATH_MAX];            /* the data directory */
	enum util_data_source data_src;
	int json;                           /* --json: print JSON instead of text */
	int argc;                           /* positional arguments after the verb */
	char **argv;
	const char *opt_val[CLI_MAX_OPTS];  /* value of cmd->opts[i]; NULL if not given */
	/* Every option value in command-line order, for repeated and many-valued options. */
	int nvals;
	const char *val[CLI_MAX_VALUES];
	unsigned char val_opt[CLI_MAX_VALUES]; /* index in cmd->opts of val[i] */
};

/* The command tables, one per group, each ending with a zeroed entry. */
extern const struct cli_cmd cmd_node_cmds[];
extern const struct cli_cmd cmd_partner_cmds[];
extern const struct cli_cmd cmd_msg_cmds[];
extern const struct cli_cmd cmd_drain_cmds[];
extern const struct cli_cmd cmd_refer_cmds[];
extern const struct cli_cmd cmd_log_cmds[];

/* The value of the command's option name ("--ttl"): NULL if not given, "" for a flag given.
 * For a repeated or many-valued option, its first value. */
const char *cli_opt(const struct cli *cli, const char *name);

/* Every value of the option name, in command-line order: each occurrence's values in turn
 * ("--value 1 EUR" gives "1", "EUR"). Writes up to max pointers to out; returns the count
 * (0 if not given). */
size_t cli_opt_values(const struct cli *cli, const char *name, const char **out, size_t max);

/* Prints "coex: VERB: <message>" and "try 'coex VERB --help'" to stderr; returns
 * CLI_EXIT_USAGE. For a bad command line found by the handler (a bad option value). */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "coex: VERB: <message>" to stderr; returns CLI_EXIT_ERROR. */
int cli_fail(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints to stdout like printf, with control characters other than newline replaced so text
 * from the daemon or a peer cannot drive the terminal. */
void cli_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends req to the daemon at DATA/coexd.sock and waits for its response. On success returns
 * CLI_EXIT_OK and *out holds a response whose result is expect (or anything, if expect is
 * COEX__CTL_RESPONSE__RESULT__NOT_SET); free it with coex__ctl_response__free_unpacked. On
 * failure it has printed why (daemon unreachable, timeout, the daemon's error) and returns
 * CLI_EXIT_ERROR; *out is untouched. */
int cli_call(const struct cli *cli, const Coex__CtlRequest *req,
	     Coex__CtlResponse__ResultCase expect, Coex__CtlResponse **out);

/* Ends a JSON document begun on stdout. Returns CLI_EXIT_OK, or prints why and returns
 * CLI_EXIT_ERROR. */
int cli_json_finish(const struct cli *cli, struct json *j);

/* Writes a partner as a JSON object: name, id, address, added_ms, introduced_by
 * (cmd_partner.c; join and partner add/remove print the same object). */
void cmd_partner_json(struct json *j, const Coex__PartnerInfo *p);

#endif
