/* Shared helpers for unit tests (cmocka). */
#ifndef COEX_TESTS_TESTUTIL_H
#define COEX_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer; fails the test if it cannot. */
char *tu_read_file(const char *path, size_t *len_out);

/* Path of a file under ../shared/vectors ($COEX_VECTORS), in a static buffer. */
const char *tu_vector_path(const char *rel);

/* Decodes hex into a malloc'd buffer (*len_out bytes); fails the test on bad hex. */
uint8_t *tu_hex(const char *hex, size_t *len_out);

/* Decodes hex of exactly n bytes into out; fails the test otherwise. */
void tu_hex_exact(const char *hex, uint8_t *out, size_t n);

/* Makes a fresh temporary directory (removed by tu_rmtree), in a static buffer. */
const char *tu_tmpdir(void);
void tu_rmtree(const char *path);

#endif
