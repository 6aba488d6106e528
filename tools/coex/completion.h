/* Shell completion generated from the command tables. */
#ifndef COEX_TOOLS_COMPLETION_H
#define COEX_TOOLS_COMPLETION_H

#include "cli.h"

#include <stddef.h>
#include <stdio.h>

/* Writes a bash completion script for the verbs in tables[0..n). Returns 0 or 1 (write error). */
int completion_bash(FILE *out, const struct cli_cmd *const *tables, size_t n);

#endif
