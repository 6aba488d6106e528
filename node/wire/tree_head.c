#include "wire/tree_head.h"
#include "crypto/identity.h"

static void tree_head_message(const struct tree_head *h, uint8_t out[48])
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h->size >> (56 - 8 * i));
		out[40 + i] = (uint8_t)(h->time_ms >> (56 - 8 * i));
	}
	for (int i = 0; i < 32; i++)
		out[8 + i] = h->root[i];
}

int tree_head_sign(const struct identity *id, struct tree_head *h)
{
	uint8_t msg[48];

	tree_head_message(h, msg);
	return identity_sign(id, TREE_HEAD_DOMAIN, msg, sizeof(msg), h->signature);
}

int tree_head_verify(const uint8_t pk[32], const struct tree_head *h)
{
	uint8_t msg[48];

	tree_head_message(h, msg);
	return identity_verify(pk, TREE_HEAD_DOMAIN, msg, sizeof(msg), h->signature);
}
