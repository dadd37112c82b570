#ifndef HMP_CLINUX_SHIM_H
#define HMP_CLINUX_SHIM_H
/* Linux calls that Swift's Glibc module leaves out because glibc declares them only under _GNU_SOURCE (and
   defining it here would clash with that module's view of the same headers): declared by hand instead. */
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

extern ssize_t splice(int fd_in, long long *off_in, int fd_out, long long *off_out, size_t len, unsigned int flags);
extern int pipe2(int fds[2], int flags);
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int fallocate(int fd, int mode, off_t offset, off_t len);

static inline ssize_t hmp_splice(int fd_in, int fd_out, long long *off_out, size_t len) {
    return splice(fd_in, NULL, fd_out, off_out, len, 1 /* SPLICE_F_MOVE */);
}
static inline int hmp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int hmp_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }
static inline int hmp_set_pipe_size(int fd, int size) { return fcntl(fd, 1031 /* F_SETPIPE_SZ */, size); }
/* Allocates a file's blocks in [offset, offset + len) without changing its size. */
static inline int hmp_allocate(int fd, off_t offset, off_t len) { return fallocate(fd, 1 /* FALLOC_FL_KEEP_SIZE */, offset, len); }
/* The child of posix_spawn closes every descriptor from `from` up (glibc 2.34). */
static inline int hmp_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
/* A descriptor that becomes readable when the process exits (Linux 5.3), for poll; glibc 2.36 has no wrapper. */
static inline int hmp_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
#endif
