/* The report: figures in the order measured, printed as a table with their ratios to the
 * crypto floor and to the ZeroMQ peer measured in the same run, and written as JSON. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct figure {
	char *key;           /* NULL: a section title in label */
	char *label;
	const char *unit;    /* a string literal */
	double value;
	int ratios;
};

struct note {
	char *key;
	char *text;
};

static struct figure *figs;
static size_t n_figs, cap_figs;
static struct note *notes;
static size_t n_notes, cap_notes;

static char *dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		bench_die("out of memory");
	return d;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 32;
	if (!(p = realloc(p, *cap * size)))
		bench_die("out of memory");
	return p;
}

void report_section(const char *title)
{
	figs = grow(figs, &cap_figs, n_figs, sizeof(*figs));
	figs[n_figs++] = (struct figure){ .label = dup(title) };
}

void report_add(const char *key, const char *label, double value, const char *unit, int ratios)
{
	figs = grow(figs, &cap_figs, n_figs, sizeof(*figs));
	figs[n_figs++] = (struct figure){ dup(key), dup(label), unit, value, ratios };
}

void report_note(const char *key, const char *text)
{
	notes = grow(notes, &cap_notes, n_notes, sizeof(*notes));
	notes[n_notes].key = dup(key);
	notes[n_notes++].text = dup(text);
}

double report_get(const char *key)
{
	for (size_t i = n_figs; i-- > 0;)
		if (figs[i].key && strcmp(figs[i].key, key) == 0)
			return figs[i].value;
	return NAN;
}

static void fmt_value(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else if (fabs(v) >= 1000 || v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 0.1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

static void fmt_ratio(char *buf, size_t len, double v, double base, bool wanted)
{
	if (!wanted)
		buf[0] = 0;
	else if (isnan(v) || isnan(base) || base <= 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.3f", v / base);
}

void report_print(void)
{
	double base = report_get("crypto_floor_per_s"), zmq = report_get("zmq_curve_per_s");

	printf("%-52s %12s %-9s %8s %8s\n", "figure", "value", "unit", "/floor", "/zmq");
	for (size_t i = 0; i < n_figs; i++) {
		const struct figure *f = &figs[i];
		char v[32], rf[32], rz[32];

		if (!f->key) {
			printf("-- %s\n", f->label);
			continue;
		}
		fmt_value(v, sizeof(v), f->value);
		fmt_ratio(rf, sizeof(rf), f->value, base, f->ratios & RATIO_FLOOR);
		fmt_ratio(rz, sizeof(rz), f->value, zmq, f->ratios & RATIO_ZMQ);
		printf("%-52s %12s %-9s %8s %8s\n", f->label, v, f->unit, rf, rz);
	}
	for (size_t i = 0; i < n_notes; i++)
		printf("note %s: %s\n", notes[i].key, notes[i].text);
	fflush(stdout);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int report_write_json(const char *path)
{
	FILE *f = fopen(path, "w");
	bool first = true;

	if (!f)
		return -1;
	fputs("{\n", f);
	for (size_t i = 0; i < n_notes; i++) {
		fprintf(f, "%s  ", first ? "" : ",\n");
		json_string(f, notes[i].key);
		fputs(": ", f);
		json_string(f, notes[i].text);
		first = false;
	}
	for (size_t i = 0; i < n_figs; i++) {
		if (!figs[i].key)
			continue;
		fprintf(f, "%s  ", first ? "" : ",\n");
		json_string(f, figs[i].key);
		if (isnan(figs[i].value) || isinf(figs[i].value))
			fputs(": null", f);
		else
			fprintf(f, ": %.6g", figs[i].value);
		first = false;
	}
	fputs("\n}\n", f);
	return fclose(f) == 0 ? 0 : -1;
}

void report_free(void)
{
	for (size_t i = 0; i < n_notes; i++) {
		free(notes[i].key);
		free(notes[i].text);
	}
	for (size_t i = 0; i < n_figs; i++) {
		free(figs[i].key);
		free(figs[i].label);
	}
	free(notes);
	free(figs);
	notes = NULL;
	figs = NULL;
	n_notes = n_figs = cap_notes = cap_figs = 0;
}
