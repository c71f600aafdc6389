/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * peerlock.c: tie an injected host socket to the peer it was connected to.
 *
 * Theory of operation.  Once the agent has put a host-namespace socket
 * into the container, calls it does not trap act on that socket directly,
 * and a socket made unconnected again can be connected elsewhere by a
 * connect() the kernel runs after another call's CONTINUE (docs/bypass.md,
 * "The guarantee").  The interface lock (devlock.c) bounds where such a
 * socket can go; this filter is the second line, for destinations behind
 * the same interface: a classic BPF socket filter accepts only packets
 * whose source is the destination the agent connected to (address and
 * port, IPv4 or IPv6; a v4-mapped destination of an AF_INET6 socket is
 * matched as IPv4), and SO_LOCK_FILTER keeps the program from removing or
 * replacing it.  A connection to anyone else never completes its
 * handshake: the SYN-ACK (or RST) is dropped and no data is ever received.
 * It does NOT stop what the socket sends: a SYN carrying TCP Fast Open
 * data reaches a Fast Open server's program before any reply (with a
 * cookie cached by any earlier host client, or TCP_FASTOPEN_NO_COOKIE
 * against a server that needs none).  That is why the bypass filters
 * refuse Fast Open altogether (fastopen.c).
 *
 * The filter runs where TCP and UDP hand a packet to the socket (sk_filter
 * in tcp_v4_rcv/udp_queue_rcv_one_skb and their IPv6 twins), with
 * skb->data at the transport header: the source port is the halfword at
 * offset 0, and the IP header is reached through SKF_NET_OFF.  ICMP errors
 * do not pass through it and still report as socket errors.  Cost: a dozen
 * instructions per received packet.
 *
 * The agent attaches it only when the policy keeps something from the
 * bypass that the host namespace can reach (--disable-host-loopback,
 * --bypass-ignore): otherwise a reconnected host socket reaches nothing the
 * slirp path could not, and the filter is not worth its price (about
 * 14 us per socket on the test VM: the kernel JIT-compiles each one).
 *
 * This is defence in depth behind the lock: some hardened kernels refuse
 * SO_ATTACH_FILTER to unprivileged users (EPERM; seen on the test VM's
 * kernel), and the bypass then goes on without the lock (connect.c logs it
 * once).
 */
#include "agent_internal.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_LOCK_FILTER
#define SO_LOCK_FILTER 44
#endif

/* Builders for the program (the kernel's own macros are not in uapi). */
#define PL_STMT(code, k)                                                       \
    ((struct sock_filter){ (unsigned short)(code), 0, 0, (unsigned int)(k) })
#define PL_JEQ(k, jt, jf)                                                      \
    ((struct sock_filter){ BPF_JMP | BPF_JEQ | BPF_K, (unsigned char)(jt),     \
                           (unsigned char)(jf), (unsigned int)(k) })

/* Room for: version check (3), 4 address words (8), port (2), returns (2). */
#define PL_MAX_INSNS 20

/*
 * load_word: the 32-bit word at @p in network order, as BPF_LD|BPF_W sees
 * it (the loads convert from network order).
 */
static guint32
load_word(const guint8 *p)
{
    return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) |
           ((guint32)p[2] << 8) | (guint32)p[3];
}

/**
 * pb_peer_lock:
 * @fd: a fresh host socket (TCP or UDP, AF_INET or AF_INET6)
 * @dst: the destination it is about to be connected to
 *
 * Attaches and locks the filter described above.
 *
 * Returns: 0, or -errno (-EAFNOSUPPORT for a family other than AF_INET or
 * AF_INET6; setsockopt's error otherwise).
 */
int
pb_peer_lock(int fd, const struct sockaddr *dst)
{
    struct sock_filter prog[PL_MAX_INSNS];
    struct sock_fprog fprog;
    const guint8 *addr;
    gboolean v4;
    guint16 port;
    guint n = 0, words, i;
    int one = 1;

    if (dst->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)dst;

        v4 = TRUE;
        addr = (const guint8 *)&in->sin_addr;
        port = ntohs(in->sin_port);
    } else if (dst->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)dst;

        v4 = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
        addr = in6->sin6_addr.s6_addr + (v4 ? 12 : 0);
        port = ntohs(in6->sin6_port);
    } else {
        return -EAFNOSUPPORT;
    }
    words = v4 ? 1 : 4;

    /* the IP version must be the expected one */
    prog[n++] = PL_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF);
    prog[n++] = PL_STMT(BPF_ALU | BPF_RSH | BPF_K, 4);
    /* jump to "drop" (the last insn) when it differs: the distance is
     * what follows this jump minus the accept insn */
    prog[n] = PL_JEQ(v4 ? 4 : 6, 0, 2 * words + 2 + 1);
    n++;
    /* source address: IPv4 saddr at 12, IPv6 at 8 */
    for (i = 0; i < words; i++) {
        guint remaining = words - i - 1;

        prog[n++] = PL_STMT(BPF_LD | BPF_W | BPF_ABS,
                            SKF_NET_OFF + (v4 ? 12 : 8) + 4 * i);
        prog[n] = PL_JEQ(load_word(addr + 4 * i), 0, 2 * remaining + 2 + 1);
        n++;
    }
    /* source port: the transport header's first halfword */
    prog[n++] = PL_STMT(BPF_LD | BPF_H | BPF_ABS, 0);
    prog[n] = PL_JEQ(port, 0, 1);
    n++;
    prog[n++] = PL_STMT(BPF_RET | BPF_K, 0xffffffffu); /* accept */
    prog[n++] = PL_STMT(BPF_RET | BPF_K, 0);           /* drop */
    g_assert(n <= PL_MAX_INSNS);

    fprog.len = (unsigned short)n;
    fprog.filter = prog;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) <
            0 ||
        setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one) < 0)
        return -errno;
    return 0;
}
