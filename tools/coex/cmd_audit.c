/* coex audit FILE [--against OTHER]: the offline auditor (wire/audit.h) over export files,
 * with its checks spread over the cores (audit_pool.h). No node, no data directory.
 *
 * With --against, three passes: FILE (collecting its receipts from OTHER's key), OTHER
 * (answering them, collecting its receipts from FILE's key), and FILE again, hashes only,
 * answering OTHER's. Each file is read as a stream: memory grows with the receipts, not
 * with the log. */
#include "cli.h"

#include "audit_cli.h"
#include "audit_pool.h"
#include "crypto/identity.h"
#include "json.h"
#include "lib/err.h"
#include "progress.h"
#include "wire/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { AUDIT_READ_BUF = 1 << 20 };

/* One file's audit: its result is read once every check is back. */
struct audit_file {
	const char *path;
	struct audit *a;
	const struct audit_result *res;
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
	setvbuf(f, NULL, _IOFBF, AUDIT_READ_BUF);
	if (threads > 0 && audit_pool_new(threads, &pool) == 0) {
		o->defer = audit_pool_defer;
		o->defer_arg = pool;
	}
	if ((r = audit_new(o, &af->a)) == 0) {
		struct audit_tick t = {af->a, pool, &pg};
		progress_start(&pg, what, "bytes", fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0);
		r = audit_stream(af->a, audit_fread, f, audit_on_tick, &t);
		if (pool)
			audit_pool_drain(pool, af->a);
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
};

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
	if (rp->ok)
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

/* Pass 3: FILE again, only hashed, answering OTHER's receipts. */
static int audit_back(const struct cli *cli, struct audit_report *rp)
{
	struct audit_file again = {.path = rp->a.path};
	struct audit_opts o = {.flags = LOG_VERIFY_HASH_ONLY,
			       .probes = rp->b.res->collected, .n_probes = rp->b.res->n_collected,
			       .probes_name = rp->a.res->header.name};
	int rc;

	if ((rc = audit_one(cli, &again, &o, "cross-checking")) == CLI_EXIT_OK) {
		rp->checked_ba = again.res->probes_checked;
		if (!report_file_failed(rp, &again))
			report_probe_failed(rp, &rp->b, again.res);
	}
	audit_free(again.a);
	return rc;
}

static int audit_against(const struct cli *cli, struct audit_report *rp)
{
	struct audit_opts ob = {.probes = rp->a.res->collected, .n_probes = rp->a.res->n_collected,
				.probes_name = NULL, .collect_peer = rp->a.res->header.key};
	struct export_header hb;
	int rc;

	/* Named in reasons: "receipt in entry 9 is not in globex's log at index 4". */
	ob.probes_name = audit_peek_header(rp->b.path, &hb) == 0 ? hb.name : rp->b.path;
	if ((rc = audit_one(cli, &rp->b, &ob, "auditing the other export")) != CLI_EXIT_OK)
		return rc;
	rp->checked_ab = rp->b.res->probes_checked;
	if (report_file_failed(rp, &rp->b) || report_probe_failed(rp, &rp->a, rp->b.res))
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
	rc = report(cli, &rp);
out:
	audit_free(rp.a.a);
	audit_free(rp.b.a);
	return rc;
}
