/* The identity key file, DATA/identity.key: one text line
 *
 *     coex-ed25519-seed-v1 <base32 of the 32-byte Ed25519 seed>\n
 *
 * mode 0600. Like ssh, the node refuses a key that group or others may access. */
#ifndef COEX_APP_KEYFILE_H
#define COEX_APP_KEYFILE_H

#include <stddef.h>

struct identity;

#define KEYFILE_TAG "coex-ed25519-seed-v1"

/* Creates path (O_EXCL, mode 0600) holding id's seed, and fsyncs it and its directory.
 * On failure no file is left behind. Returns 0, ERR_EXISTS (path exists: never
 * overwritten) or -errno. */
int keyfile_write(const char *path, const struct identity *id);

/* Reads the key at path into *out (the caller wipes it with identity_wipe). On failure
 * writes a one-line message to err (errlen may be 0) and leaves *out untouched.
 * Returns 0; -errno (cannot open or read, e.g. -ENOENT); ERR_DENIED (group or others have
 * any permission on the file: "identity.key: permissions 0644 are too open; ..."); or
 * ERR_PROTO (not a regular file, or not exactly the line above; a missing final newline
 * is tolerated). Every copy of the seed is wiped on every path. */
int keyfile_read(const char *path, struct identity *out, char *err, size_t errlen);

#endif
