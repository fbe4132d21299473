/* GATEHOUSE_INHERITED_FDS and GATEHOUSE_UPGRADE_READY_FD as the environment may hold them after a
 * binary upgrade, or as anyone who starts the binary may set them: items of any text, descriptor
 * numbers huge, negative, below 3, named twice, naming the ready pipe. One real listening socket
 * is open for the input to name. Properties: no descriptor is handed out twice, everything
 * handed out is that listening socket, and the parse writes only whole event lines (stderr is
 * read back: each line is one JSON object). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/inherit.h"

static FILE *events; /* where stderr goes while an input is parsed, read back after it */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    events = tmpfile();
    if (!events)
        abort();
    return 0;
}

static int listening_socket(gh_sockaddr *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) != 0 || listen(fd, 1) != 0)
        abort();
    sa->len = sizeof(sa->ss);
    getsockname(fd, (struct sockaddr *)&sa->ss, &sa->len);
    return fd;
}

/* The input with "@" replaced by the socket's address and "#" by its descriptor, so that the
 * fuzzer reaches the adoption paths without knowing either. */
static char *expand(const uint8_t *data, size_t size, const char *addr, int fd)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", fd);
    size_t cap = size * 64 + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    for (size_t i = 0; i < size && data[i]; i++) {
        const char *put = data[i] == '@' ? addr : data[i] == '#' ? num : NULL;
        if (put) {
            memcpy(out + n, put, strlen(put));
            n += strlen(put);
        } else {
            out[n++] = (char)data[i];
        }
    }
    out[n] = '\0';
    return out;
}

static void check_event_lines(void)
{
    rewind(events);
    char line[8192];
    while (fgets(line, sizeof(line), events)) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j)
            abort(); /* a cut or invalid event line */
        json_decref(j);
    }
    if (ftruncate(fileno(events), 0) != 0)
        abort();
    rewind(events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    gh_sockaddr sa;
    int fd = listening_socket(&sa);
    char addr[GH_ADDRESS_TEXT_MAX];
    gh_sockaddr ignored;
    gh_socket_address(fd, addr, &ignored);
    /* A first line "#" names the socket as the ready pipe too (any other number could be the
     * fuzzer's own descriptor, which the report would close); the rest names the sockets. */
    char *text = expand(data, size, addr, fd);
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        char num[16];
        snprintf(num, sizeof(num), "%d", fd);
        if (strcmp(text, num) == 0)
            setenv(GH_UPGRADE_READY_FD_ENV, text, 1);
    }
    setenv(GH_INHERITED_FDS_ENV, nl ? nl + 1 : text, 1);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(events), STDERR_FILENO);
    gh_inherited *in = gh_inherited_from_env();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    int fds[GH_INHERIT_MAX];
    size_t n = gh_inherited_take(in, &sa, true, 0, 1, fds, GH_INHERIT_MAX);
    n += gh_inherited_take(in, &sa, false, 0, 1, fds + n, GH_INHERIT_MAX - n);
    if (n > 1 || (n == 1 && fds[0] != fd))
        abort(); /* a descriptor handed out twice, or one that is not the socket */
    /* The ready pipe's number, if it named the socket, is closed by the report: not the socket
     * then, which the parse refused to adopt twice. */
    gh_inherited_free(in);
    unsetenv(GH_INHERITED_FDS_ENV);
    unsetenv(GH_UPGRADE_READY_FD_ENV);
    if (n == 0 && fcntl(fd, F_GETFD) == -1)
        fd = -1; /* closed by the parse: named where it is not bound, or as the ready pipe */
    if (fd >= 0)
        close(fd);
    free(text);
    check_event_lines();
    return 0;
}
