/* A tiny streaming JSON writer for the CLI's --json output.
 *
 * Calls must nest correctly (the caller's code, not outside input, decides the shape).
 * Strings are escaped per RFC 8259: quote, backslash and every control character are
 * escaped; valid UTF-8 passes through unchanged; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON whatever a peer put in a name. */
#ifndef COEX_CLI_JSON_H
#define COEX_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

enum { JSON_MAX_DEPTH = 16 };

struct json {
	FILE *f;
	int depth;
	int after_key;                        /* a key was written, its value comes next */
	unsigned char has_items[JSON_MAX_DEPTH]; /* the container at this depth has an item */
	int bad;                              /* misuse (too deep, unbalanced) */
};

void json_init(struct json *j, FILE *f);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);

/* Writes an object key; the next call writes its value. */
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s); /* NULL writes null */
void json_u64(struct json *j, uint64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* Writes v / 10^decimals as a decimal number, exactly (e.g. 1234 us with 3 decimals: 1.234). */
void json_fixed(struct json *j, uint64_t v, unsigned decimals);

/* key and value in one call */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_bool(struct json *j, const char *key, int v);

/* Ends the document with a newline and flushes. Returns 0, ERR_STATE if the calls did not
 * nest, or -EIO if writing failed. */
int json_finish(struct json *j);

#endif
