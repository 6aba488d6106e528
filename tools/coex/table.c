#include "table.h"

#include "lib/err.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { TABLE_GAP = 2 };

struct table {
	size_t ncols;
	size_t nrows;     /* rows, the header included */
	size_t cap;
	char **cells;     /* nrows * ncols, row-major */
	size_t *width;    /* per column */
	int nomem;
};

static int table_add(struct table *t, const char *const *vals)
{
	size_t i, base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);

		if (!cells)
			return ERR_NOMEM;
		t->cells = cells;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		const char *v = vals[i] && *vals[i] ? vals[i] : "-";

		if (!(t->cells[base + i] = util_term_safe(v))) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return ERR_NOMEM;
		}
	}
	for (i = 0; i < t->ncols; i++) {
		size_t w = util_text_width(t->cells[base + i]);

		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t;

	if (ncols == 0 || ncols > TABLE_MAX_COLS)
		return NULL;
	t = calloc(1, sizeof *t);
	if (!t || !(t->width = calloc(ncols, sizeof *t->width))) {
		free(t);
		return NULL;
	}
	t->ncols = ncols;
	if (table_add(t, headers) != 0) {
		table_free(t);
		return NULL;
	}
	return t;
}

void table_row(struct table *t, ...)
{
	const char *vals[TABLE_MAX_COLS];
	va_list ap;
	size_t i;

	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		vals[i] = va_arg(ap, const char *);
	va_end(ap);
	if (table_add(t, vals) != 0)
		t->nomem = 1;
}

int table_print(const struct table *t, FILE *f)
{
	size_t r, c;

	if (t->nomem)
		return ERR_NOMEM;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			fputs(cell, f);
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(t->width[c] - util_text_width(cell) + TABLE_GAP),
					"");
		}
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
