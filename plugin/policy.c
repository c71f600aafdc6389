/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.c: which connect() destinations the bypass may take.
 *
 * Theory of operation.  A bypassed socket lives in the host network
 * namespace, so it must never reach anything the slirp path would not
 * reach with the same options (DESIGN.md, "No more reach than the slirp
 * path").  The policy is a pure function of the configuration and the
 * sockaddr the container passed; it is evaluated on the agent's own copy
 * of that sockaddr (read once), and on PB_POLICY_BYPASS it also produces
 * the host-side destination the agent connects to.
 *
 * Never bypassed (the container keeps them, and the slirp path decides):
 *   - 0.0.0.0/8 and ::        (on Linux they mean "this host": host lo)
 *   - 127.0.0.0/8 and ::1     (the container's own loopback)
 *   - 169.254.0.0/16, fe80::/10, fec0::/10 (link-local, site-local)
 *   - 224.0.0.0/4, ff00::/8   (multicast), 240.0.0.0/4 incl. broadcast
 *   - the whole virtual network (--cidr), e.g. the DNS address .3, the
 *     guest itself, the network's broadcast; the same for the IPv6
 *     virtual prefix (fd00::/64, DNS fd00::3)
 *   - the gateway (10.0.2.2, fd00::2) when host loopback is disabled;
 *     otherwise it is bypassed to host 127.0.0.1 / ::1, like libslirp's
 *     sotranslate_out() does
 *   - IPv6 destinations when IPv6 is not enabled
 *   - ::a.b.c.d (IPv4-compatible, deprecated by RFC 4291): never routed
 *     as IPv4 by Linux, never useful, so simply denied
 *   - every --bypass-ignore CIDR, matched against the destination as the
 *     container gave it (so "127.0.0.0/8" means the container's loopback,
 *     as with bypass4netns, and does not disable the gateway mapping)
 *
 * IPv4-mapped destinations (::ffff:a.b.c.d, on AF_INET6 sockets) are IPv4
 * traffic: they are judged as a.b.c.d by the IPv4 rules (plus the IPv6
 * ignore CIDRs against the raw address) and stay bypassable when IPv6 is
 * off, because the container would reach them through slirp's IPv4 path.
 *
 * --disable-dns: libslirp then forwards 10.0.2.3 to the real 10.0.2.3 on
 * the host side; the bypass keeps denying it anyway (it is inside the
 * virtual network), which is the safe choice.
 */
#include "plugin.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

struct PbPolicy {
    /* IPv4, host byte order */
    guint32 vnet;
    guint32 vmask;
    guint32 vgw;
    gboolean host_loopback;
    gboolean ipv6;
    PbCidr vprefix6;
    guint8 vgw6[16];
    GArray *ignore; /* PbCidr */
};

/* Textual names of the verdicts, for debug logs and test messages. */
static const char *const verdict_names[] = {
    [PB_POLICY_BYPASS] = "bypass",
    [PB_POLICY_DENY_FAMILY] = "not inet",
    [PB_POLICY_DENY_SHORT] = "short sockaddr",
    [PB_POLICY_DENY_IPV6_OFF] = "ipv6 disabled",
    [PB_POLICY_DENY_UNSPECIFIED] = "unspecified address",
    [PB_POLICY_DENY_LOOPBACK] = "container loopback",
    [PB_POLICY_DENY_LINKLOCAL] = "link-local",
    [PB_POLICY_DENY_MULTICAST] = "multicast",
    [PB_POLICY_DENY_RESERVED] = "reserved/broadcast",
    [PB_POLICY_DENY_V4COMPAT] = "ipv4-compatible ipv6",
    [PB_POLICY_DENY_VNET] = "virtual network",
    [PB_POLICY_DENY_GATEWAY] = "gateway, host loopback disabled",
    [PB_POLICY_DENY_IGNORED] = "--bypass-ignore",
    [PB_POLICY_DENY_ROUTED] = "the container routes it past its tap",
};

/**
 * pb_policy_verdict_str:
 * @verdict: a verdict
 *
 * Returns: a static human-readable name of @verdict.
 */
const char *
pb_policy_verdict_str(PbPolicyVerdict verdict)
{
    if ((guint)verdict >= G_N_ELEMENTS(verdict_names))
        return "?";
    return verdict_names[verdict];
}

/*
 * prefix_match: do the first @prefix bits of @a and @b agree?
 */
static gboolean
prefix_match(const guint8 *a, const guint8 *b, guint prefix)
{
    guint bytes = prefix / 8, bits = prefix % 8;

    if (memcmp(a, b, bytes) != 0)
        return FALSE;
    if (bits == 0)
        return TRUE;
    return ((a[bytes] ^ b[bytes]) & (guint8)(0xff << (8 - bits))) == 0;
}

/*
 * mask_bytes: clear every bit of @addr (@len bytes) after @prefix.
 */
static void
mask_bytes(guint8 *addr, guint len, guint prefix)
{
    for (guint i = 0; i < len; i++) {
        guint keep = prefix > i * 8 ? MIN(prefix - i * 8, 8) : 0;
        addr[i] &= keep == 0 ? 0 : (guint8)(0xff << (8 - keep));
    }
}

/**
 * pb_cidr_parse:
 * @text: "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n"
 * @out: the parsed CIDR, host bits cleared
 * @error: PB_ERROR_INVALID naming @text
 *
 * Returns: TRUE on success.
 */
gboolean
pb_cidr_parse(const char *text, PbCidr *out, GError **error)
{
    g_autofree char *addr = NULL;
    const char *slash;
    guint max;
    guint64 prefix;
    char *end = NULL;

    memset(out, 0, sizeof *out);
    if (text == NULL || *text == '\0')
        goto bad;
    slash = strchr(text, '/');
    addr = slash ? g_strndup(text, slash - text) : g_strdup(text);
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        goto bad;
    }
    prefix = max;
    if (slash) {
        if (!g_ascii_isdigit(slash[1]))
            goto bad;
        prefix = g_ascii_strtoull(slash + 1, &end, 10);
        if (*end != '\0' || prefix > max)
            goto bad;
    }
    out->prefix = (guint)prefix;
    mask_bytes(out->addr, max / 8, out->prefix);
    return TRUE;
bad:
    g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                "--bypass-ignore %s: invalid CIDR", text ? text : "");
    return FALSE;
}

/**
 * pb_policy_new:
 * @cfg: the agent configuration (virtual network, options, ignore list)
 * @error: PB_ERROR_INVALID naming a bad --bypass-ignore entry
 *
 * Returns: (transfer full) the compiled policy, or NULL.
 */
PbPolicy *
pb_policy_new(const PbAgentConfig *cfg, GError **error)
{
    g_autoptr(PbPolicy) p = g_new0(PbPolicy, 1);

    p->vnet = ntohl(cfg->vnet.network.s_addr);
    p->vmask = ntohl(cfg->vnet.netmask.s_addr);
    p->vgw = ntohl(cfg->vnet.gateway.s_addr);
    p->host_loopback = !cfg->disable_host_loopback;
    p->ipv6 = cfg->ipv6;
    p->vprefix6.family = AF_INET6;
    memcpy(p->vprefix6.addr, &cfg->vnet.prefix6, 16);
    p->vprefix6.prefix = MIN(cfg->vnet.prefix6_len, 128);
    mask_bytes(p->vprefix6.addr, 16, p->vprefix6.prefix);
    memcpy(p->vgw6, &cfg->vnet.gateway6, 16);
    p->ignore = g_array_new(FALSE, FALSE, sizeof(PbCidr));
    for (guint i = 0; cfg->ignore && i < cfg->ignore->len; i++) {
        PbCidr c;

        if (!pb_cidr_parse(cfg->ignore->pdata[i], &c, error))
            return NULL;
        g_array_append_val(p->ignore, c);
    }
    return g_steal_pointer(&p);
}

/**
 * pb_policy_free:
 * @policy: (nullable): a policy
 */
void
pb_policy_free(PbPolicy *policy)
{
    if (policy == NULL)
        return;
    if (policy->ignore)
        g_array_unref(policy->ignore);
    g_free(policy);
}

/*
 * ignored: does an --bypass-ignore CIDR of @family cover @addr?
 */
static gboolean
ignored(const PbPolicy *p, int family, const guint8 *addr)
{
    for (guint i = 0; i < p->ignore->len; i++) {
        const PbCidr *c = &g_array_index(p->ignore, PbCidr, i);

        if (c->family == family && prefix_match(c->addr, addr, c->prefix))
            return TRUE;
    }
    return FALSE;
}

/*
 * check4: the IPv4 rules for @addr (network byte order, 4 bytes).
 * @to_loopback: set when the destination is the gateway to be mapped to
 * host loopback.
 */
static PbPolicyVerdict
check4(const PbPolicy *p, const guint8 *addr, gboolean *to_loopback)
{
    guint32 a;

    memcpy(&a, addr, 4);
    a = ntohl(a);
    *to_loopback = FALSE;
    if ((a >> 24) == 0)
        return PB_POLICY_DENY_UNSPECIFIED;
    if ((a >> 24) == 127)
        return PB_POLICY_DENY_LOOPBACK;
    if ((a & 0xffff0000u) == 0xa9fe0000u)
        return PB_POLICY_DENY_LINKLOCAL;
    if ((a >> 28) == 0xe)
        return PB_POLICY_DENY_MULTICAST;
    if ((a >> 28) == 0xf)
        return PB_POLICY_DENY_RESERVED;
    if ((a & p->vmask) == (p->vnet & p->vmask)) {
        if (a != p->vgw)
            return PB_POLICY_DENY_VNET;
        if (!p->host_loopback)
            return PB_POLICY_DENY_GATEWAY;
        *to_loopback = TRUE;
    }
    if (ignored(p, AF_INET, addr))
        return PB_POLICY_DENY_IGNORED;
    return PB_POLICY_BYPASS;
}

/*
 * check6: the IPv6 rules for @addr (16 bytes).  @mapped is set for
 * ::ffff:a.b.c.d, which check4() judged.
 */
static PbPolicyVerdict
check6(const PbPolicy *p, const guint8 *addr, gboolean *to_loopback,
       gboolean *mapped)
{
    static const guint8 zero12[12] = { 0 };
    static const guint8 mapped12[12] = { 0, 0, 0, 0, 0,    0,
                                         0, 0, 0, 0, 0xff, 0xff };
    PbPolicyVerdict v;

    *to_loopback = FALSE;
    *mapped = FALSE;
    if (memcmp(addr, mapped12, 12) == 0) {
        *mapped = TRUE;
        v = check4(p, addr + 12, to_loopback);
        if (v == PB_POLICY_BYPASS && ignored(p, AF_INET6, addr))
            v = PB_POLICY_DENY_IGNORED;
        return v;
    }
    if (memcmp(addr, zero12, 12) == 0) {
        guint32 low;

        memcpy(&low, addr + 12, 4);
        low = ntohl(low);
        if (low == 0)
            return PB_POLICY_DENY_UNSPECIFIED;
        if (low == 1)
            return PB_POLICY_DENY_LOOPBACK;
        return PB_POLICY_DENY_V4COMPAT;
    }
    if (!p->ipv6)
        return PB_POLICY_DENY_IPV6_OFF;
    if (addr[0] == 0xfe && (addr[1] & 0x80) == 0x80)
        return PB_POLICY_DENY_LINKLOCAL; /* fe80::/10 and fec0::/10 */
    if (addr[0] == 0xff)
        return PB_POLICY_DENY_MULTICAST;
    if (p->vprefix6.prefix != 0 &&
        prefix_match(p->vprefix6.addr, addr, p->vprefix6.prefix)) {
        if (memcmp(addr, p->vgw6, 16) != 0)
            return PB_POLICY_DENY_VNET;
        if (!p->host_loopback)
            return PB_POLICY_DENY_GATEWAY;
        *to_loopback = TRUE;
    }
    if (ignored(p, AF_INET6, addr))
        return PB_POLICY_DENY_IGNORED;
    return PB_POLICY_BYPASS;
}

/**
 * pb_policy_check:
 * @policy: the compiled policy
 * @sa: the agent's copy of the container's sockaddr
 * @len: its length as passed to connect() (the kernel's minimum applies:
 *       16 bytes for AF_INET, 24 for AF_INET6)
 * @out: on PB_POLICY_BYPASS, the destination for the host socket: the same
 *       family, port, flowinfo and scope; the gateway mapped to 127.0.0.1,
 *       ::1 or ::ffff:127.0.0.1
 * @out_len: sizeof the sockaddr written to @out
 *
 * Returns: PB_POLICY_BYPASS, or why not.
 */
PbPolicyVerdict
pb_policy_check(const PbPolicy *policy, const struct sockaddr *sa,
                socklen_t len, struct sockaddr_storage *out, socklen_t *out_len)
{
    gboolean to_loopback = FALSE, mapped = FALSE;
    PbPolicyVerdict v;

    if (len < (socklen_t)sizeof(sa_family_t))
        return PB_POLICY_DENY_SHORT;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;

        if (len < (socklen_t)sizeof sin)
            return PB_POLICY_DENY_SHORT;
        memcpy(&sin, sa, sizeof sin);
        v = check4(policy, (const guint8 *)&sin.sin_addr, &to_loopback);
        if (v != PB_POLICY_BYPASS)
            return v;
        memset(sin.sin_zero, 0, sizeof sin.sin_zero);
        if (to_loopback)
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        memset(out, 0, sizeof *out);
        memcpy(out, &sin, sizeof sin);
        *out_len = sizeof sin;
        return PB_POLICY_BYPASS;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6 = { 0 };

        /* SIN6_LEN_RFC2133: sin6_scope_id is optional */
        if (len < (socklen_t)offsetof(struct sockaddr_in6, sin6_scope_id))
            return PB_POLICY_DENY_SHORT;
        memcpy(&sin6, sa, MIN((size_t)len, sizeof sin6));
        v = check6(policy, sin6.sin6_addr.s6_addr, &to_loopback, &mapped);
        if (v != PB_POLICY_BYPASS)
            return v;
        if (to_loopback && mapped) {
            guint32 lo = htonl(INADDR_LOOPBACK);
            memcpy(sin6.sin6_addr.s6_addr + 12, &lo, 4);
            sin6.sin6_scope_id = 0;
        } else if (to_loopback) {
            sin6.sin6_addr = in6addr_loopback;
            sin6.sin6_scope_id = 0;
        }
        memset(out, 0, sizeof *out);
        memcpy(out, &sin6, sizeof sin6);
        *out_len = sizeof sin6;
        return PB_POLICY_BYPASS;
    }
    return PB_POLICY_DENY_FAMILY;
}
