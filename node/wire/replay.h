/* A bounded cache of recently seen initiator ephemeral keys, to drop replayed first
 * handshake messages within the clock tolerance window. Oldest entries are evicted first.
 * No I/O; time is passed in. */
#ifndef COEX_WIRE_REPLAY_H
#define COEX_WIRE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay_cache;

/* capacity: entries kept at most. Returns 0 or ERR_NOMEM. */
int replay_cache_new(size_t capacity, struct replay_cache **out);
void replay_cache_free(struct replay_cache *rc);

/* Records key seen at now_ms. Entries older than window_ms are forgotten.
 * Returns 0 if the key is new (and records it), ERR_REPLAY if it was seen in the window. */
int replay_cache_insert(struct replay_cache *rc, const uint8_t key[32], uint64_t now_ms,
			uint64_t window_ms);

#endif
