/* An RFC 9162 tree held in memory, every node kept, for tests and generators that need
 * inclusion proofs without a store (node/crypto/merkle.h does the hashing). */
#ifndef COEX_TESTS_TREE_MEM_H
#define COEX_TESTS_TREE_MEM_H

#include "crypto/merkle.h"

#include <stdint.h>

struct tree_mem {
	uint8_t (*lv[MERKLE_MAX_NODES])[32];
	uint64_t cnt[MERKLE_MAX_NODES], cap[MERKLE_MAX_NODES];
};

/* The tree as merkle.h reads it (the struct must outlive the value). */
struct merkle_nodes tree_mem_nodes(struct tree_mem *t);
/* Appends a leaf hash. Returns 0, ERR_NOMEM, or what merkle_append returns. */
int tree_mem_append(struct tree_mem *t, const uint8_t leaf[32]);
/* Leaves in the tree. */
uint64_t tree_mem_size(const struct tree_mem *t);
void tree_mem_free(struct tree_mem *t);

#endif
