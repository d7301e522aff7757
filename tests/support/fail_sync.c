// Fault injection for the end-to-end tests, loaded into a daemon with LD_PRELOAD: while the file
// named by ASSURE_FAIL_SYNC_WHEN exists, fsync and fdatasync of every file under the folder
// ASSURE_FAIL_SYNC_UNDER fail with EIO, as they do on a dying SD card (the write itself succeeds
// into the page cache; only making it durable fails). Everything else passes through.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int should_fail(int fd) {
  const char* under = getenv("ASSURE_FAIL_SYNC_UNDER");
  const char* when = getenv("ASSURE_FAIL_SYNC_WHEN");
  struct stat st;
  if (under == NULL || when == NULL || stat(when, &st) != 0) return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  return strncmp(path, under, strlen(under)) == 0;
}

typedef int (*sync_fn)(int);

static int sync_or_fail(int fd, sync_fn* real, const char* name) {
  if (should_fail(fd)) {
    errno = EIO;
    return -1;
  }
  if (*real == NULL) *real = (sync_fn)dlsym(RTLD_NEXT, name);
  return (*real)(fd);
}

int fsync(int fd) {
  static sync_fn real = NULL;
  return sync_or_fail(fd, &real, "fsync");
}

int fdatasync(int fd) {
  static sync_fn real = NULL;
  return sync_or_fail(fd, &real, "fdatasync");
}
