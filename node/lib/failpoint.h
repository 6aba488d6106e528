/* Failpoints for crash tests: named places where a test build can be told to die at once
 * (SIGKILL to itself, as a power cut would), to prove that nothing is lost or applied twice
 * whatever instant a node stops. Compiled in only with -DCOEX_FAILPOINTS=ON (test builds);
 * elsewhere failpoint() is nothing.
 *
 *   COEX_FAILPOINT=NAME       die the first time NAME is reached
 *   COEX_FAILPOINT=NAME:N     die the N-th time
 *
 * Names: commit.before, commit.after, send.before, send.after, log.append.mid,
 * receipt.before_send, forward.mid. */
#ifndef COEX_LIB_FAILPOINT_H
#define COEX_LIB_FAILPOINT_H

#ifdef COEX_FAILPOINTS
void failpoint(const char *name);
#else
#define failpoint(name) ((void)0)
#endif

#endif
