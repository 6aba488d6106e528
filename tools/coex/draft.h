/* A proposal drafted on the command line: the options of 'coex propose' (and of 'coex respond
 * ID counter') checked and turned into a ProposeRequest, with the body and attachments read
 * from files. Files are refused before they are read whole if they exceed what one message
 * carries (the default max_message_bytes, 4 MiB). */
#ifndef COEX_CLI_DRAFT_H
#define COEX_CLI_DRAFT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "coex.pb-c.h"

/* The proposal options, for a command's option table (draft_build reads them by name). */
#define DRAFT_OPTS                                                                          \
	{ "--title", "TITLE", "a one-line title (required)" },                              \
	{ "--summary", "TEXT", "a short summary" },                                         \
	{ "--body", "TEXT", "the proposal itself, in Markdown" },                           \
	{ "--body-file", "FILE", "read the Markdown body from FILE ('-': standard input)" }, \
	{ "--terms", "TEXT", "the terms offered" },                                         \
	{ "--tag", "TAG...", "whom it suits, e.g. logistics; repeatable" },                 \
	{ "--value", "AMOUNT CURRENCY", "its value, a whole amount and an ISO 4217 code" }, \
	{ "--attach", "FILE...", "attach a file (at most 4 MiB in all); repeatable" },      \
	{ "--expires", "DURATION", "how long it stays open: 48h, 30d (default 30d)" },      \
	{ "--forwardable", NULL, "let the partner forward it to its own partners" },        \
	{ "--hops", "N", "with --forwardable: forwards it may take, 1-3 (default 2)" }

/* A ProposeRequest and the memory it points into (option values point into argv). */
struct draft {
	Coex__ProposeRequest q;
	Coex__Value value;
	const char *tags[CLI_MAX_VALUES];
	Coex__Attachment att[CLI_MAX_VALUES];
	Coex__Attachment *attp[CLI_MAX_VALUES];
	char *body;        /* read from --body-file, else NULL */
	size_t total;      /* bytes of body and attachments */
};

/* Fills d from the DRAFT_OPTS options of the command line (q.to is left for the caller).
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE / CLI_EXIT_ERROR after printing why (a bad value,
 * an unreadable or too large file). Call draft_free afterwards whatever it returns. */
int draft_build(const struct cli *cli, struct draft *d);
void draft_free(struct draft *d);

/* The first DRAFT_OPTS option given on the command line, or NULL if none is. */
const char *draft_opt_given(const struct cli *cli);

/* The text option name: "" if not given; NULL after a usage error (*rc set) if it is not
 * valid UTF-8 (protobuf strings must be). */
const char *draft_text_opt(const struct cli *cli, const char *name, int *rc);

/* A decimal number in [min, max], digits only. Returns 0 or ERR_INVAL. */
int draft_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
