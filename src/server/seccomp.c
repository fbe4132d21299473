/* The workers' seccomp filter.
 *
 * Three answers, chosen per call:
 * - allowed: what serving does (sockets, epoll, files for TLS and logs, memory, time, threads
 *   of libuv's pool and the resolver's, signals a thread sends itself to abort);
 * - killed (the whole process, SIGSYS, logged by the kernel): calls that only an attacker
 *   running code in a worker wants: executing a program, tracing or reading another process,
 *   forking, changing ids or capabilities, namespaces, mounts, kernel modules, bpf, keyrings.
 *   A worker never makes them on any path, so a kill costs no legitimate request and stops an
 *   exploit at its first step instead of letting it probe;
 * - everything else fails with EPERM, and the kernel logs it (SECCOMP_FILTER_FLAG_LOG). A call
 *   this list missed on a rare path (a new libc that uses a new call, a resolver corner) fails
 *   that one operation, which the code already handles as an error, instead of taking the
 *   gateway down in production; the log line names the call so that it can be added.
 * clone3 answers ENOSYS so that libc falls back to clone, whose thread-creating form only is
 * allowed. */
#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "server/seccomp.h"

static const char *const allowed[] = {
    /* files and descriptors */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close",
    "open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "lseek", "access",
    "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "fcntl", "dup", "dup2",
    "dup3", "pipe", "pipe2", "fsync", "fdatasync", "statfs", "fstatfs", "getcwd",
    /* event loop */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "poll", "ppoll", "select", "pselect6", "eventfd2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime",
    /* sockets (socket itself is judged below by family) */
    "connect", "accept", "accept4", "bind", "listen", "getsockname", "getpeername",
    "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
    "recvmmsg", "shutdown", "socketpair",
    /* memory */
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "mincore", "membarrier",
    /* threads, time, identity, randomness */
    "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "sched_yield",
    "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
    "getegid", "getresuid", "getresgid", "getgroups", "getrandom", "uname", "getrusage",
    "sysinfo", "getrlimit", "prlimit64", "sched_getparam", "sched_getscheduler",
    /* signals, ending */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigtimedwait",
    "tgkill", "tkill", "restart_syscall", "exit", "exit_group",
};

static const char *const killed[] = {
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "fork", "vfork",
    "kcmp", "pidfd_getfd", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "setfsuid", "setfsgid", "capset", "unshare", "setns", "mount",
    "umount2", "pivot_root", "chroot", "init_module", "finit_module", "delete_module",
    "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "userfaultfd", "personality", "reboot", "swapon", "swapoff", "acct",
    "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at", "mount_setattr", "fsopen",
    "fsmount", "move_mount", "open_tree",
};

/* Adds one rule by name; a name this kernel's tables do not know is skipped (an older libseccomp
 * or another architecture), as are calls the architecture does not have (open on arm64). */
static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
               const struct scmp_arg_cmp *args)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;
    int r = seccomp_rule_add_array(ctx, action, nr, n, args);
    return r == -EDOM || r == -EFAULT ? 0 : r;
}

/* Calls allowed only with some arguments: the rest get the default answer. */
static int add_narrow(scmp_filter_ctx ctx)
{
    static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
    static const unsigned long ioctls[] = {FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, TCGETS};
    static const int prctls[] = {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS};
    int r = 0;
    /* The resolver's netlink socket (getaddrinfo's AI_ADDRCONFIG) is of the route protocol. */
    for (size_t i = 0; r == 0 && i < sizeof(families) / sizeof(*families); i++) {
        struct scmp_arg_cmp a[2] = {SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]),
                                    SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE)};
        r = add(ctx, SCMP_ACT_ALLOW, "socket", families[i] == AF_NETLINK ? 2 : 1, a);
    }
    /* Terminal ioctls other than "is this a terminal" (TIOCSTI types into it) are refused. */
    for (size_t i = 0; r == 0 && i < sizeof(ioctls) / sizeof(*ioctls); i++) {
        struct scmp_arg_cmp a = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctls[i]);
        r = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &a);
    }
    for (size_t i = 0; r == 0 && i < sizeof(prctls) / sizeof(*prctls); i++) {
        struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctls[i]);
        r = add(ctx, SCMP_ACT_ALLOW, "prctl", 1, &a);
    }
    /* A thread (libuv's pool, a resolver's) but not a new process: fork is an attacker's. */
    struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    struct scmp_arg_cmp process = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
    if (r == 0)
        r = add(ctx, SCMP_ACT_ALLOW, "clone", 1, &thread);
    if (r == 0)
        r = add(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, &process);
    if (r == 0)
        r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
    return r;
}

static int build(scmp_filter_ctx ctx)
{
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    /* Refusals are logged where the kernel supports it; a kernel that cannot still filters. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(*allowed); i++)
        r = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
    for (size_t i = 0; r == 0 && i < sizeof(killed) / sizeof(*killed); i++)
        r = add(ctx, SCMP_ACT_KILL_PROCESS, killed[i], 0, NULL);
    return r == 0 ? add_narrow(ctx) : r;
}

int gh_seccomp_confine_worker(char *err, size_t cap)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) {
        snprintf(err, cap, "seccomp: cannot create the filter");
        return -1;
    }
    int r = build(ctx);
    const char *step = "building the filter";
    if (r == 0) {
        step = "installing the filter";
        r = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (r != 0) {
        snprintf(err, cap, "seccomp: %s: %s (seccomp: false turns it off)", step, strerror(-r));
        return -1;
    }
    return 0;
}
