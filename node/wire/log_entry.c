#include "wire/log_entry.h"
#include "lib/err.h"

#include "coex.pb-c.h"

#include <stdlib.h>
#include <string.h>

static const char *const log_entry_names[] = {
	"unspecified", "sent", "received", "receipt", "partner_added", "partner_removed",
	"invite_used", "introduced",
};

const char *log_entry_type_str(enum log_entry_type t)
{
	return (unsigned)t < sizeof(log_entry_names) / sizeof(log_entry_names[0])
		       ? log_entry_names[t]
		       : "unknown";
}

int log_entry_encode(const struct log_entry *e, uint8_t **out, size_t *len)
{
	Coex__LogEntry m = COEX__LOG_ENTRY__INIT;
	uint8_t *buf;
	size_t n;

	if (e->type < LOG_ENTRY_SENT || e->type > LOG_ENTRY_INTRODUCED)
		return ERR_INVAL;
	m.type = (Coex__LogEntryType)e->type;
	m.time_ms = e->time_ms;
	m.peer.data = (uint8_t *)e->peer;
	m.peer.len = 32;
	if (e->has_message) {
		m.envelope_hash.data = (uint8_t *)e->envelope_hash;
		m.envelope_hash.len = 32;
		m.message_id.data = (uint8_t *)e->message_id;
		m.message_id.len = 16;
		m.author.data = (uint8_t *)e->author;
		m.author.len = 32;
	}
	m.receipt.data = (uint8_t *)e->receipt;
	m.receipt.len = e->receipt_len;
	m.note = (char *)e->note;
	n = coex__log_entry__get_packed_size(&m);
	if (!(buf = malloc(n ? n : 1)))
		return ERR_NOMEM;
	coex__log_entry__pack(&m, buf);
	*out = buf;
	*len = n;
	return 0;
}

static int log_entry_copy(const Coex__LogEntry *m, struct log_entry *e)
{
	if ((int)m->type < LOG_ENTRY_SENT || (int)m->type > LOG_ENTRY_INTRODUCED ||
	    m->peer.len != 32 || strlen(m->note) >= sizeof(e->note))
		return ERR_PROTO;
	e->type = (enum log_entry_type)m->type;
	e->time_ms = m->time_ms;
	memcpy(e->peer, m->peer.data, 32);
	e->has_message = m->envelope_hash.len != 0;
	if (e->has_message) {
		if (m->envelope_hash.len != 32 || m->message_id.len != 16 || m->author.len != 32)
			return ERR_PROTO;
		memcpy(e->envelope_hash, m->envelope_hash.data, 32);
		memcpy(e->message_id, m->message_id.data, 16);
		memcpy(e->author, m->author.data, 32);
	}
	memcpy(e->note, m->note, strlen(m->note) + 1);
	if (m->receipt.len) {
		uint8_t *copy = malloc(m->receipt.len);
		if (!copy)
			return ERR_NOMEM;
		memcpy(copy, m->receipt.data, m->receipt.len);
		e->receipt = copy;
		e->receipt_len = m->receipt.len;
	}
	return 0;
}

int log_entry_decode(const uint8_t *in, size_t len, struct log_entry *out)
{
	Coex__LogEntry *m = coex__log_entry__unpack(NULL, len, in);
	struct log_entry e;
	int r;

	if (!m)
		return ERR_PROTO;
	memset(&e, 0, sizeof(e));
	r = log_entry_copy(m, &e);
	coex__log_entry__free_unpacked(m, NULL);
	if (r == 0)
		*out = e;
	else
		log_entry_release(&e);
	return r;
}

void log_entry_release(struct log_entry *e)
{
	free((void *)e->receipt);
	e->receipt = NULL;
	e->receipt_len = 0;
}
