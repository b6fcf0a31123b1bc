using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Evaluation;

/// <summary>A model finding raised in a lane, at the time of the event that closed its window (or process run).</summary>
public sealed record LaneAlert(string Lane, string Workload, DateTimeOffset Time, Finding Finding);

/// <summary>A behaviour window scored in a lane: its span and its largest score/threshold ratio (above 1 would alert).</summary>
public readonly record struct LaneWindow(string Lane, string Workload, DateTimeOffset Start, DateTimeOffset End, double Ratio);

/// <summary>What a replay through lanes gave: every alert, every scored window, and the events each lane observed.</summary>
public sealed record LaneRun(List<LaneAlert> Alerts, List<LaneWindow> Windows, IReadOnlyDictionary<string, long> Events);

/// <summary>
/// Replays recorded events through several models side by side, each in its own lane: a lane is one model serving
/// one workload (its own novelty baseline seeded with the model's known items, its own <see cref="ModelRuntime"/>,
/// active, learning nothing), optionally only from a point in event time on. Two versions of one workload in two
/// lanes see the same events on the same event clock, so their alerts and window scores compare one to one.
/// Every event goes through one enrichment, whatever lane it feeds: peer identities are learned from every
/// workload's traffic, as the daemon learns them.
/// </summary>
public sealed class ModelLanes(DetectionOptions options)
{
    private readonly List<Lane> _lanes = [];

    /// <summary>Adds a lane (names are unique): <paramref name="model"/> scores its workload's events from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    public void Add(string lane, WorkloadModel model, DateTimeOffset? from = null, DateTimeOffset? to = null) =>
        _lanes.Add(new Lane(lane, model, from ?? DateTimeOffset.MinValue, to ?? DateTimeOffset.MaxValue));

    /// <summary>Runs the events (in time order) through every lane; returns every alert and every scored window.</summary>
    public LaneRun Run(IEnumerable<RuntimeEvent> events, Action<long>? progress = null)
    {
        var observed = _lanes.ToDictionary(l => l.Name, _ => 0L, StringComparer.Ordinal);
        var alerts = new List<LaneAlert>();
        var windows = new List<LaneWindow>();
        var enrichment = new EventEnrichment(options.Cluster, options.Network);
        var byWorkload = _lanes.GroupBy(l => l.Model.Card.Workload, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var findings = new List<Finding>();
        long n = 0;
        foreach (var e in events)
        {
            if (++n % 10_000 == 0)
            {
                progress?.Invoke(n);
            }

            var item = enrichment.Enrich(e, null, 0, 0);
            if (!byWorkload.TryGetValue(item.Key.Value, out var lanes))
            {
                continue;
            }

            var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
            foreach (var lane in lanes)
            {
                if (e.Timestamp < lane.From || e.Timestamp >= lane.To)
                {
                    continue;
                }

                var (baseline, runtime) = lane.Start(options, item.Key, e.Timestamp);
                observed[lane.Name]++;
                var scored = runtime.WindowsScored;
                runtime.Observe(e, baseline.Knows(e, path, item.Peer), BaselinePhase.Active, e.Timestamp, findings);

                // An event closes at most one window, before it is added to the next one.
                if (runtime.WindowsScored != scored)
                {
                    windows.Add(new LaneWindow(lane.Name, item.Key.Value, runtime.LastScored.End - runtime.Window, runtime.LastScored.End, runtime.LastScored.MaxRatio));
                }

                alerts.AddRange(findings.Select(f => new LaneAlert(lane.Name, item.Key.Value, e.Timestamp, f)));
                findings.Clear();
            }
        }

        return new LaneRun(alerts, windows, observed);
    }

    private sealed class Lane(string name, WorkloadModel model, DateTimeOffset from, DateTimeOffset to)
    {
        private WorkloadBaseline? _baseline;
        private ModelRuntime? _runtime;

        public string Name => name;

        public WorkloadModel Model => model;

        public DateTimeOffset From => from;

        public DateTimeOffset To => to;

        /// <summary>The lane's baseline and runtime, made at its first event (the runtime's clock starts there).</summary>
        public (WorkloadBaseline, ModelRuntime) Start(DetectionOptions o, WorkloadKey key, DateTimeOffset now)
        {
            if (_baseline is null || _runtime is null)
            {
                _baseline = new WorkloadBaseline(OfflineModels.Learning(o), now);
                _runtime = new ModelRuntime(key.Value, o.Models, o.TargetAlertsPerWorkloadDay);
                _runtime.Swap(model, promoted: true);
                model.Known?.SeedInto(_baseline);
            }

            return (_baseline, _runtime);
        }
    }
}
