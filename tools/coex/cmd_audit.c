/* coex audit FILE [--against OTHER]: the offline auditor (wire/audit.h) over export files,
 * with its checks spread over the cores (audit_pool.h). No node, no data directory.
 *
 * With --against, three passes: FILE (collecting its receipts from OTHER's key), OTHER
 * (answering them, collecting its receipts from FILE's key), and FILE again, hashes only,
 * answering OTHER's; the alarms each file raised about the other are looked for in the
 * other's log along the way. Each file is read in place (mapped) or as a stream: memory
 * grows with the receipts and alarms, not with the log. */
#include "cli.h"

#include "audit_cli.h"
#include "audit_pool.h"
#include "crypto/identity.h"
#include "json.h"
#include "lib/err.h"
#include "progress.h"
#include "util.h"
#include "wire/audit.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

enum { AUDIT_READ_BUF = 1 << 20 };

/* One file's audit: its result is read once every check is back. */
struct audit_file {
	const char *path;
	struct audit *a;
	const struct audit_result *res;
	/* The audit of the other file that looked for this file's alarm heads (--against). */
	const struct audit_result *answered;
	char err[CLI_PATH_MAX + 64]; /* the file could not be opened: why */
};

static int audit_fread(void *arg, uint8_t *buf, size_t want, size_t *got)
{
	FILE *f = arg;

	*got = fread(buf, 1, want, f);
	return *got == 0 && ferror(f) ? -EIO : 0;
}

struct audit_tick {
	struct audit *a;
	struct audit_pool *pool;
	struct progress *pg;
};

/* Every few hundred records: finished checks go back, the bar moves. */
static void audit_on_tick(void *arg, uint64_t offset)
{
	struct audit_tick *t = arg;

	if (t->pool)
		audit_pool_collect(t->pool, t->a);
	progress_update(t->pg, offset);
}

/* Feeds the file to the audit: mapped if it is a regular file (read in place, no copies),
 * else read as a stream. Returns 0 or ERR_NOMEM (audit_result says how the file went). */
static int audit_feed(struct audit *a, FILE *f, struct audit_tick *t)
{
	struct stat st;
	void *map;
	int r;

	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= SIZE_MAX &&
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(f), 0)) != MAP_FAILED) {
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		r = audit_stream_mem(a, map, (size_t)st.st_size, audit_on_tick, t);
		/* Deferred envelope checks read the mapping: every one is back before it goes. */
		if (t->pool)
			audit_pool_drain(t->pool, a);
		munmap(map, (size_t)st.st_size);
		return r;
	}
	setvbuf(f, NULL, _IOFBF, AUDIT_READ_BUF);
	r = audit_stream(a, audit_fread, f, audit_on_tick, t);
	if (t->pool)
		audit_pool_drain(t->pool, a);
	return r;
}

/* Audits one file with opts (whose defer hook is filled in here). */
static int audit_one(const struct cli *cli, struct audit_file *af, struct audit_opts *o,
		     const char *what)
{
	struct audit_pool *pool = NULL;
	struct progress pg;
	struct stat st;
	FILE *f;
	int r, threads = audit_pool_threads();

	if (!(f = fopen(af->path, "rb"))) {
		snprintf(af->err, sizeof(af->err), "cannot open the file: %s", strerror(errno));
		return CLI_EXIT_OK;
	}
	if (threads > 0 && audit_pool_new(threads, &pool) == 0) {
		o->defer = audit_pool_defer;
		o->defer_arg = pool;
	}
	if ((r = audit_new(o, &af->a)) == 0) {
		struct audit_tick t = {af->a, pool, &pg};
		progress_start(&pg, what, "bytes", fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0);
		r = audit_feed(af->a, f, &t);
		progress_end(&pg);
	}
	audit_pool_free(pool);
	fclose(f);
	if (r != 0)
		return cli_fail(cli, "auditing %s: %s", af->path, err_str(r));
	af->res = audit_result(af->a);
	return CLI_EXIT_OK;
}

/* The other file's node key and name, from its header, to collect the receipts it signed.
 * Returns 0 or an error (the audit of that file will say what is wrong). */
static int audit_peek_header(const char *path, struct export_header *out)
{
	struct export_reader rd;
	struct export_record rec;
	const uint8_t *p;
	size_t len;
	FILE *f = fopen(path, "rb");
	int r;

	if (!f)
		return -errno;
	export_reader_init(&rd, audit_fread, f);
	if ((r = export_reader_magic(&rd)) == 0 && (r = export_reader_next(&rd, &p, &len)) == 1) {
		if ((r = export_record_decode(p, len, &rec)) == 0) {
			r = rec.kind == EXPORT_HEADER ? 0 : ERR_PROTO;
			if (r == 0)
				*out = rec.header;
			export_record_release(&rec);
		}
	} else if (r == 0) {
		r = ERR_PROTO;
	}
	export_reader_free(&rd);
	fclose(f);
	return r;
}

/* ------------------------------------------------------------------ output */

struct audit_report {
	struct audit_file a, b;      /* b.path NULL without --against */
	int ok;
	const char *bad_file;
	uint64_t bad_index;
	const char *reason;
	uint64_t checked_ab, checked_ba; /* receipts of each found in the other's log */
	uint64_t alarms;             /* carried by both files */
	struct audit_file again;     /* pass 3 */
};

static const char *const evidence_name[] = {
	[AUDIT_EVIDENCE_BAD] = "bad",
	[AUDIT_EVIDENCE_PROVEN] = "proven",
	[AUDIT_EVIDENCE_SIGNED] = "signed",
};

/* What the partner's export says of alarm k: -1 not looked at (or not as far), 0 it holds
 * both heads, 1 it lacks one (the alarm is confirmed). */
static int alarm_partner_log(const struct audit_file *f, uint64_t k)
{
	const struct audit_result *r = f->answered;
	int seen = -1;

	for (size_t i = 0; r && i < r->n_alarm_probes; i++) {
		const struct audit_probe *p = &r->alarm_probes[i];
		if (p->origin != k)
			continue;
		if (p->missing)
			return 1;
		if (!p->checked)
			return -1;
		seen = 0;
	}
	return seen;
}

static void report_head_json(struct json *j, const struct tree_head *h)
{
	char root[65];

	json_object_begin(j);
	json_kv_u64(j, "size", h->size);
	sodium_bin2hex(root, sizeof(root), h->root, 32);
	json_kv_string(j, "root", root);
	json_kv_u64(j, "time_ms", h->time_ms);
	json_object_end(j);
}

static void report_alarms_json(struct json *j, const struct audit_file *f)
{
	const struct audit_result *r = f->res;
	char id[IDENTITY_ID_LEN + 1];

	json_key(j, "alarms");
	json_array_begin(j);
	for (size_t i = 0; r && i < r->n_alarms; i++) {
		const struct audit_alarm *x = &r->alarms[i];
		int log = alarm_partner_log(f, i);
		json_object_begin(j);
		identity_id_format(x->alarm.peer, id);
		json_kv_string(j, "partner_id", id);
		json_kv_u64(j, "detected_ms", x->alarm.detected_ms);
		json_kv_string(j, "reason", x->alarm.reason);
		json_kv_string(j, "evidence", evidence_name[x->evidence]);
		json_kv_bool(j, "evidence_verified", x->evidence != AUDIT_EVIDENCE_BAD);
		json_kv_string(j, "evidence_detail", x->detail);
		json_key(j, "seen");
		report_head_json(j, &x->alarm.seen);
		json_key(j, "offered");
		report_head_json(j, &x->alarm.offered);
		if (log >= 0)
			json_kv_string(j, "partner_log", log ? "lacks_a_head" : "holds_both");
		json_object_end(j);
	}
	json_array_end(j);
}

static void report_file_json(struct json *j, const struct audit_file *f)
{
	char id[IDENTITY_ID_LEN + 1];
	const struct audit_result *r = f->res;

	json_kv_string(j, "file", f->path);
	if (r && r->header_ok) {
		identity_id_format(r->header.key, id);
		json_kv_string(j, "node_id", id);
		json_kv_string(j, "name", r->header.name);
	}
	json_kv_u64(j, "entries", r ? r->entries : 0);
	json_kv_u64(j, "heads", r ? r->heads : 0);
	json_kv_u64(j, "receipts", r ? r->receipts : 0);
	json_kv_u64(j, "envelopes", r ? r->envelopes : 0);
	report_alarms_json(j, f);
}

static int report_json(const struct cli *cli, const struct audit_report *rp)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_bool(&j, "ok", rp->ok);
	report_file_json(&j, &rp->a);
	if (!rp->ok) {
		json_kv_string(&j, "bad_file", rp->bad_file);
		json_kv_u64(&j, "first_bad_index", rp->bad_index);
		json_kv_string(&j, "reason", rp->reason);
	}
	if (rp->b.path) {
		json_key(&j, "against");
		json_object_begin(&j);
		report_file_json(&j, &rp->b);
		json_kv_u64(&j, "receipts_found", rp->checked_ab);
		json_kv_u64(&j, "receipts_found_back", rp->checked_ba);
		json_object_end(&j);
	}
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static void report_file_text(const struct audit_file *f)
{
	const struct audit_result *r = f->res;
	char id[IDENTITY_ID_LEN + 1];

	if (!r)
		return;
	if (r->header_ok) {
		identity_id_format(r->header.key, id);
		cli_print("%s: log of %s (%s)\n", f->path, r->header.name, id);
	} else {
		cli_print("%s:\n", f->path);
	}
	cli_print("  %llu entries, %llu signed heads, %llu receipts, %llu envelopes\n",
		  (unsigned long long)r->entries, (unsigned long long)r->heads,
		  (unsigned long long)r->receipts, (unsigned long long)r->envelopes);
	for (size_t i = 0; i < r->n_alarms; i++) {
		const struct audit_alarm *x = &r->alarms[i];
		char *why = util_term_safe(x->alarm.reason);
		int log = alarm_partner_log(f, i);

		identity_id_format(x->alarm.peer, id);
		cli_print("  ALARM %zu: partner %s: %s\n", i, id, why ? why : "?");
		cli_print("    evidence %s: %s\n", x->evidence == AUDIT_EVIDENCE_BAD ? "BAD" :
			  x->evidence == AUDIT_EVIDENCE_PROVEN ? "verified, proves it" : "verified",
			  x->detail);
		if (log >= 0)
			cli_print("    the partner's export %s\n", log ? "lacks a head it signed: "
				  "confirmed" : "holds both heads: not confirmed by its log");
		free(why);
	}
}

static int report(const struct cli *cli, const struct audit_report *rp)
{
	if (cli->json) {
		if (report_json(cli, rp) != CLI_EXIT_OK)
			return CLI_EXIT_ERROR;
		return rp->ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	report_file_text(&rp->a);
	report_file_text(&rp->b);
	if (rp->b.path && rp->ok) {
		const char *na = rp->a.res->header.name, *nb = rp->b.res->header.name;
		cli_print("  %llu of %s's receipts found in %s's log and %llu of %s's in %s's, each "
			  "under a head consistent with that log\n", (unsigned long long)rp->checked_ab,
			  na, nb, (unsigned long long)rp->checked_ba, nb, na);
	}
	if (rp->ok && rp->alarms)
		cli_print("ok (the log verifies; %llu alarm%s about partners above)\n",
			  (unsigned long long)rp->alarms, rp->alarms == 1 ? "" : "s");
	else if (rp->ok)
		cli_print("ok\n");
	else
		cli_print("FAILED: %s: %s\n", rp->bad_file, rp->reason);
	return rp->ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/* ------------------------------------------------------------------ the passes */

static int report_file_failed(struct audit_report *rp, const struct audit_file *f)
{
	if (f->res && !f->res->failed)
		return 0;
	rp->ok = 0;
	rp->bad_file = f->path;
	rp->bad_index = f->res ? f->res->first_bad_index : 0;
	rp->reason = f->res ? f->res->reason : f->err;
	return 1;
}

static int report_probe_failed(struct audit_report *rp, const struct audit_file *holder,
			       const struct audit_result *answered)
{
	if (!answered->probe_failed)
		return 0;
	rp->ok = 0;
	rp->bad_file = holder->path;
	rp->bad_index = answered->probe_index;
	rp->reason = answered->probe_reason;
	return 1;
}

/* An alarm's evidence head that the accused file's log does not have: that file is bad. */
static int report_alarm_failed(struct audit_report *rp, const struct audit_file *accused,
			       const struct audit_result *answered)
{
	if (!answered->alarm_probe_failed)
		return 0;
	rp->ok = 0;
	rp->bad_file = accused->path;
	rp->bad_index = answered->alarm_probe_index;
	rp->reason = answered->alarm_probe_reason;
	return 1;
}

/* The evidence heads of holder's alarms about the node with key `accused` (bad evidence
 * is left out: the holder's own audit failed on it). malloc'd; *n 0 and NULL if none. */
static int alarm_probes(const struct audit_result *holder, const uint8_t accused[32],
			struct audit_probe **out, size_t *n)
{
	struct audit_probe *p;

	*out = NULL;
	*n = 0;
	if (!holder->n_alarms)
		return 0;
	if (!(p = calloc(holder->n_alarms * 2, sizeof(*p))))
		return ERR_NOMEM;
	for (size_t i = 0; i < holder->n_alarms; i++) {
		const struct audit_alarm *x = &holder->alarms[i];
		if (x->evidence == AUDIT_EVIDENCE_BAD || memcmp(x->alarm.peer, accused, 32) != 0)
			continue;
		p[*n].origin = i;
		p[*n].size = x->alarm.seen.size;
		memcpy(p[*n].root, x->alarm.seen.root, 32);
		p[*n + 1].origin = i;
		p[*n + 1].size = x->alarm.offered.size;
		memcpy(p[*n + 1].root, x->alarm.offered.root, 32);
		*n += 2;
	}
	*out = p;
	return 0;
}

/* Pass 3: FILE again, only hashed, answering OTHER's receipts. */
static int audit_back(const struct cli *cli, struct audit_report *rp)
{
	struct audit_file *again = &rp->again;
	struct audit_opts o = {.flags = LOG_VERIFY_HASH_ONLY,
			       .probes = rp->b.res->collected, .n_probes = rp->b.res->n_collected,
			       .probes_name = rp->a.res->header.name,
			       .alarms_name = rp->b.res->header.name};
	struct audit_probe *ap;
	int rc;

	if (alarm_probes(rp->b.res, rp->a.res->header.key, &ap, &o.n_alarm_probes) != 0)
		return cli_fail(cli, "auditing: %s", err_str(ERR_NOMEM));
	o.alarm_probes = ap;
	again->path = rp->a.path;
	rc = audit_one(cli, again, &o, "cross-checking");
	free(ap);
	if (rc == CLI_EXIT_OK) {
		rp->checked_ba = again->res->probes_checked;
		rp->b.answered = again->res;
		/* A confirmed alarm first: it names the accused file. */
		if (!report_file_failed(rp, again) && !report_alarm_failed(rp, &rp->a, again->res))
			report_probe_failed(rp, &rp->b, again->res);
	}
	return rc;
}

static int audit_against(const struct cli *cli, struct audit_report *rp)
{
	struct audit_opts ob = {.probes = rp->a.res->collected, .n_probes = rp->a.res->n_collected,
				.probes_name = NULL, .collect_peer = rp->a.res->header.key,
				.alarms_name = rp->a.res->header.name};
	struct export_header hb;
	struct audit_probe *ap = NULL;
	int rc;

	/* Named in reasons: "receipt in entry 9 is not in globex's log at index 4". */
	ob.probes_name = audit_peek_header(rp->b.path, &hb) == 0 ? hb.name : rp->b.path;
	if (ob.probes_name == hb.name &&
	    alarm_probes(rp->a.res, hb.key, &ap, &ob.n_alarm_probes) != 0)
		return cli_fail(cli, "auditing: %s", err_str(ERR_NOMEM));
	ob.alarm_probes = ap;
	rc = audit_one(cli, &rp->b, &ob, "auditing the other export");
	free(ap);
	if (rc != CLI_EXIT_OK)
		return rc;
	rp->checked_ab = rp->b.res->probes_checked;
	rp->a.answered = rp->b.res;
	if (report_file_failed(rp, &rp->b) || report_alarm_failed(rp, &rp->b, rp->b.res) ||
	    report_probe_failed(rp, &rp->a, rp->b.res))
		return CLI_EXIT_OK;
	return audit_back(cli, rp);
}

int cmd_audit_run(struct cli *cli)
{
	const char *other = cli_opt(cli, "--against");
	struct audit_report rp = {.ok = 1};
	struct audit_opts oa = {0};
	struct export_header hb;
	int rc;

	if (other && !*other)
		return cli_usage(cli, "--against needs the other party's export file");
	rp.a.path = cli->argv[0];
	rp.b.path = other;
	if (other && audit_peek_header(other, &hb) == 0)
		oa.collect_peer = hb.key;
	if ((rc = audit_one(cli, &rp.a, &oa, "auditing")) != CLI_EXIT_OK)
		goto out;
	if (!report_file_failed(&rp, &rp.a) && other &&
	    (rc = audit_against(cli, &rp)) != CLI_EXIT_OK)
		goto out;
	rp.alarms = (rp.a.res ? rp.a.res->n_alarms : 0) + (rp.b.res ? rp.b.res->n_alarms : 0);
	rc = report(cli, &rp);
out:
	audit_free(rp.a.a);
	audit_free(rp.b.a);
	audit_free(rp.again.a);
	return rc;
}
