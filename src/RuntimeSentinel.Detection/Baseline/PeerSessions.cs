using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Connections a workload opens to each peer identity that fail or end almost at once, per minute. A password guess
/// leaves no application log a kernel sensor can see; what it leaves is this: a connection to a known database or
/// service, a short error reply, a close within milliseconds, again and again. A workload that keeps pooled
/// connections makes a handful a day; a brute force, tens a minute. Learned per peer while the workload learns (the
/// most in any whole minute), then each minute is compared with it: a client that always makes short requests to a
/// peer (a proxy to its upstream) has that as its normal and is not flagged. Bounded: the open-connection table and
/// the peer table both have caps, an attacker flooding unique ports or peers saturates them instead of memory.
/// </summary>
internal sealed class PeerSessions(int maxPeers, Models.ModelMemoryBudget? memory = null)
{
    /// <summary>Fewer short or failed connections than this in a minute are never raised, whatever the history.</summary>
    public const int Floor = 10;

    /// <summary>A minute with this many times the peer's largest learned minute is raised.</summary>
    public const int Factor = 5;

    /// <summary>A connection closed this soon after it was opened counts as short (a refused login, a probe).</summary>
    public static readonly TimeSpan ShortLived = TimeSpan.FromSeconds(2);

    // Enough for a client's connection attempts of the last two seconds; long-lived ones are swept out when it fills.
    private const int MaxOpen = 256;

    /// <summary>An entry's bytes besides its key (dictionary slot, tuple, minute figures), and the open table's whole reservation.</summary>
    private const long EntryBytes = 112;
    private const long OpenTableBytes = MaxOpen * 72L;

    private readonly TableReservation _memory = new(memory);
    private bool _openReserved;

    private readonly Dictionary<(int LocalPort, int RemotePort, string RemoteIp), DateTimeOffset> _open = [];
    // Keyed by peer identity and service port: "the cluster" or an external provider is many services, and password
    // guessing is against one of them.
    private readonly Dictionary<(string Peer, int Port), MinuteMax> _peers = [];
    private DateTimeOffset _lastSweep;

    public int Count => _peers.Count;

    public void Clear()
    {
        _open.Clear();
        _peers.Clear();
        _memory.ReleaseAll();
        _openReserved = false;
    }

    /// <summary>
    /// Follows the workload's outbound connections: a failed connect, or a close within <see cref="ShortLived"/> of its
    /// connect, counts for the peer. While <paramref name="learning"/>, finished minutes raise the peer's learned
    /// maximum; afterwards a minute past the limit is reported once (true) with what was learned.
    /// </summary>
    public bool Observe(in RuntimeEvent e, string? peer, DateTimeOffset now, bool learning, out int minuteCount, out int learnedMax)
    {
        minuteCount = learnedMax = 0;
        if (e.Net.Direction != NetDirection.Outbound || e.Net.RemoteIp is not { } ip)
        {
            return false;
        }

        var failed = false;
        switch (e.Kind)
        {
            case EventKind.NetConnect when e.ReturnCode < 0:
                failed = true;
                break;
            case EventKind.NetConnect when e.Net.LocalPort > 0:
                Remember((e.Net.LocalPort, e.Net.RemotePort, ip), now);
                break;
            case EventKind.NetFlow when IsClose(e.SyscallName) && _open.Remove((e.Net.LocalPort, e.Net.RemotePort, ip), out var opened):
                failed = now - opened <= ShortLived;
                break;
            case EventKind.NetFlow:
                // Traffic on a pooled connection: nothing failed, but the peer's minutes pass, so a peer the workload
                // talks to over one long-lived connection has a learned history (of zero) to exceed.
                break;
            default:
                return false;
        }

        var key = (peer ?? ip, e.Net.RemotePort);
        if (!_peers.TryGetValue(key, out var p))
        {
            if (_peers.Count >= maxPeers || !_memory.TryTake(EntryBytes + (2L * key.Item1.Length)))
            {
                return false;
            }

            p = MinuteMax.StartingAt(now);
        }

        // A peer met while learning has a history even if nothing failed (zero).
        p.Add(failed ? 1 : 0, now, learning);
        var raise = p.Exceeds(learning, Floor, Factor);
        if (raise)
        {
            (minuteCount, learnedMax) = ((int)Math.Min(int.MaxValue, p.Total), (int)Math.Min(int.MaxValue, p.LearnedMax));
        }

        _peers[key] = p;
        return raise;
    }

    /// <summary>The end of a connection as sensors name it: close(2) (Falco, Tracee, Tetragon's process_close), tcp_close and friends (kprobes).</summary>
    private static bool IsClose(string? call) =>
        call is not null && (call.EndsWith("close", StringComparison.Ordinal) || call is "tcp_fin" or "inet_release");

    private void Remember((int, int, string) connection, DateTimeOffset now)
    {
        if (!_openReserved && !(_openReserved = _memory.TryTake(OpenTableBytes)))
        {
            return; // the node's budget is spent: connections are not followed (failed connects still count)
        }

        if (_open.Count >= MaxOpen && now - _lastSweep > ShortLived)
        {
            // Connections that stayed open are not short any more: forget them before refusing to track a new one. At
            // most one sweep per ShortLived, so a flood of connections that never close costs no scan per event.
            _lastSweep = now;
            foreach (var (k, at) in _open)
            {
                if (now - at > ShortLived)
                {
                    _open.Remove(k);
                }
            }
        }

        if (_open.Count >= MaxOpen)
        {
            return;
        }

        _open[connection] = now;
    }

    internal void WriteState(StateWriter w)
    {
        // Open connections are seconds old at most: not worth a checkpoint; a restart misses at most their closes.
        w.Count(_peers.Count);
        foreach (var ((peer, port), p) in _peers)
        {
            w.String(peer);
            w.Long(port);
            p.Write(w);
        }
    }

    internal void ReadState(StateReader r)
    {
        Clear();
        var n = r.Count(maxPeers, "session peers");
        for (var i = 0; i < n; i++)
        {
            var key = (r.String("session peer", 1024), (int)Math.Min(65535, r.NonNegative("session port")));
            var entry = MinuteMax.Read(r, "session");
            if (_memory.TryTake(EntryBytes + (2L * key.Item1.Length)))
            {
                _peers[key] = entry;
            }
        }
    }
}
