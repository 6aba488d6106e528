#include "tree_mem.h"

#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

static int tree_mem_get(void *arg, uint32_t level, uint64_t index, uint8_t out[32])
{
	struct tree_mem *t = arg;

	if (level >= MERKLE_MAX_NODES || index >= t->cnt[level])
		return ERR_NOTFOUND;
	memcpy(out, t->lv[level][index], 32);
	return 0;
}

struct merkle_nodes tree_mem_nodes(struct tree_mem *t)
{
	struct merkle_nodes rd = {tree_mem_get, t};

	return rd;
}

int tree_mem_append(struct tree_mem *t, const uint8_t leaf[32])
{
	struct merkle_nodes rd = tree_mem_nodes(t);
	struct merkle_node nodes[MERKLE_MAX_NODES];
	size_t n;
	int r;

	if ((r = merkle_append(&rd, t->cnt[0], leaf, nodes, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint32_t l = nodes[i].level;

		if (t->cnt[l] == t->cap[l]) {
			uint64_t cap = t->cap[l] ? t->cap[l] * 2 : 1024;
			uint8_t (*v)[32] = realloc(t->lv[l], cap * 32);

			if (!v)
				return ERR_NOMEM;
			t->lv[l] = v;
			t->cap[l] = cap;
		}
		memcpy(t->lv[l][t->cnt[l]++], nodes[i].hash, 32);
	}
	return 0;
}

uint64_t tree_mem_size(const struct tree_mem *t)
{
	return t->cnt[0];
}

void tree_mem_free(struct tree_mem *t)
{
	for (int i = 0; i < MERKLE_MAX_NODES; i++)
		free(t->lv[i]);
	memset(t, 0, sizeof(*t));
}
