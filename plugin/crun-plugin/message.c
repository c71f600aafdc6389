/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message.c: what the crun plugin says to the agent, and where.
 *
 * Theory of operation.  The notification message is compact JSON built
 * with snprintf, in the layout plugin/notification.c parses:
 * {"slirpbypass":"notification","version":1,"pid":N,"id":"ctr",
 *  "req":"<hex of struct seccomp_notif>","fds":["seccompFd"]}; "req" is the
 * struct as crun's NOTIF_RECV filled it, byte by byte.  The container id
 * is escaped as a JSON string.
 *
 * The agent's socket follows the rules of sb_default_agent_socket()
 * (slirp-bridge/shared.c), after $SLIRPBYPASS_AGENT_SOCKET (absolute):
 * $XDG_RUNTIME_DIR/slirpbypass/agent.sock, else for root
 * /run/slirpbypass/agent.sock, else /run/user/UID/slirpbypass/agent.sock.
 * Rootless crun runs as uid 0 of a user namespace, where the agent of the
 * user who owns it is meant, so "root" and UID are decided by the uid
 * outside that namespace (/proc/self/uid_map).
 */
#include "sbcp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* A bounded writer into a caller's buffer. */
typedef struct {
    char *buf;
    size_t size;
    size_t len;
    int overflow;
} SbcpBuf;

/*
 * put: append printf-style text to @b (marks it overflowed if it does not
 * fit; the text is then cut).
 */
static void __attribute__((format(printf, 2, 3)))
put(SbcpBuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->size - b->len) {
        b->overflow = 1;
        return;
    }
    b->len += (size_t)n;
}

/*
 * put_string: append @s as a JSON string (quotes, backslashes and
 * control characters escaped; other bytes as they are).
 */
static void
put_string(SbcpBuf *b, const char *s)
{
    put(b, "\"");
    for (; *s && !b->overflow; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            put(b, "\\%c", ch);
        else if (ch < 0x20)
            put(b, "\\u%04x", ch);
        else
            put(b, "%c", ch);
    }
    put(b, "\"");
}

/**
 * sbcp_notification_json:
 * @buf: where to write (NUL-terminated on success)
 * @size: its size
 * @req: the notification, as NOTIF_RECV filled it
 * @id: (nullable): the container id
 *
 * Returns: the message's length, or -1 if it does not fit in @buf.
 */
int
sbcp_notification_json(char *buf, size_t size, const struct seccomp_notif *req,
                       const char *id)
{
    SbcpBuf b = { .buf = buf, .size = size };
    const unsigned char *p = (const unsigned char *)req;

    if (size == 0)
        return -1;
    put(&b, "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":%u",
        req->pid);
    if (id != NULL) {
        put(&b, ",\"id\":");
        put_string(&b, id);
    }
    put(&b, ",\"req\":\"");
    for (size_t i = 0; i < sizeof *req; i++)
        put(&b, "%02x", p[i]);
    put(&b, "\",\"fds\":[\"seccompFd\"]}");
    if (b.overflow || b.len > (size_t)0x7fffffff)
        return -1;
    return (int)b.len;
}

/**
 * sbcp_outer_uid:
 *
 * Returns: getuid() as the parent user namespace sees it (one level, from
 * /proc/self/uid_map), or getuid() if it cannot be mapped.
 */
uid_t
sbcp_outer_uid(void)
{
    uid_t uid = getuid();
    unsigned long inside, outside, count;
    FILE *f = fopen("/proc/self/uid_map", "re");
    uid_t out = uid;

    if (f == NULL)
        return uid;
    while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
        if (uid >= inside && uid - inside < count) {
            out = (uid_t)(outside + (uid - inside));
            break;
        }
    }
    fclose(f);
    return out;
}

/**
 * sbcp_agent_socket:
 * @buf: where to write the path
 * @size: its size
 *
 * Returns: 0, -EINVAL for a relative $SLIRPBYPASS_AGENT_SOCKET, or
 * -ENAMETOOLONG if the path does not fit @buf or a socket address.
 */
int
sbcp_agent_socket(char *buf, size_t size)
{
    struct sockaddr_un sun;
    const char *env = getenv("SLIRPBYPASS_AGENT_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    uid_t uid;
    int n;

    if (env != NULL && *env != '\0') {
        if (env[0] != '/')
            return -EINVAL;
        n = snprintf(buf, size, "%s", env);
    } else if (xdg != NULL && xdg[0] == '/') {
        size_t l = strlen(xdg);

        n = snprintf(buf, size, "%s%sslirpbypass/agent.sock", xdg,
                     xdg[l - 1] == '/' ? "" : "/");
    } else if ((uid = sbcp_outer_uid()) == 0) {
        n = snprintf(buf, size, "/run/slirpbypass/agent.sock");
    } else {
        n = snprintf(buf, size, "/run/user/%u/slirpbypass/agent.sock",
                     (unsigned)uid);
    }
    if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof sun.sun_path)
        return -ENAMETOOLONG;
    return 0;
}
