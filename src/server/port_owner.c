/* Which process listens on an address: the kernel's socket tables (/proc/net/tcp, tcp6) give
 * the listening socket's inode, and the descriptors of the processes this one may read give
 * its owner. Read only when a bind has failed, to say who holds the address. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/port_owner.h"

#define GH_TCP_LISTEN 0x0A

/* The 16 bytes of an address as /proc/net/tcp6 prints them: four 32-bit words in host order
 * (tcp: one word). */
static bool parse_proc_addr(const char *hex, size_t words, unsigned char out[16])
{
    for (size_t w = 0; w < words; w++) {
        char part[9];
        memcpy(part, hex + 8 * w, 8);
        part[8] = '\0';
        char *end;
        unsigned long v = strtoul(part, &end, 16);
        if (*end)
            return false;
        uint32_t word = (uint32_t)v;
        memcpy(out + 4 * w, &word, 4);
    }
    return true;
}

/* Whether a socket listening on (addr, port) takes binds to want: same port, and the same
 * address or either one the wildcard. */
static bool covers(const unsigned char *addr, size_t alen, unsigned port, const gh_sockaddr *want)
{
    static const unsigned char any[16] = {0};
    const unsigned char *w;
    unsigned wport;
    if (want->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&want->ss;
        w = (const unsigned char *)&in->sin_addr;
        wport = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&want->ss;
        w = (const unsigned char *)&in6->sin6_addr;
        wport = ntohs(in6->sin6_port);
    }
    size_t wlen = want->ss.ss_family == AF_INET ? 4 : 16;
    if (port != wport)
        return false;
    if (memcmp(addr, any, alen) == 0)
        return true; /* a wildcard listener (a v6 one may take v4 too) */
    /* An IPv6 socket bound to an IPv4-mapped address (::ffff:a.b.c.d) holds that IPv4 one. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (alen == 16 && wlen == 4 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
        addr += sizeof(mapped);
        alen = 4;
    }
    return alen == wlen && (memcmp(addr, w, alen) == 0 || memcmp(w, any, wlen) == 0);
}

/* The inode of a listening socket in table (tcp or tcp6) that covers want; 0 when none. */
static unsigned long listening_inode(const char *table, size_t words, const gh_sockaddr *want)
{
    FILE *f = fopen(table, "r");
    if (!f)
        return 0;
    char line[512];
    unsigned long found = 0;
    if (!fgets(line, sizeof(line), f)) /* the column titles */
        line[0] = '\0';
    while (!found && fgets(line, sizeof(line), f)) {
        char local[64];
        unsigned port, state;
        unsigned long inode;
        if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu", local, &port,
                   &state, &inode) != 4 ||
            strlen(local) != 8 * words || state != GH_TCP_LISTEN)
            continue;
        unsigned char addr[16];
        if (parse_proc_addr(local, words, addr) && covers(addr, 4 * words, port, want))
            found = inode;
    }
    fclose(f);
    return found;
}

/* Whether process pid has a descriptor on the socket whose link text is target. */
static bool holds(const char *pid, const char *target)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char path[600], link[64];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            found = strcmp(link, target) == 0;
        }
    }
    closedir(d);
    return found;
}

static void read_comm(const char *pid, char *comm, size_t cap)
{
    char path[300];
    snprintf(path, sizeof(path), "/proc/%s/comm", pid);
    FILE *f = fopen(path, "r");
    comm[0] = '\0';
    if (f && fgets(comm, (int)cap, f))
        comm[strcspn(comm, "\n")] = '\0';
    if (f)
        fclose(f);
}

long gh_port_owner(const gh_sockaddr *want, char *comm, size_t cap)
{
    unsigned long inode = 0;
    if (want->ss.ss_family == AF_INET)
        inode = listening_inode("/proc/net/tcp", 1, want);
    if (!inode) /* a v6 wildcard listener takes v4 binds too */
        inode = listening_inode("/proc/net/tcp6", 4, want);
    if (!inode)
        return 0;
    char target[64];
    snprintf(target, sizeof(target), "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    long owner = 0;
    struct dirent *e;
    while (!owner && (e = readdir(proc))) {
        if (!isdigit((unsigned char)e->d_name[0]) || !holds(e->d_name, target))
            continue;
        owner = strtol(e->d_name, NULL, 10);
        read_comm(e->d_name, comm, cap);
    }
    closedir(proc);
    return owner;
}

void gh_port_owner_describe(const gh_sockaddr *addr, int err, char *out, size_t cap)
{
    char comm[32];
    long pid = err == EADDRINUSE ? gh_port_owner(addr, comm, sizeof(comm)) : 0;
    if (pid == (long)getpid())
        snprintf(out, cap, "%s (by this gateway's own listeners)", strerror(err));
    else if (pid > 0)
        snprintf(out, cap, "%s (held by pid %ld, %s)", strerror(err), pid, comm);
    else
        snprintf(out, cap, "%s", strerror(err));
}
