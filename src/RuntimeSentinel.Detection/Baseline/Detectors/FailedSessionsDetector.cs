using System.Globalization;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Failed or at-once-closed connections to one peer within a minute (password guessing; <see cref="PeerSessions"/>).</summary>
internal sealed class FailedSessionsDetector(DetectionOptions options, Models.ModelMemoryBudget? memory) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.FailedSessions];

    // Named after the one category it raises.
    public const string DetectorName = AlertCategories.FailedSessions;

    private readonly PeerSessions _sessions = new(options.MaxItemsPerFeature, memory);

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public void Learn(in RuntimeEvent e, DetectorContext ctx) => _sessions.Observe(e, ctx.Peer, ctx.Now, learning: true, out _, out _);

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (!_sessions.Observe(e, ctx.Peer, ctx.Now, learning: false, out var failures, out var learnedFailures) || ctx.Accepts(Feature.Resource))
        {
            return;
        }

        var peer = ctx.Peer;
        var who = (peer ?? e.Net.RemoteIp) + ":" + e.Net.RemotePort.ToString(CultureInfo.InvariantCulture);
        if (peer is not null && peer != e.Net.RemoteIp)
        {
            who += $" (last at {e.Net.RemoteIp})";
        }

        var ratio = failures / (double)Math.Max(1, learnedFailures);
        findings.Add(Finding.OfItem(
            Feature.Resource, new FeatureKey("sessions:" + (peer ?? e.Net.RemoteIp) + ":" + e.Net.RemotePort.ToString(CultureInfo.InvariantCulture)), AlertCategories.FailedSessions, failures >= 3 * PeerSessions.Floor ? Severity.High : Severity.Medium, ratio, PeerSessions.Factor, learnedFailures, _sessions.Count,
            $"{failures} connections to {who} within a minute failed or closed within {PeerSessions.ShortLived.TotalSeconds:0} s (how repeated failed logins look); while learning at most {learnedFailures} a minute"));
    }

    /// <summary>Every reset: sessions stamped by a provisional clock are no minutes the workload was watched in.</summary>
    public void Reset(DetectorReset why) => _sessions.Clear();

    public void WriteState(StateWriter w, int section) => _sessions.WriteState(w);

    /// <summary>Checkpoint format 2 added it.</summary>
    public void ReadState(StateReader r, int section)
    {
        if (r.Format >= 2)
        {
            _sessions.ReadState(r);
        }
    }
}
