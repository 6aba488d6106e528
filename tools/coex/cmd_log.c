/* The exchange log verbs: log, log verify, log export, and audit (offline, cmd_audit.c).
 *
 * log, log verify and log export go through the daemon a page at a time: each request does
 * a bounded piece of work and returns where to go on, so a long log shows progress here and
 * never holds the daemon. Export writes FILE.tmp, syncs it and renames it over FILE, so FILE
 * is either the old file or a complete export. */
#include "cli.h"
#include "lib/fsutil.h"

#include "audit_cli.h"
#include "crypto/identity.h"
#include "json.h"
#include "lib/err.h"
#include "progress.h"
#include "wire/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	LOG_SHORT_HASH = 12,        /* hex characters of a message id in the table */
	LOG_TYPE_W = 15,            /* "partner_removed" */
	LOG_PEER_W = 20,
	EXPORT_FILE_MODE = 0600,    /* an export names partners and holds their sealed messages */
};

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return ERR_INVAL;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ log */

struct log_out {
	const struct cli *cli;
	struct json j;
	unsigned width;             /* digits of the largest index */
	uint64_t printed;
};

static void log_row_text(struct log_out *o, const Coex__LogEntryInfo *e)
{
	char when[64], peer[IDENTITY_FPR_LEN + 1];
	const char *who = e->peer;

	util_time_local(e->time_ms, when, sizeof(when));
	if (!*who) {
		snprintf(peer, sizeof(peer), "%s", e->peer_id);
		who = peer;
	}
	cli_print("%*llu  %-22s  %-*s  %-*s  %.*s\n", (int)o->width, (unsigned long long)e->index,
		  when, LOG_TYPE_W, e->type, LOG_PEER_W, who, LOG_SHORT_HASH,
		  *e->envelope_hash ? e->envelope_hash : "-");
}

static void log_row_json(struct log_out *o, const Coex__LogEntryInfo *e)
{
	struct json *j = &o->j;

	json_object_begin(j);
	json_kv_u64(j, "index", e->index);
	json_kv_u64(j, "time_ms", e->time_ms);
	json_kv_string(j, "type", e->type);
	json_kv_string(j, "peer", *e->peer ? e->peer : e->peer_id);
	json_kv_string(j, "peer_id", e->peer_id);
	json_kv_string(j, "envelope_hash", *e->envelope_hash ? e->envelope_hash : NULL);
	json_object_end(j);
}

static void log_header(struct log_out *o, uint64_t size)
{
	char digits[24];

	o->width = (unsigned)snprintf(digits, sizeof(digits), "%llu",
				      (unsigned long long)(size ? size - 1 : 0));
	if (o->width < 5)
		o->width = 5;
	if (o->cli->json)
		json_array_begin(&o->j);
	else if (size)
		cli_print("%*s  %-22s  %-*s  %-*s  %s\n", (int)o->width, "INDEX", "TIME", LOG_TYPE_W,
			  "TYPE", LOG_PEER_W, "PEER", "MESSAGE");
}

static int cmd_log(struct cli *cli)
{
	Coex__LogRequest q = COEX__LOG_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp;
	struct log_out o = {.cli = cli};
	const char *tail = cli_opt(cli, "--tail");
	uint64_t want = 0, end = 0;
	int rc, first = 1;

	if (tail && parse_count(tail, &want) != 0)
		return cli_usage(cli, "invalid --tail '%s': a positive number of entries", tail);
	json_init(&o.j, stdout);
	req.cmd_case = COEX__CTL_REQUEST__CMD_LOG;
	req.log = &q;
	q.tail = want;
	do {
		const Coex__LogList *l;
		if ((rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_LOG, &resp)) != CLI_EXIT_OK)
			return rc;
		l = resp->log;
		if (first) {
			/* The log as it was at the first page: entries appended meanwhile wait. */
			end = tail ? (l->offset + want < l->size ? l->offset + want : l->size) : l->size;
			log_header(&o, l->size);
			if (!cli->json && l->size == 0)
				cli_print("the log is empty\n");
			first = 0;
		}
		for (size_t i = 0; i < l->n_entries && l->entries[i]->index < end; i++) {
			if (cli->json)
				log_row_json(&o, l->entries[i]);
			else
				log_row_text(&o, l->entries[i]);
			o.printed++;
		}
		q.tail = 0;
		q.offset = l->offset + l->n_entries;
		rc = l->n_entries == 0 ? -1 : 0;
		coex__ctl_response__free_unpacked(resp, NULL);
	} while (rc == 0 && q.offset < end);
	if (!cli->json)
		return CLI_EXIT_OK;
	json_array_end(&o.j);
	return cli_json_finish(cli, &o.j);
}

/* ------------------------------------------------------------------ log verify */

static int verify_print(const struct cli *cli, const Coex__LogVerifyResult *r)
{
	const Coex__LogVerifyState *st = r->state;
	uint64_t entries = st ? st->size : 0, heads = st ? st->heads : 0;
	struct json j;

	if (!cli->json) {
		if (r->ok)
			cli_print("ok: %llu entries, %llu signed heads verified\n",
				  (unsigned long long)r->log_size, (unsigned long long)heads);
		else
			cli_print("FAILED: %s\n", r->reason);
		return r->ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_bool(&j, "ok", r->ok);
	json_kv_u64(&j, "entries", r->ok ? r->log_size : entries);
	json_kv_u64(&j, "heads", heads);
	json_kv_u64(&j, "log_size", r->log_size);
	json_kv_u64(&j, "head_count", r->head_count);
	if (!r->ok) {
		json_kv_u64(&j, "first_bad_index", r->first_bad_index);
		json_kv_string(&j, "reason", r->reason);
	}
	json_object_end(&j);
	if (cli_json_finish(cli, &j) != CLI_EXIT_OK)
		return CLI_EXIT_ERROR;
	return r->ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int cmd_log_verify(struct cli *cli)
{
	Coex__LogVerifyRequest q = COEX__LOG_VERIFY_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL, *prev = NULL;
	struct progress pg;
	int rc;

	req.cmd_case = COEX__CTL_REQUEST__CMD_LOG_VERIFY;
	req.log_verify = &q;
	progress_start(&pg, "verifying the log", "entries", 0);
	for (;;) {
		rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_LOG_VERIFY, &resp);
		/* The state sent points into the previous response. */
		coex__ctl_response__free_unpacked(prev, NULL);
		prev = NULL;
		if (rc != CLI_EXIT_OK)
			break;
		progress_set_total(&pg, resp->log_verify->log_size);
		progress_update(&pg, resp->log_verify->state ? resp->log_verify->state->size : 0);
		if (resp->log_verify->done || !resp->log_verify->state)
			break;
		q.state = resp->log_verify->state;
		prev = resp;
		resp = NULL;
	}
	progress_end(&pg);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = verify_print(cli, resp->log_verify);
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

/* ------------------------------------------------------------------ log export */

struct export_file {
	char path[CLI_PATH_MAX], tmp[CLI_PATH_MAX + 8];
	int fd;
	uint64_t bytes;
	struct export_header header;
	int have_header;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The first chunk starts with the magic and the signed header: read back for the summary. */
static void export_note_header(struct export_file *f, const uint8_t *p, size_t n)
{
	struct export_record rec;
	size_t len;

	if (n < EXPORT_MAGIC_LEN + EXPORT_LEN_PREFIX)
		return;
	p += EXPORT_MAGIC_LEN;
	n -= EXPORT_MAGIC_LEN;
	len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (len > n - EXPORT_LEN_PREFIX ||
	    export_record_decode(p + EXPORT_LEN_PREFIX, len, &rec) != 0)
		return;
	if (rec.kind == EXPORT_HEADER) {
		f->header = rec.header;
		f->have_header = 1;
	}
	export_record_release(&rec);
}

static int export_fetch(struct cli *cli, struct export_file *f, struct progress *pg)
{
	Coex__LogExportRequest q = COEX__LOG_EXPORT_REQUEST__INIT;
	Coex__CtlRequest req = COEX__CTL_REQUEST__INIT;
	Coex__CtlResponse *resp = NULL, *prev = NULL;
	int rc = CLI_EXIT_OK, r, first = 1;

	req.cmd_case = COEX__CTL_REQUEST__CMD_LOG_EXPORT;
	req.log_export = &q;
	for (;;) {
		const Coex__LogExportChunk *ch;
		rc = cli_call(cli, &req, COEX__CTL_RESPONSE__RESULT_LOG_EXPORT, &resp);
		coex__ctl_response__free_unpacked(prev, NULL);
		prev = NULL;
		if (rc != CLI_EXIT_OK)
			return rc;
		ch = resp->log_export;
		if (first)
			export_note_header(f, ch->data.data, ch->data.len);
		first = 0;
		if ((r = write_all(f->fd, ch->data.data, ch->data.len)) != 0) {
			rc = cli_fail(cli, "writing %s: %s", f->tmp, err_str(r));
			break;
		}
		f->bytes += ch->data.len;
		if (!ch->next)
			break;
		progress_set_total(pg, ch->next->entry_count);
		progress_update(pg, ch->next->index);
		q.cursor = ch->next;
		prev = resp;
		resp = NULL;
	}
	coex__ctl_response__free_unpacked(resp, NULL);
	return rc;
}

static int export_print(const struct cli *cli, const struct export_file *f)
{
	struct json j;
	uint64_t n = f->have_header ? f->header.entry_count : 0;
	uint64_t h = f->have_header ? f->header.head_count : 0;
	uint64_t a = f->have_header ? f->header.alarm_count : 0;

	if (!cli->json) {
		cli_print("exported %llu entries and %llu signed heads to %s (%llu bytes)\n",
			  (unsigned long long)n, (unsigned long long)h, f->path,
			  (unsigned long long)f->bytes);
		if (a)
			cli_print("with %llu alarm%s about partners (see coex audit)\n",
				  (unsigned long long)a, a == 1 ? "" : "s");
		return CLI_EXIT_OK;
	}
	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_string(&j, "file", f->path);
	json_kv_u64(&j, "entries", n);
	json_kv_u64(&j, "heads", h);
	json_kv_u64(&j, "alarms", a);
	json_kv_u64(&j, "bytes", f->bytes);
	json_object_end(&j);
	return cli_json_finish(cli, &j);
}

static int cmd_log_export(struct cli *cli)
{
	const char *out = cli_opt(cli, "-o");
	struct export_file f;
	struct progress pg;
	int rc, r;

	memset(&f, 0, sizeof(f));
	if (!out || !*out)
		return cli_usage(cli, "missing -o FILE");
	if (snprintf(f.path, sizeof(f.path), "%s", out) >= (int)sizeof(f.path))
		return cli_usage(cli, "file name too long");
	snprintf(f.tmp, sizeof(f.tmp), "%s.tmp", out);
	if ((f.fd = open(f.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, EXPORT_FILE_MODE)) < 0)
		return cli_fail(cli, "cannot create %s: %s", f.tmp, strerror(errno));
	progress_start(&pg, "exporting the log", "entries", 0);
	rc = export_fetch(cli, &f, &pg);
	progress_end(&pg);
	if (rc == CLI_EXIT_OK && fsync(f.fd) != 0)
		rc = cli_fail(cli, "writing %s: %s", f.tmp, strerror(errno));
	if (close(f.fd) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail(cli, "writing %s: %s", f.tmp, strerror(errno));
	if (rc == CLI_EXIT_OK && rename(f.tmp, f.path) != 0)
		rc = cli_fail(cli, "cannot rename %s to %s: %s", f.tmp, f.path, strerror(errno));
	if (rc != CLI_EXIT_OK) {
		unlink(f.tmp);
		return rc;
	}
	if ((r = fsutil_sync_dir(f.path)) != 0)
		return cli_fail(cli, "syncing the directory of %s: %s", f.path, err_str(r));
	return export_print(cli, &f);
}

/* ------------------------------------------------------------------ the table */

static const struct cli_opt log_opts[] = {
	{ "--tail", "N", "only the last N entries" },
	{ 0 },
};

static const struct cli_opt export_opts[] = {
	{ "-o", "FILE", "the file to write (required); replaced only once complete" },
	{ 0 },
};

static const struct cli_opt audit_opts[] = {
	{ "--against", "OTHER", "also cross-check with the partner's export OTHER" },
	{ 0 },
};

const struct cli_cmd cmd_log_cmds[] = {
	{ "log", "[--tail N]", "list the exchange log",
	  "Lists this node's exchange log, oldest first: every message sent and received,\n"
	  "every partner's receipt, and every change of trust (partner added or removed), each\n"
	  "with its index, time, type, the partner and the message id (the first 12 hex\n"
	  "characters of the envelope hash; --json gives all 64).",
	  "coex log --tail 20\n"
	  "coex log --json | jq -r '.[] | select(.type == \"receipt\") | .envelope_hash'",
	  log_opts, 0, 0, 0, cmd_log },
	{ "log verify", "", "check the log against every head this node signed",
	  "Has the node recompute its log from the stored entries: every signed tree head's\n"
	  "signature, and every head's root against the root of the entries it covers (each\n"
	  "entry's leaf hash recomputed from its bytes), every receipt from a partner.\n"
	  "Prints ok, or the first bad entry and why; exits 1 if the log does not verify.",
	  "coex log verify\ncoex log verify --json | jq .ok",
	  NULL, 0, 0, 0, cmd_log_verify },
	{ "log export", "-o FILE", "write the log to a self-contained file for an auditor",
	  "Writes the whole log as it is at its latest signed head: the node's key and name in\n"
	  "a signed header, every entry verbatim, every signed head, and the envelope of every\n"
	  "message sent or received (sealed, as exchanged). 'coex audit FILE' verifies it with\n"
	  "no node; docs/export-format.md specifies the format. FILE appears only once complete.",
	  "coex log export -o acme-2024-05.coexlog\ncoex audit acme-2024-05.coexlog",
	  export_opts, 0, 0, 0, cmd_log_export },
	{ "audit", "FILE [--against OTHER]", "verify an exported log offline (no node needed)",
	  "Verifies an export: every record, every entry's hash, every head's signature by the\n"
	  "file's node key and root against the entries, every receipt against the partner's\n"
	  "key, every envelope against its hash. With --against OTHER (the partner's export),\n"
	  "also that each receipt of either side names an entry that is in the other's log at\n"
	  "the receipted index, under a head consistent with it. Prints ok, or the first bad\n"
	  "entry and why; exits 0 if everything verifies, 1 if not, 2 on a usage error.",
	  "coex audit acme.coexlog\n"
	  "coex audit acme.coexlog --against globex.coexlog --json | jq .ok",
	  audit_opts, 1, 1, 0, cmd_audit_run },
	{ 0 },
};
