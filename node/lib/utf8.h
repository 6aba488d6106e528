/* Text from peers, shown to operators. */
#ifndef COEX_LIB_UTF8_H
#define COEX_LIB_UTF8_H

#include <stddef.h>

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF) without control characters (C0, DEL, C1: terminal escapes), else 0. */
int utf8_text_ok(const char *s, size_t len);

#endif
