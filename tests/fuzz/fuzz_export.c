/* Fuzzes the auditor: arbitrary bytes as an export file, through the record reader, the
 * strict record decoder and every check of wire/audit.h. Each input is audited three times:
 * with every check inline, with every signature and hash check deferred and run last in
 * reverse order, and read in place (audit_stream_mem, as coex audit reads a mapped file)
 * with checks deferred: all must name the same failure (or all pass). */
#include "lib/err.h"
#include "wire/audit.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t len, at;
};

static int mem_read(void *arg, uint8_t *buf, size_t want, size_t *got)
{
	struct mem *m = arg;
	size_t n = m->len - m->at < want ? m->len - m->at : want;

	if (n)
		memcpy(buf, m->p + m->at, n);
	m->at += n;
	*got = n;
	return 0;
}

static void later(void *arg, struct log_verify_job *j)
{
	struct log_verify_job **list = arg;

	j->next = *list;
	*list = j;
}

/* Audits data; copies what it found into *out. Returns 0, or -1 if out of memory. */
static int run(const uint8_t *data, size_t size, int deferred, int in_place,
	       struct audit_result *out)
{
	struct log_verify_job *jobs = NULL, *j;
	struct audit_opts o = {0};
	struct mem m = {data, size, 0};
	struct audit *a;
	int r;

	if (deferred) {
		o.defer = later;
		o.defer_arg = &jobs;
	}
	if (audit_new(&o, &a) != 0)
		return -1;
	r = in_place ? audit_stream_mem(a, data, size, NULL, NULL)
		     : audit_stream(a, mem_read, &m, NULL, NULL);
	while ((j = jobs)) {
		jobs = j->next;
		log_verify_job_run(j);
		audit_job_done(a, j);
	}
	if (audit_pending(a) != 0)
		__builtin_trap();
	*out = *audit_result(a);
	out->collected = NULL;
	out->alarms = NULL;
	out->alarm_probes = NULL;
	audit_free(a);
	return r == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_result x, y, z;

	if (run(data, size, 0, 0, &x) != 0 || run(data, size, 1, 0, &y) != 0 ||
	    run(data, size, 1, 1, &z) != 0)
		return 0;
	if (x.failed != y.failed || x.failed != z.failed || x.entries > size ||
	    (x.failed && !x.reason[0]) || x.n_alarms != z.n_alarms)
		__builtin_trap();
	if (x.failed && (x.first_bad_index != y.first_bad_index || strcmp(x.reason, y.reason) != 0 ||
			 x.first_bad_index != z.first_bad_index || strcmp(x.reason, z.reason) != 0))
		__builtin_trap();
	/* A file that passes has a signed header and every entry under a head. */
	if (!x.failed && (!x.header_ok || x.entries != x.header.entry_count))
		__builtin_trap();
	return 0;
}
