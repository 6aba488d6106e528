/* Aligned text tables for people: columns separated by two spaces, padded to the widest
 * cell, the last column not padded. Cells are copied and made safe for a terminal. */
#ifndef COEX_CLI_TABLE_H
#define COEX_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum { TABLE_MAX_COLS = 16 };

struct table;

/* Makes a table with ncols (1 to TABLE_MAX_COLS) columns named by the ncols strings in
 * headers. Returns NULL if out of memory or ncols is out of range. */
struct table *table_new(size_t ncols, const char *const *headers);

/* Adds a row of exactly ncols strings (NULL or "" prints as "-"). Out of memory is
 * remembered and reported by table_print. */
void table_row(struct table *t, ...);

/* Prints the header and the rows to f. Returns 0, ERR_NOMEM (a row could not be added) or
 * -EIO. */
int table_print(const struct table *t, FILE *f);

void table_free(struct table *t);

#endif
