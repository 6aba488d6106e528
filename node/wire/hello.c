#include "wire/hello.h"
#include "lib/err.h"
#include "lib/utf8.h"

#include "coex.pb-c.h"

#include <string.h>

/* Names are shown to operators: well-formed UTF-8 without control characters (terminal
 * escapes, newlines in logs). */
static int hello_text_ok(const char *s, size_t len, size_t max)
{
	return len > 0 && len <= max && utf8_text_ok(s, len);
}

int hello_encode(const struct hello *h, uint8_t *out, size_t out_cap, size_t *out_len)
{
	Coex__Hello m = COEX__HELLO__INIT;
	Coex__InviteProof ip = COEX__INVITE_PROOF__INIT;
	Coex__SignedTreeHead th = COEX__SIGNED_TREE_HEAD__INIT;
	char *listen[LIMIT_HELLO_LISTEN_MAX];
	size_t n;

	if (h->n_listen > LIMIT_HELLO_LISTEN_MAX)
		return ERR_INVAL;
	m.version_min = h->version_min;
	m.version_max = h->version_max;
	m.identity.data = (uint8_t *)h->identity;
	m.identity.len = sizeof(h->identity);
	m.name = (char *)h->name;
	for (size_t i = 0; i < h->n_listen; i++)
		listen[i] = (char *)h->listen[i];
	m.listen = listen;
	m.n_listen = h->n_listen;
	m.timestamp_ms = h->timestamp_ms;
	if (h->has_invite) {
		ip.invite_id.data = (uint8_t *)h->invite_id;
		ip.invite_id.len = sizeof(h->invite_id);
		ip.mac.data = (uint8_t *)h->invite_mac;
		ip.mac.len = sizeof(h->invite_mac);
		m.invite = &ip;
	}
	if (h->has_head) {
		th.size = h->head.size;
		th.root.data = (uint8_t *)h->head.root;
		th.root.len = 32;
		th.time_ms = h->head.time_ms;
		th.signature.data = (uint8_t *)h->head.signature;
		th.signature.len = 64;
		m.tree_head = &th;
	}
	n = coex__hello__get_packed_size(&m);
	if (n > out_cap)
		return ERR_TOOBIG;
	coex__hello__pack(&m, out);
	*out_len = n;
	return 0;
}

static int hello_copy(const Coex__Hello *m, struct hello *h)
{
	size_t nlen = strlen(m->name);

	if (m->identity.len != sizeof(h->identity) || m->version_min > m->version_max)
		return ERR_PROTO;
	if (!hello_text_ok(m->name, nlen, LIMIT_NAME_MAX) || m->n_listen > LIMIT_HELLO_LISTEN_MAX)
		return ERR_PROTO;
	h->version_min = m->version_min;
	h->version_max = m->version_max;
	memcpy(h->identity, m->identity.data, sizeof(h->identity));
	memcpy(h->name, m->name, nlen + 1);
	for (size_t i = 0; i < m->n_listen; i++) {
		size_t len = strlen(m->listen[i]);
		if (!hello_text_ok(m->listen[i], len, LIMIT_ADDRESS_MAX))
			return ERR_PROTO;
		memcpy(h->listen[i], m->listen[i], len + 1);
	}
	h->n_listen = m->n_listen;
	h->timestamp_ms = m->timestamp_ms;
	h->has_invite = m->invite != NULL;
	if (m->invite) {
		if (m->invite->invite_id.len != LIMIT_INVITE_ID || m->invite->mac.len != LIMIT_INVITE_MAC)
			return ERR_PROTO;
		memcpy(h->invite_id, m->invite->invite_id.data, LIMIT_INVITE_ID);
		memcpy(h->invite_mac, m->invite->mac.data, LIMIT_INVITE_MAC);
	}
	h->has_head = m->tree_head != NULL;
	if (m->tree_head) {
		if (m->tree_head->root.len != 32 || m->tree_head->signature.len != 64)
			return ERR_PROTO;
		h->head.size = m->tree_head->size;
		memcpy(h->head.root, m->tree_head->root.data, 32);
		h->head.time_ms = m->tree_head->time_ms;
		memcpy(h->head.signature, m->tree_head->signature.data, 64);
	}
	return 0;
}

int hello_decode(const uint8_t *in, size_t len, struct hello *out)
{
	Coex__Hello *m = coex__hello__unpack(NULL, len, in);
	struct hello h;
	int r;

	if (!m)
		return ERR_PROTO;
	/* protobuf-c cuts strings at a NUL; packing again shows the bytes that were lost (the
	 * runtime keeps unknown fields, so a newer peer's extra fields still add up). */
	if (coex__hello__get_packed_size(m) != len) {
		coex__hello__free_unpacked(m, NULL);
		return ERR_PROTO;
	}
	memset(&h, 0, sizeof(h));
	r = hello_copy(m, &h);
	coex__hello__free_unpacked(m, NULL);
	if (r == 0)
		*out = h;
	return r;
}
