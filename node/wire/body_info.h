/* Small facts about a Body for listings (titles). No I/O. */
#ifndef COEX_WIRE_BODY_INFO_H
#define COEX_WIRE_BODY_INFO_H

#include <stddef.h>
#include <stdint.h>

/* Writes a one-line title for the body into out (truncated, NUL-terminated; "" if none):
 * a proposal's title, a counter-proposal's title, a forwarded proposal's title, a
 * referral's or an answer's note. Never fails: undecodable bodies give "". */
void message_body_title(const uint8_t *body, size_t len, char *out, size_t cap);

#endif
