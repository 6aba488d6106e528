/* Small file-system helpers shared by the layers that write files. */
#ifndef COEX_LIB_FSUTIL_H
#define COEX_LIB_FSUTIL_H

/* Makes a new or renamed directory entry durable: fsyncs the directory holding path.
 * Returns 0 or -errno. */
int fsutil_sync_dir(const char *path);

#endif
