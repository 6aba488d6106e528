/* The node: wires config, identity, store, net and the control socket onto one loop. */
#ifndef COEX_APP_NODE_H
#define COEX_APP_NODE_H

#include <stddef.h>

/* Runs the node in data directory dir until SIGINT or SIGTERM. Errors that stop start-up
 * are printed to stderr naming what was wrong. Returns 0 on a clean stop, 1 otherwise. */
int node_run(const char *dir);

#endif
