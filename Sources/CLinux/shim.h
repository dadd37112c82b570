#ifndef HMP_CLINUX_SHIM_H
#define HMP_CLINUX_SHIM_H
/* splice(2) and pipe2(2) are declared only under _GNU_SOURCE, which Swift's Glibc module does not define (and
   defining it here would clash with that module's view of the same headers): declared by hand instead. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>

extern ssize_t splice(int fd_in, long long *off_in, int fd_out, long long *off_out, size_t len, unsigned int flags);
extern int pipe2(int fds[2], int flags);

static inline ssize_t hmp_splice(int fd_in, int fd_out, long long *off_out, size_t len) {
    return splice(fd_in, NULL, fd_out, off_out, len, 1 /* SPLICE_F_MOVE */);
}
static inline int hmp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int hmp_set_pipe_size(int fd, int size) { return fcntl(fd, 1031 /* F_SETPIPE_SZ */, size); }
#endif
