/* How the CLI shows a message (a MessageInfo and its decoded Body): text for people and JSON
 * for scripts, shared by show, thread, inbox and outbox. Everything a message carries came
 * from a peer: text goes through util_term_safe (control characters and bad UTF-8 become
 * '?'), one-line fields lose their newlines, multi-line fields (summary, terms, notes, the
 * Markdown body) are printed indented under their label so they cannot pass for our lines. */
#ifndef COEX_CLI_MSG_VIEW_H
#define COEX_CLI_MSG_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "coex.pb-c.h"
#include "crypto/identity.h"

struct json;

enum { MSG_VIEW_SHORT_ID = 12 }; /* hex characters of a message id shown in tables */

/* "accept", "decline", "counter", "withdraw", or "-" for anything else. */
const char *msg_view_decision(Coex__Decision d);

/* The message's Response, or NULL if it has no decoded body or is not a response. */
const Coex__Response *msg_view_response(const Coex__MessageInfo *m);

/* The Proposal a body carries: its own, a counter-proposal's, or a forwarded message's
 * original. A forwarded original is decoded into *orig, which the caller frees with
 * coex__body__free_unpacked (it is left NULL otherwise). Returns NULL if there is none, or
 * the original cannot be decoded. */
const Coex__Proposal *msg_view_proposal(const Coex__Body *b, Coex__Body **orig);
/* The ids of the nodes that forwarded a forwarded body's proposal before its author did,
 * first forwarder first (none for a single hop); at most cap. */
size_t msg_view_forwarders(const Coex__Body *b, char ids[][IDENTITY_ID_LEN + 1], size_t cap);

/* Prints a message in full for 'coex show': its header, "signatures: verified" or
 * "signatures: NOT VERIFIED", then the decoded body (now_ms for relative times). */
void msg_view_print(const Coex__MessageInfo *m, uint64_t now_ms);

/* Writes a message as a JSON object: id, kind, state, direction, peer, peer_id, author,
 * recipient, title, created_ms, expires_ms, thread, reply_to, log_index; with full also
 * verified, receipt_verified and "body", the decoded fields (attachments as name, media_type
 * and size, never their bytes). */
void msg_view_json(struct json *j, const Coex__MessageInfo *m, int full);

#endif
