/* The log's tree nodes and size, cached in the connection (store_priv.h). A node once
 * committed never changes, so a cached one is served until a rollback may have undone it. */
#include "store/store_priv.h"

#include <string.h>

/* Fibonacci hashing: consecutive indices (the nodes a batch appends and proves) spread over
 * the slots; the level moves a node away from its children's slots. */
static struct store_node_slot *store_cache_slot(struct store *s, uint32_t level, uint64_t idx)
{
	uint64_t h = (idx + ((uint64_t)level << 56)) * UINT64_C(0x9e3779b97f4a7c15);

	return &s->cache.nodes[h >> (64 - STORE_NODE_CACHE_BITS)];
}

bool store_cache_node_get(struct store *s, uint32_t level, uint64_t idx, uint8_t out[32])
{
	const struct store_node_slot *slot = store_cache_slot(s, level, idx);

	if (slot->level != level + 1 || slot->idx != idx)
		return false;
	memcpy(out, slot->hash, sizeof(slot->hash));
	return true;
}

void store_cache_node_put(struct store *s, uint32_t level, uint64_t idx, const uint8_t hash[32])
{
	struct store_node_slot *slot = store_cache_slot(s, level, idx);

	slot->level = (uint8_t)(level + 1);
	slot->idx = idx;
	memcpy(slot->hash, hash, sizeof(slot->hash));
}

bool store_cache_size_get(struct store *s, uint64_t *size)
{
	if (!s->cache.in_batch || !s->cache.size_known || sqlite3_get_autocommit(s->db))
		return false;
	*size = s->cache.size;
	return true;
}

void store_cache_size_put(struct store *s, uint64_t size)
{
	/* Outside a batch a transaction may have been begun by anyone (log_check's BEGIN) and
	 * end without telling us; another connection may append after it. */
	if (!s->cache.in_batch || sqlite3_get_autocommit(s->db))
		return;
	s->cache.size = size;
	s->cache.size_known = true;
}

void store_cache_batch(struct store *s, bool open)
{
	s->cache.in_batch = open;
	s->cache.size_known = false;
}

void store_cache_clear(struct store *s)
{
	bool in_batch = s->cache.in_batch;

	memset(&s->cache, 0, sizeof(s->cache));
	s->cache.in_batch = in_batch;
}
