/* `coex metrics` and the optional HTTP endpoint for Prometheus: one text, built on demand
 * from the net layer's counters, the commit pipeline's statistics and the store. Also the
 * outbox counts per partner that `coex drain` polls. */
#include "crypto/identity.h"
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/addr.h"
#include "net/commit.h"
#include "net/net.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mbuf {
	char *p;
	size_t len, cap;
};

static void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = b->p ? vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *q = realloc(b->p, cap);
		if (!q)
			return;
		b->p = q;
		b->cap = cap;
	}
}

static void metrics_reasons(struct mbuf *b, const char *name, const char *help,
			    const struct net_reason_count *t)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < NET_REASONS_MAX && t[i].reason; i++)
		mbuf_printf(b, "%s{reason=\"%s\"} %llu\n", name, t[i].reason,
			    (unsigned long long)t[i].count);
}

static void metrics_gauge(struct mbuf *b, const char *name, const char *help, uint64_t v)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
		    (unsigned long long)v);
}

static void metrics_counter(struct mbuf *b, const char *name, const char *help, uint64_t v)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		    (unsigned long long)v);
}

static void metrics_messages(struct mbuf *b, struct store *s)
{
	static const char *const dirs[] = {"out", "in", "relay"};
	static const char *const states[] = {"queued", "sent", "delivered", "answered", "expired",
					     "received"};

	mbuf_printf(b, "# HELP coex_messages Messages in the store by direction and state.\n"
		       "# TYPE coex_messages gauge\n");
	for (int d = 0; d < 3; d++)
		for (int st = 0; st < 6; st++) {
			uint64_t n = 0;
			if (store_msg_count(s, d, st, &n) == 0 && n)
				mbuf_printf(b, "coex_messages{dir=\"%s\",state=\"%s\"} %llu\n", dirs[d],
					    states[st], (unsigned long long)n);
		}
}

static int metrics_count_one(void *arg, const struct store_alarm *a)
{
	(void)a;
	(*(uint64_t *)arg)++;
	return 0;
}

static uint64_t metrics_alarm_count(struct store *s)
{
	uint64_t n = 0;

	store_alarm_list(s, metrics_count_one, &n);
	return n;
}

/* The whole exposition; *out is malloc'd (caller frees). */
static int metrics_text(struct ctl *c, char **out)
{
	const struct net_metrics *m = net_metrics(c->deps.net);
	struct mbuf b = {0};
	struct net_link_info *links = NULL;
	size_t n = 0, up = 0;
	uint64_t log_size = 0, queued = 0;

	if (net_links(c->deps.net, &links, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			uint64_t q = 0;
			up += links[i].up;
			if (store_outbox_count(c->deps.store, links[i].id, &q) == 0)
				queued += q;
		}
	free(links);
	store_log_size(c->deps.store, &log_size);
	metrics_gauge(&b, "coex_partners", "Partners known to this node.", n);
	metrics_gauge(&b, "coex_links_up", "Partner links that are up.", up);
	metrics_gauge(&b, "coex_outbox_depth", "Messages waiting for a receipt, all partners.", queued);
	metrics_gauge(&b, "coex_log_entries", "Entries in the exchange log.", log_size);
	metrics_gauge(&b, "coex_alarms", "Alarms raised: partners whose tree heads are inconsistent.",
		      metrics_alarm_count(c->deps.store));
	metrics_counter(&b, "coex_handshakes_total", "Links confirmed since start.", m->handshakes_completed);
	metrics_counter(&b, "coex_messages_queued_total", "Messages authored and queued since start.", m->messages_queued);
	metrics_counter(&b, "coex_messages_received_total", "Messages received and committed since start.", m->messages_received);
	metrics_counter(&b, "coex_messages_relayed_total", "Sealed messages relayed since start.", m->messages_relayed);
	metrics_counter(&b, "coex_receipts_received_total", "Verified receipts since start.", m->receipts_received);
	metrics_counter(&b, "coex_loop_ticks_total", "Runs of the event loop's 100 ms timer.", m->ticks);
	metrics_counter(&b, "coex_loop_ticks_late_total",
			"Timer runs more than 100 ms late: the event loop was held up.", m->ticks_late);
	metrics_gauge(&b, "coex_loop_lag_max_ms", "The longest the event loop's timer ran late.", m->lag_max_ms);
	metrics_counter(&b, "coex_inbound_paused_total",
			"Times a partner link stopped reading for a while: the partner sent faster than inbound_per_s.",
			m->inbound_paused);
	metrics_reasons(&b, "coex_handshake_drops_total", "Handshakes dropped without an answer, by reason.", m->handshake_drops);
	metrics_reasons(&b, "coex_message_refusals_total", "Messages refused, by reason.", m->message_refusals);
	metrics_messages(&b, c->deps.store);
	if (c->deps.commit) {
		const struct commit_stats *cs = commit_stats(c->deps.commit);
		metrics_counter(&b, "coex_commit_batches_total", "Group-commit transactions.", cs->batches);
		metrics_counter(&b, "coex_commit_jobs_total", "Writes committed in batches.", cs->jobs);
		metrics_gauge(&b, "coex_commit_batch_max", "Largest batch so far.", cs->max_batch);
		metrics_gauge(&b, "coex_commit_last_batch_microseconds", "Duration of the last batch.", cs->last_batch_us);
	}
	if (!b.p)
		return ERR_NOMEM;
	*out = b.p;
	return 0;
}

void ctl_cmd_metrics(struct ctl_client *cl)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	char *text = NULL;
	int r;

	if ((r = metrics_text(cl->ctl, &text)) != 0) {
		ctl_client_error(cl, r, "cannot build metrics: %s", err_str(r));
		return;
	}
	resp.result_case = COEX__CTL_RESPONSE__RESULT_METRICS;
	resp.metrics = text;
	ctl_client_reply(cl, &resp);
	free(text);
}

/* ------------------------------------------------------------------ outbox counts */

/* coex drain: each partner's messages still waiting for a receipt, one COUNT each. */
void ctl_cmd_outbox_count(struct ctl_client *cl, const Coex__OutboxCountRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__OutboxCountResult res = COEX__OUTBOX_COUNT_RESULT__INIT;
	struct net_link_info *links = NULL;
	Coex__OutboxCount *items = NULL, **ptrs = NULL;
	char (*ids)[IDENTITY_ID_LEN + 1] = NULL;
	const char *want = req && req->partner ? req->partner : "";
	struct store_partner p;
	size_t n = 0, k = 0;
	int r;

	if (*want && (r = store_partner_find(cl->ctl->deps.store, want, &p)) != 0) {
		ctl_client_error(cl, r, r == ERR_AMBIGUOUS
				 ? "'%s' matches more than one partner; give more of the id"
				 : "no partner '%s' (see 'coex partner list')", want);
		return;
	}
	if ((r = net_links(cl->ctl->deps.net, &links, &n)) != 0 ||
	    !(items = calloc(n + 1, sizeof(*items))) || !(ptrs = calloc(n + 1, sizeof(*ptrs))) ||
	    !(ids = calloc(n + 1, sizeof(*ids)))) {
		ctl_client_error(cl, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		Coex__OutboxCount *o = &items[k];

		if (*want && memcmp(links[i].id, p.id, 32) != 0)
			continue;
		coex__outbox_count__init(o);
		identity_id_format(links[i].id, ids[k]);
		o->partner = links[i].partner;
		o->id = ids[k];
		o->up = links[i].up;
		if ((r = store_outbox_count(cl->ctl->deps.store, links[i].id, &o->waiting)) != 0) {
			ctl_client_error(cl, r, "cannot count the outbox: %s", err_str(r));
			goto out;
		}
		ptrs[k++] = o;
	}
	res.partners = ptrs;
	res.n_partners = k;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_OUTBOX_COUNT;
	resp.outbox_count = &res;
	ctl_client_reply(cl, &resp);
out:
	free(ids);
	free(ptrs);
	free(items);
	free(links);
}

/* ------------------------------------------------------------------ HTTP endpoint */

/* One response per connection: whatever the request, the metrics, then close. Requests are
 * read only up to their first line end, capped, so a slow or hostile client costs little. */
struct metrics_conn {
	uv_tcp_t tcp;
	uv_write_t req;
	struct ctl *ctl;
	char *resp;
	size_t got;
	bool answered;
	char scratch[1024];             /* request bytes are only scanned for a line end */
};

static void metrics_conn_closed(uv_handle_t *h)
{
	struct metrics_conn *mc = h->data;

	free(mc->resp);
	free(mc);
}

static void metrics_written(uv_write_t *req, int status)
{
	struct metrics_conn *mc = req->data;

	(void)status;
	uv_close((uv_handle_t *)&mc->tcp, metrics_conn_closed);
}

static void metrics_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	struct metrics_conn *mc = h->data;

	(void)sz;
	*buf = uv_buf_init(mc->scratch, sizeof(mc->scratch));
}

static void metrics_answer(struct metrics_conn *mc)
{
	struct mbuf b = {0};
	char *text = NULL;
	uv_buf_t buf;

	mc->answered = true;
	uv_read_stop((uv_stream_t *)&mc->tcp);
	if (metrics_text(mc->ctl, &text) != 0) {
		uv_close((uv_handle_t *)&mc->tcp, metrics_conn_closed);
		return;
	}
	mbuf_printf(&b, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(text), text);
	free(text);
	mc->resp = b.p;
	buf = uv_buf_init(b.p, (unsigned)b.len);
	mc->req.data = mc;
	if (!b.p || uv_write(&mc->req, (uv_stream_t *)&mc->tcp, &buf, 1, metrics_written) != 0)
		uv_close((uv_handle_t *)&mc->tcp, metrics_conn_closed);
}

static void metrics_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct metrics_conn *mc = s->data;

	if (mc->answered)
		return;
	if (nread < 0 || (mc->got += (size_t)nread) > 8192) {
		uv_close((uv_handle_t *)&mc->tcp, metrics_conn_closed);
		return;
	}
	if (memchr(buf->base, '\n', (size_t)nread))
		metrics_answer(mc);
}

static void metrics_on_connection(uv_stream_t *server, int status)
{
	struct ctl *c = server->data;
	struct metrics_conn *mc;

	if (status < 0 || c->stopping || !(mc = calloc(1, sizeof(*mc))))
		return;
	mc->ctl = c;
	uv_tcp_init(c->loop, &mc->tcp);
	mc->tcp.data = mc;
	if (uv_accept(server, (uv_stream_t *)&mc->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&mc->tcp, metrics_alloc, metrics_read) != 0)
		uv_close((uv_handle_t *)&mc->tcp, metrics_conn_closed);
}

int ctl_metrics_listen(struct ctl *c, const char *address)
{
	struct sockaddr_storage ss;
	char host[256], port[16];
	int r;

	if (addr_split(address, host, sizeof(host), port, sizeof(port)) != 0)
		return ERR_INVAL;
	if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&ss) != 0)
		return ERR_INVAL;
	if ((r = uv_tcp_init(c->loop, &c->metrics)) != 0)
		return r;
	c->open_handles++;
	c->metrics_on = true;
	c->metrics.data = c;
	if ((r = uv_tcp_bind(&c->metrics, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&c->metrics, 16, metrics_on_connection);
}
