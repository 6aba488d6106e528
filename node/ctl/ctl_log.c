/* Control commands for the exchange log: coex log (a page of entries), coex log verify (a
 * page of verification, store/log_check.h) and coex log export (a chunk of the export file,
 * wire/export.h). Each request does a bounded amount of work and returns where to go on,
 * so a long log never holds the loop, and the CLI can show progress. */
#include "crypto/identity.h"
#include "crypto/sha256.h"
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/log_check.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/export.h"
#include "wire/log_entry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	CTL_LOG_PAGE = 1000,             /* entries per coex log page */
	CTL_LOG_CHUNK = 4 << 20,         /* bytes of export per chunk */
};

static uint64_t ctl_log_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ coex log */

struct ctl_log_row {
	Coex__LogEntryInfo info;
	char peer[STORE_NAME_MAX + 1];
	char peer_id[IDENTITY_ID_LEN + 1];
	char hash[65];
};

struct ctl_log_list {
	struct ctl *ctl;
	struct ctl_log_row *rows;
	size_t n, cap;
	uint8_t last_peer[32];           /* one partner lookup per run of the same peer */
	char last_name[STORE_NAME_MAX + 1];
	bool have_last;
};

static void ctl_log_peer_name(struct ctl_log_list *l, const uint8_t pk[32], char *out)
{
	struct store_partner p;

	if (!l->have_last || memcmp(l->last_peer, pk, 32) != 0) {
		memcpy(l->last_peer, pk, 32);
		l->have_last = true;
		l->last_name[0] = '\0';
		if (store_partner_get(l->ctl->deps.store, pk, &p) == 0)
			snprintf(l->last_name, sizeof(l->last_name), "%s", p.name);
	}
	memcpy(out, l->last_name, sizeof(l->last_name));
}

static int ctl_log_row(void *arg, struct store_log_walk *w, const struct store_log_item *it)
{
	struct ctl_log_list *l = arg;
	struct ctl_log_row *row;
	struct log_entry e;

	(void)w;
	if (it->is_head || l->n == l->cap)
		return 0;
	row = &l->rows[l->n++];
	coex__log_entry_info__init(&row->info);
	row->info.index = it->index;
	row->info.peer = row->peer;
	row->info.peer_id = row->peer_id;
	row->info.envelope_hash = row->hash;
	if (log_entry_decode(it->entry, it->len, &e) != 0) {
		row->info.type = "unreadable"; /* coex log verify says more */
		return 0;
	}
	row->info.type = (char *)log_entry_type_str(e.type);
	row->info.time_ms = e.time_ms;
	ctl_log_peer_name(l, e.peer, row->peer);
	identity_id_format(e.peer, row->peer_id);
	if (e.has_message)
		sodium_bin2hex(row->hash, sizeof(row->hash), e.envelope_hash, 32);
	log_entry_release(&e);
	return 0;
}

static void ctl_log_list(struct ctl_client *c, const Coex__LogRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__LogList res = COEX__LOG_LIST__INIT;
	struct ctl_log_list l = {.ctl = c->ctl};
	Coex__LogEntryInfo **ptrs = NULL;
	uint64_t size, start;
	size_t limit = req->limit && req->limit < CTL_LOG_PAGE ? req->limit : CTL_LOG_PAGE;
	int r;

	if ((r = store_log_size(c->ctl->deps.store, &size)) != 0) {
		ctl_client_error(c, r, "cannot read the log: %s", err_str(r));
		return;
	}
	start = req->tail ? (req->tail >= size ? 0 : size - req->tail) : req->offset;
	if (start > size)
		start = size;
	if (size - start < limit)
		limit = (size_t)(size - start);
	if (!(l.rows = calloc(limit + 1, sizeof(*l.rows))) || !(ptrs = calloc(limit + 1, sizeof(*ptrs)))) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		goto out;
	}
	l.cap = limit;
	if ((r = store_log_walk(c->ctl->deps.store, start, start + limit, 0, 0, ctl_log_row, &l)) != 0) {
		ctl_client_error(c, r, "cannot read the log: %s", err_str(r));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		ptrs[i] = &l.rows[i].info;
	res.size = size;
	res.offset = start;
	res.entries = ptrs;
	res.n_entries = l.n;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_LOG;
	resp.log = &res;
	ctl_client_reply(c, &resp);
out:
	free(l.rows);
	free(ptrs);
}

/* ------------------------------------------------------------------ coex log verify */

static int ctl_log_state_in(const Coex__LogVerifyState *in, struct log_check_state *st)
{
	uint8_t hashes[MERKLE_RANGE_MAX][32];

	memset(st, 0, sizeof(*st));
	merkle_range_init(&st->range);
	if (!in)
		return 0;
	if (in->n_range > MERKLE_RANGE_MAX)
		return ERR_INVAL;
	for (size_t i = 0; i < in->n_range; i++) {
		if (in->range[i].len != 32)
			return ERR_INVAL;
		memcpy(hashes[i], in->range[i].data, 32);
	}
	st->heads = in->heads;
	st->head_seq = in->head_seq;
	return merkle_range_load(&st->range, in->size, (const uint8_t (*)[32])hashes, in->n_range) == 0
		       ? 0 : ERR_INVAL;
}

static void ctl_log_verify(struct ctl_client *c, const Coex__LogVerifyRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__LogVerifyResult res = COEX__LOG_VERIFY_RESULT__INIT;
	Coex__LogVerifyState out = COEX__LOG_VERIFY_STATE__INIT;
	ProtobufCBinaryData range[MERKLE_RANGE_MAX];
	struct log_check_state st;
	struct log_check_result cr;
	struct store *s = c->ctl->deps.store;
	uint64_t now = ctl_log_now();
	int r;

	if (ctl_log_state_in(req->state, &st) != 0 ||
	    (r = log_check_page(s, c->ctl->deps.self->pk, now, &st, &cr)) == ERR_INVAL) {
		ctl_client_error(c, ERR_INVAL, "the verification state does not match the log; "
				 "run 'coex log verify' again");
		return;
	}
	if (r != 0) {
		ctl_client_error(c, r, "cannot verify the log: %s", err_str(r));
		return;
	}
	if (cr.done && cr.ok && (r = log_check_mark(s, &st, now)) != 0)
		log_warn("log_mark_failed", "error=\"%s\"", err_str(r));
	if (cr.done && !cr.ok)
		log_error("log_check_failed", "first_bad_index=%llu reason=\"%s\"",
			  (unsigned long long)cr.first_bad_index, cr.reason);
	for (size_t i = 0; i < st.range.n; i++) {
		range[i].data = st.range.hash[i];
		range[i].len = 32;
	}
	out.heads = st.heads;
	out.head_seq = st.head_seq;
	out.size = st.range.size;
	out.range = range;
	out.n_range = st.range.n;
	res.done = cr.done;
	res.ok = cr.ok;
	res.log_size = cr.log_size;
	res.head_count = cr.head_count;
	res.state = &out;
	res.first_bad_index = cr.first_bad_index;
	res.reason = cr.reason;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_LOG_VERIFY;
	resp.log_verify = &res;
	ctl_client_reply(c, &resp);
}

/* ------------------------------------------------------------------ coex log export */

/* One chunk: whole groups (an entry, its envelope, the heads it completes) while they fit,
 * then as much of the next group as fits. A group is rebuilt from the store when the next
 * request goes on inside it, so the daemon keeps nothing between requests. */
struct ctl_export {
	struct export_buf out, group;
	Coex__LogExportCursor next;
	bool open;                       /* a group is being built */
	uint64_t group_index, group_skip, group_head_seq;
	bool stopped;
	uint64_t bad_index;              /* an entry whose envelope is missing */
	int err;
};

/* Appends the open group, or the part of it that fits. */
static void ctl_export_flush(struct ctl_export *x)
{
	size_t room = x->out.len < CTL_LOG_CHUNK ? CTL_LOG_CHUNK - x->out.len : 0;
	size_t len = x->group.len - (size_t)x->group_skip, take = len < room ? len : room;

	if (take > 0) {
		memcpy(x->out.data + x->out.len, x->group.data + x->group_skip, take);
		x->out.len += take;
	}
	x->open = false;
	if (take == len) {
		x->next.head_seq = x->group_head_seq;
		return;
	}
	x->stopped = true;
	x->next.index = x->group_index;
	x->next.skip = x->group_skip + take;
}

static int ctl_export_open(struct ctl_export *x, struct store_log_walk *w,
			   const struct store_log_item *it)
{
	struct log_entry e;
	uint8_t *env = NULL;
	size_t len = 0;
	int r;

	x->group.len = 0;
	x->open = true;
	x->group_index = it->index;
	x->group_skip = it->index == x->next.index ? x->next.skip : 0;
	x->group_head_seq = x->next.head_seq;
	if ((r = export_put_entry(&x->group, it->index, it->entry, it->len)) != 0)
		return r;
	if (log_entry_decode(it->entry, it->len, &e) != 0)
		return 0; /* exported as it is: the audit names it */
	if ((e.type == LOG_ENTRY_SENT || e.type == LOG_ENTRY_RECEIVED) && e.has_message) {
		if ((r = store_log_walk_envelope(w, e.envelope_hash, &env, &len)) == 0)
			r = export_put_envelope(&x->group, e.envelope_hash, env, len);
		else if (r == ERR_NOTFOUND) {
			x->bad_index = it->index; /* stop here: the reply names the entry */
			r = 1;
		}
	}
	log_entry_release(&e);
	free(env);
	return r;
}

static int ctl_export_item(void *arg, struct store_log_walk *w, const struct store_log_item *it)
{
	struct ctl_export *x = arg;
	struct tree_head th;
	int r;

	if (it->is_head) {
		th.size = it->head.size;
		memcpy(th.root, it->head.root, 32);
		th.time_ms = it->head.time_ms;
		memcpy(th.signature, it->head.signature, 64);
		if ((r = export_put_head(x->open ? &x->group : &x->out, &th)) != 0)
			return r;
		if (x->open)
			x->group_head_seq = it->seq;
		else
			x->next.head_seq = it->seq;
		return 0;
	}
	if (x->open)
		ctl_export_flush(x);
	if (!x->stopped && x->out.len >= CTL_LOG_CHUNK) {
		x->stopped = true;
		x->next.index = it->index;
		x->next.skip = 0;
	}
	if (x->stopped)
		return 1;
	return ctl_export_open(x, w, it);
}

struct ctl_export_alarms {
	struct export_buf buf;
	uint64_t count;
};

static int ctl_export_alarm(void *arg, const struct store_alarm *sa)
{
	struct ctl_export_alarms *xa = arg;
	struct export_alarm a;

	memset(&a, 0, sizeof(a));
	memcpy(a.peer, sa->peer, 32);
	a.detected_ms = sa->detected_ms > 0 ? (uint64_t)sa->detected_ms : 0;
	snprintf(a.reason, sizeof(a.reason), "%s", sa->reason);
	a.seen = sa->seen;
	a.offered = sa->offered;
	xa->count++;
	return export_put_alarm(&xa->buf, &a);
}

/* The first chunk: the magic, the signed header of a snapshot at the latest head, and the
 * node's alarms about partners (few; the header signs their hash). */
static int ctl_export_start(struct ctl_client *c, struct ctl_export *x)
{
	struct export_header h;
	struct tree_head last;
	struct ctl_export_alarms xa;
	uint64_t seq = 0, heads = 0;
	int r;

	memset(&h, 0, sizeof(h));
	r = store_head_last(c->ctl->deps.store, &seq, &last);
	if (r == ERR_NOTFOUND)
		last.size = 0;
	else if (r != 0 || (r = store_head_count(c->ctl->deps.store, seq, &heads)) != 0)
		return r;
	h.version = EXPORT_VERSION;
	memcpy(h.key, c->ctl->deps.self->pk, 32);
	snprintf(h.name, sizeof(h.name), "%s", c->ctl->deps.name);
	h.created_ms = ctl_log_now();
	h.entry_count = last.size;
	h.head_count = heads;
	memset(&xa, 0, sizeof(xa));
	if ((r = store_alarm_list(c->ctl->deps.store, ctl_export_alarm, &xa)) == 0) {
		h.alarm_count = xa.count;
		sha256(h.alarms_hash, xa.buf.data, xa.buf.len);
		if ((r = export_header_sign(c->ctl->deps.self, &h)) == 0 &&
		    (r = export_put_magic(&x->out)) == 0 && (r = export_put_header(&x->out, &h)) == 0)
			r = export_buf_append(&x->out, xa.buf.data, xa.buf.len);
	}
	export_buf_free(&xa.buf);
	if (r != 0)
		return r;
	x->next.entry_count = last.size;
	x->next.last_seq = seq;
	x->stopped = seq > 0; /* heads to come (and entries: every entry is under a head) */
	return 0;
}

static void ctl_log_export(struct ctl_client *c, const Coex__LogExportRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__LogExportChunk res = COEX__LOG_EXPORT_CHUNK__INIT;
	struct ctl_export x;
	const Coex__LogExportCursor *cur = req->cursor;
	int r;

	memset(&x, 0, sizeof(x));
	coex__log_export_cursor__init(&x.next);
	x.bad_index = UINT64_MAX;
	if (!cur) {
		r = ctl_export_start(c, &x);
	} else if (cur->index > cur->entry_count) {
		r = ERR_INVAL;
	} else if (!(x.out.data = malloc(CTL_LOG_CHUNK))) {
		r = ERR_NOMEM;
	} else {
		/* Room for a whole chunk up front: ctl_export_flush copies into it. */
		x.out.cap = CTL_LOG_CHUNK;
		x.next.entry_count = cur->entry_count;
		x.next.last_seq = cur->last_seq;
		x.next.index = cur->index;
		x.next.skip = cur->skip;
		x.next.head_seq = cur->head_seq;
		r = store_log_walk(c->ctl->deps.store, cur->index, cur->entry_count, cur->head_seq,
				   cur->last_seq, ctl_export_item, &x);
		if (r == 1)
			r = 0;
		if (r == 0 && x.open)
			ctl_export_flush(&x);
	}
	if (r == 0 && x.bad_index != UINT64_MAX)
		ctl_client_error(c, ERR_NOTFOUND, "entry %llu: the envelope of its message is not "
				 "in the store; the export would not be complete",
				 (unsigned long long)x.bad_index);
	else if (r != 0)
		ctl_client_error(c, r, "cannot export the log: %s", err_str(r));
	if (r != 0 || x.bad_index != UINT64_MAX)
		goto out;
	res.data.data = x.out.data;
	res.data.len = x.out.len;
	res.next = x.stopped ? &x.next : NULL;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_LOG_EXPORT;
	resp.log_export = &res;
	ctl_client_reply(c, &resp);
out:
	export_buf_free(&x.out);
	export_buf_free(&x.group);
}

/* ------------------------------------------------------------------ dispatch */

void ctl_cmd_log(struct ctl_client *c, const Coex__CtlRequest *req)
{
	switch (req->cmd_case) {
	case COEX__CTL_REQUEST__CMD_LOG:
		ctl_log_list(c, req->log);
		break;
	case COEX__CTL_REQUEST__CMD_LOG_VERIFY:
		ctl_log_verify(c, req->log_verify);
		break;
	case COEX__CTL_REQUEST__CMD_LOG_EXPORT:
		ctl_log_export(c, req->log_export);
		break;
	default:
		ctl_client_error(c, ERR_PROTO, "unknown log command");
	}
}
