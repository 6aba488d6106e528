/* coex audit, the offline verb (cmd_audit.c), listed in cmd_log.c's table. */
#ifndef COEX_CLI_AUDIT_CLI_H
#define COEX_CLI_AUDIT_CLI_H

struct cli;

/* coex audit FILE [--against OTHER]: exit 0 if everything verifies, 1 if not. */
int cmd_audit_run(struct cli *cli);

#endif
