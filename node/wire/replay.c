#include "wire/replay.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

/* An open-addressing hash set (keys are random curve points, so their first bytes hash
 * well) plus a FIFO ring that decides eviction. Slots hold ring positions. */
struct replay_entry {
	uint8_t key[32];
	uint64_t seen_ms;
};

struct replay_cache {
	size_t cap, head, count;   /* ring of entries, oldest at head */
	struct replay_entry *ring;
	size_t nslots;             /* power of two, >= 2 * cap */
	size_t *slots;             /* ring index + 1; 0 = empty */
};

int replay_cache_new(size_t capacity, struct replay_cache **out)
{
	struct replay_cache *rc = calloc(1, sizeof(*rc));
	size_t n = 16;

	if (!rc || capacity == 0)
		goto fail;
	while (n < capacity * 2)
		n <<= 1;
	rc->cap = capacity;
	rc->nslots = n;
	rc->ring = calloc(capacity, sizeof(*rc->ring));
	rc->slots = calloc(n, sizeof(*rc->slots));
	if (!rc->ring || !rc->slots)
		goto fail;
	*out = rc;
	return 0;
fail:
	replay_cache_free(rc);
	return capacity == 0 ? ERR_INVAL : ERR_NOMEM;
}

void replay_cache_free(struct replay_cache *rc)
{
	if (!rc)
		return;
	free(rc->ring);
	free(rc->slots);
	free(rc);
}

static size_t replay_hash(const struct replay_cache *rc, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h ^ (h >> 29)) & (rc->nslots - 1);
}

/* Returns the slot holding key, or the empty slot where it would go. */
static size_t replay_find(const struct replay_cache *rc, const uint8_t key[32])
{
	size_t i = replay_hash(rc, key);

	while (rc->slots[i] && memcmp(rc->ring[rc->slots[i] - 1].key, key, 32) != 0)
		i = (i + 1) & (rc->nslots - 1);
	return i;
}

/* Removes the oldest entry, re-inserting the probe run after its slot (linear probing
 * deletion without tombstones). */
static void replay_evict_oldest(struct replay_cache *rc)
{
	size_t i = replay_find(rc, rc->ring[rc->head].key);

	rc->slots[i] = 0;
	for (size_t j = (i + 1) & (rc->nslots - 1); rc->slots[j]; j = (j + 1) & (rc->nslots - 1)) {
		size_t pos = rc->slots[j];
		rc->slots[j] = 0;
		rc->slots[replay_find(rc, rc->ring[pos - 1].key)] = pos;
	}
	rc->head = (rc->head + 1) % rc->cap;
	rc->count--;
}

int replay_cache_insert(struct replay_cache *rc, const uint8_t key[32], uint64_t now_ms,
			uint64_t window_ms)
{
	size_t slot, pos;

	while (rc->count > 0 && rc->ring[rc->head].seen_ms + window_ms < now_ms)
		replay_evict_oldest(rc);
	slot = replay_find(rc, key);
	if (rc->slots[slot])
		return ERR_REPLAY;
	if (rc->count == rc->cap) {
		replay_evict_oldest(rc);
		slot = replay_find(rc, key);
	}
	pos = (rc->head + rc->count) % rc->cap;
	memcpy(rc->ring[pos].key, key, 32);
	rc->ring[pos].seen_ms = now_ms;
	rc->slots[slot] = pos + 1;
	rc->count++;
	return 0;
}
