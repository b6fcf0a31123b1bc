using System.Net;
using System.Net.Sockets;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// Turns the remote address of a network event into an identity that survives pod churn, so that a workload's
/// endpoint baseline learns "who it talks to", not which pod IP answered today:
/// <list type="number">
/// <item>an in-cluster peer by its workload (<c>postgres (data/StatefulSet/postgres)</c>): the sensor's own endpoint
/// identity where it gives one (Hubble), else an address → workload map learned from the events themselves (every
/// pod's own address appears as the local side of its connections), kept for <c>Detection:Network:AddressTtl</c>;</item>
/// <item>else the DNS name the workload resolved to that address (DNS responses with answers), so a name whose
/// addresses rotate stays one peer;</item>
/// <item>else, for an address in the cluster networks nobody claimed (a Service VIP, a pod too new to be seen), the
/// cluster as a whole: <c>cluster</c> (its service port still distinguishes it) — except a connect to such an address
/// met for the first time, which is the workload this client last reached on that port (a new replica claims its
/// address with its first accept, just after its first client's connect);</item>
/// <item>else the external network: <c>/24</c> for IPv4, <c>/64</c> for IPv6.</item>
/// </list>
/// Single-threaded by design: it sees the stream in order on the consume thread (or the offline reader). Every map is
/// bounded; the oldest entries go first.
/// </summary>
public sealed class PeerResolver
{
    public const string ClusterIdentity = "cluster";

    /// <summary>Event label a sensor decoder sets when it names the peer's workload itself (<c>namespace/Kind/name</c>).</summary>
    public const string PeerWorkloadLabel = "peer.workload";

    private readonly NetworkOptions _options;
    private readonly (IPAddress Network, int Bits)[] _clusterNetworks;
    private readonly Dictionary<string, Claim> _addresses = new(StringComparer.Ordinal);
    // Keyed by the owner, not the container: a pod's containers share its network namespace, and Hubble, which reports
    // most DNS responses, names the pod but never the container (its events have none), while Tetragon's connects do.
    private readonly Dictionary<(string Owner, string Ip), Claim> _answers = new();
    private readonly Dictionary<WorkloadKey, string> _identities = new();
    private readonly Dictionary<string, string> _peerLabels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _prefixes = new(StringComparer.Ordinal);

    // Per workload, the name of its last DNS request whose response has not been seen (Hubble's request flows).
    private readonly Dictionary<string, Claim> _pendingQueries = new(StringComparer.Ordinal);

    private const string HubbleReplyLabel = "hubble.reply";
    private const string HubbleL7Label = "hubble.l7";

    /// <summary>How long after a lookup's request a connection to an unnamed outside address is taken for its answer.</summary>
    public static readonly TimeSpan PendingAnswer = TimeSpan.FromSeconds(2);

    // The workload each client last reached, by a claimed address, on each service port it connects to.
    private readonly Dictionary<(WorkloadKey Workload, int Port), Claim> _usualPeers = new();

    // In-cluster addresses connected to while nobody claimed them (bounded like the others).
    private readonly Dictionary<string, Claim> _unclaimed = new(StringComparer.Ordinal);
    private DateTimeOffset _clock = DateTimeOffset.MinValue;

    public PeerResolver(NetworkOptions options)
    {
        _options = options;
        _clusterNetworks = options.ClusterNetworks.Select(ParseCidr).Where(c => c.Network is not null).Select(c => (c.Network!, c.Bits)).ToArray();
    }

    /// <summary>Addresses currently mapped to a workload (for metrics and tests).</summary>
    public int KnownAddresses => _addresses.Count;

    public int KnownAnswers => _answers.Count;

    /// <summary>
    /// Learns what the event says about addresses (its own pod's address, a DNS answer, a sensor-named peer) and
    /// returns the identity of its remote peer when it has one (network events), else null.
    /// </summary>
    public string? Observe(in RuntimeEvent e, WorkloadKey key)
    {
        // Stream time, monotonic: stale timestamps (a sensor's inventory of old processes) do not turn it back.
        if (e.Timestamp > _clock)
        {
            _clock = e.Timestamp;
        }

        if (e.Kind == EventKind.DnsQuery && e.DnsName is { } name)
        {
            if (e.DnsAnswers is { } answers)
            {
                LearnAnswers(key, name, answers);
                _pendingQueries.Remove(key.Owner);
            }
            else if (e.Labels[HubbleReplyLabel] is null && e.Labels[HubbleL7Label] == "REQUEST")
            {
                // Hubble reports a lookup's request and its response as two flows, and the response can reach us after
                // the connection the answer led to (Tetragon's kprobe is faster than the proxy's flow).
                if (_pendingQueries.Count >= _options.MaxAddresses)
                {
                    _pendingQueries.Clear();
                }

                _pendingQueries[key.Owner] = new Claim(NormalizeName(name), _clock);
            }
            else
            {
                _pendingQueries.Remove(key.Owner);
            }

            return null;
        }

        if (e.Kind is not (EventKind.NetConnect or EventKind.NetAccept or EventKind.NetFlow))
        {
            return null;
        }

        var net = e.Net;
        if (net.LocalIp is { } local && key.OwnerKind != "Host" && IsUnicast(local))
        {
            Remember(_addresses, local, IdentityOf(key), _options.MaxAddresses);
        }

        if (net.RemoteIp is not { } remote)
        {
            return null;
        }

        if (e.Labels[PeerWorkloadLabel] is { } named)
        {
            var identity = IdentityOfLabel(named);
            if (IsUnicast(remote))
            {
                Remember(_addresses, remote, identity, _options.MaxAddresses);
            }

            return identity;
        }

        var resolved = Resolve(key, remote);
        if (e.Kind == EventKind.NetConnect && net.RemotePort > 0 && !IsEphemeral(net.RemotePort))
        {
            if (resolved.EndsWith("/24", StringComparison.Ordinal) || resolved.EndsWith("/64", StringComparison.Ordinal))
            {
                // An outside address no answer named yet, while this workload's lookup is in flight: the address is that
                // lookup's answer, whose response flow is on its way. Only for PendingAnswer after the request.
                if (_pendingQueries.TryGetValue(key.Owner, out var pending) && _clock - pending.Seen <= PendingAnswer)
                {
                    return pending.Identity;
                }
            }

            if (ReferenceEquals(resolved, ClusterIdentity))
            {
                // An in-cluster address nobody claimed yet: a replica that has just started, whose own first event (its
                // accept) arrives milliseconds after this connect. A workload calling a service's port reaches the
                // service it usually calls there; the next connection, once the address is claimed, names it for sure.
                // Only the first time an address is met unclaimed: one that stays unclaimed is a Service address no pod
                // ever answers from (the API server's 10.96.0.1), and "cluster" is what the workload learned it as.
                var first = !_unclaimed.ContainsKey(remote);
                Remember(_unclaimed, remote, ClusterIdentity, _options.MaxAddresses);
                if (first && _usualPeers.TryGetValue((key, net.RemotePort), out var usual) && _clock - usual.Seen <= _options.AddressTtl)
                {
                    return usual.Identity;
                }
            }
            else if (_addresses.TryGetValue(remote, out var claim) && ReferenceEquals(claim.Identity, resolved))
            {
                Remember(_usualPeers, (key, net.RemotePort), resolved, _options.MaxAddresses);
            }
        }

        return resolved;
    }

    /// <summary>The identity of <paramref name="ip"/> as seen from workload <paramref name="key"/> now.</summary>
    public string Resolve(WorkloadKey key, string ip)
    {
        if (_addresses.TryGetValue(ip, out var claim) && _clock - claim.Seen <= _options.AddressTtl)
        {
            return claim.Identity;
        }

        if (_answers.TryGetValue((key.Owner, ip), out var answer) && _clock - answer.Seen <= _options.DnsAnswerTtl)
        {
            return answer.Identity;
        }

        return PrefixOf(ip) ?? ip;
    }

    /// <summary>True when the port is in the local ephemeral range: never part of an identity, never a service port.</summary>
    public bool IsEphemeral(int port) => port >= _options.EphemeralPortFirst && port <= _options.EphemeralPortLast;

    /// <summary>The identity string of a workload as a peer: <c>name (namespace/Kind/name)</c>.</summary>
    public string IdentityOf(WorkloadKey key)
    {
        if (!_identities.TryGetValue(key, out var id))
        {
            if (_identities.Count >= _options.MaxAddresses)
            {
                _identities.Clear();
            }

            id = $"{key.OwnerName} ({key.Namespace}/{key.OwnerKind}/{key.OwnerName})";
            _identities[key] = id;
        }

        return id;
    }

    private string IdentityOfLabel(string named)
    {
        if (!_peerLabels.TryGetValue(named, out var id))
        {
            if (_peerLabels.Count >= _options.MaxAddresses)
            {
                _peerLabels.Clear();
            }

            var slash = named.LastIndexOf('/');
            id = slash > 0 && slash < named.Length - 1 ? $"{named[(slash + 1)..]} ({named})" : named;
            _peerLabels[named] = id;
        }

        return id;
    }

    private void LearnAnswers(WorkloadKey key, string name, string answers)
    {
        var normalized = NormalizeName(name);
        foreach (var range in answers.AsSpan().Split(','))
        {
            var ip = answers[range];
            if (ip.Length > 0)
            {
                Remember(_answers, (key.Owner, ip), normalized, _options.MaxAnswers);
            }
        }
    }

    private void Remember<TKey>(Dictionary<TKey, Claim> map, TKey k, string identity, int max)
        where TKey : notnull
    {
        if (map.TryGetValue(k, out var existing))
        {
            map[k] = new Claim(ReferenceEquals(existing.Identity, identity) || existing.Identity == identity ? existing.Identity : identity, _clock);
            return;
        }

        if (map.Count >= max)
        {
            // Bounded: drop the older half (one pass, amortised) rather than grow with every address an attacker makes up.
            var cutoff = map.Values.Select(c => c.Seen).Order().ElementAt(map.Count / 2);
            foreach (var old in map.Where(kv => kv.Value.Seen <= cutoff).Select(kv => kv.Key).ToList())
            {
                map.Remove(old);
            }
        }

        map[k] = new Claim(identity, _clock);
    }

    /// <summary><c>cluster</c> for unclaimed in-cluster addresses, else the /24 (/64) network; null when not an IP.</summary>
    private string? PrefixOf(string ip)
    {
        if (_prefixes.TryGetValue(ip, out var p))
        {
            return p;
        }

        if (_prefixes.Count >= _options.MaxAddresses)
        {
            _prefixes.Clear();
        }

        p = null;
        if (IPAddress.TryParse(ip, out var addr))
        {
            if (IsCluster(addr))
            {
                p = ClusterIdentity;
            }
            else if (addr.AddressFamily == AddressFamily.InterNetwork)
            {
                var b = addr.GetAddressBytes();
                p = $"{b[0]}.{b[1]}.{b[2]}.0/24";
            }
            else
            {
                var b = addr.GetAddressBytes();
                Array.Clear(b, 8, 8);
                p = new IPAddress(b) + "/64";
            }
        }

        _prefixes[ip] = p;
        return p;
    }

    private bool IsCluster(IPAddress addr)
    {
        if (addr.IsIPv4MappedToIPv6)
        {
            addr = addr.MapToIPv4();
        }

        foreach (var (network, bits) in _clusterNetworks)
        {
            if (network.AddressFamily == addr.AddressFamily && InNetwork(addr.GetAddressBytes(), network.GetAddressBytes(), bits))
            {
                return true;
            }
        }

        return false;
    }

    private static bool InNetwork(byte[] a, byte[] n, int bits)
    {
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (n[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUnicast(string ip) =>
        !(ip.StartsWith("127.", StringComparison.Ordinal) || ip is "::1" or "0.0.0.0" or "::" || ip.StartsWith("169.254.", StringComparison.Ordinal));

    public static (IPAddress? Network, int Bits) ParseCidr(string cidr)
    {
        var slash = cidr.IndexOf('/');
        if (slash <= 0 || !IPAddress.TryParse(cidr.AsSpan(0, slash), out var ip) || !int.TryParse(cidr.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture, out var bits))
        {
            return (null, 0);
        }

        var max = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        return bits < 0 || bits > max ? (null, 0) : (ip, bits);
    }

    public static string NormalizeName(string name) => name.TrimEnd('.').ToLowerInvariant();

    private readonly record struct Claim(string Identity, DateTimeOffset Seen);
}

/// <summary>How network peers are identified (config section <c>Detection:Network</c>).</summary>
public sealed class NetworkOptions
{
    /// <summary>Networks of the cluster (pods and services): an unclaimed address in them is "the cluster", not an external network.</summary>
    public List<string> ClusterNetworks { get; set; } = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];

    /// <summary>The local (ephemeral) port range, Linux's default <c>ip_local_port_range</c>: such ports are never a service.</summary>
    public int EphemeralPortFirst { get; set; } = 32768;

    public int EphemeralPortLast { get; set; } = 60999;

    /// <summary>How long an address stays attributed to the workload last seen using it (pod IPs are reused).</summary>
    public TimeSpan AddressTtl { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a DNS answer names its addresses for the workload that resolved it.</summary>
    public TimeSpan DnsAnswerTtl { get; set; } = TimeSpan.FromHours(6);

    public int MaxAddresses { get; set; } = 65_536;

    public int MaxAnswers { get; set; } = 65_536;
}
