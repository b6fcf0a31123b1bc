using System.Security.Cryptography;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Evaluation;

/// <summary>One scored behaviour window in a labelled evaluation.</summary>
public readonly record struct LabelledWindow(string Workload, DateTimeOffset End, double Ratio, bool Positive);

/// <summary>A model detector's verdict on recorded events, with the event that closed the window or process run.</summary>
public sealed record OfflineFinding(string Workload, DateTimeOffset Time, Finding Finding, RuntimeEvent Event);

/// <summary>
/// Trains and scores workload models from recorded events (files or a Kafka topic range), exactly as the daemon
/// does live: the same novelty baseline supplies the known/new flags, the same runtime cuts windows and streams,
/// and the same trainer calibrates. Events must come in time order per workload; the event clock is used.
/// </summary>
public sealed class OfflineModels
{
    private readonly DetectionOptions _options;
    private readonly EventEnrichment _enrichment;
    private readonly Dictionary<WorkloadKey, (WorkloadBaseline Baseline, ModelRuntime Runtime)> _workloads = new();
    private readonly Dictionary<WorkloadKey, IncrementalHash> _digests = new();
    private readonly List<Finding> _ignored = [];
    private readonly List<Finding> _findings = [];

    public OfflineModels(DetectionOptions options)
    {
        _options = options;
        _enrichment = new EventEnrichment(options.Cluster, options.Network);
    }

    public long Events { get; private set; }

    public IEnumerable<WorkloadKey> Workloads => _workloads.Keys;

    /// <summary>Feeds one event of the training data (every workload stays in learning); returns its workload.</summary>
    public WorkloadKey Learn(in RuntimeEvent e)
    {
        Events++;
        var (key, peer) = KeyAndPeer(_enrichment, e);
        if (!_workloads.TryGetValue(key, out var w))
        {
            w = (new WorkloadBaseline(Learning(_options), e.Timestamp), new ModelRuntime(key.Value, _options.Models, _options.TargetAlertsPerWorkloadDay));
            _workloads[key] = w;
            _digests[key] = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        // The card records what the model was trained on, so a retraining can show it used the same data.
        var digest = _digests[key];
        digest.AppendData(EventJsonWriter.ToUtf8(e));
        digest.AppendData("\n"u8);

        var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
        w.Baseline.Observe(e, path, e.Timestamp, _ignored, peer);
        w.Runtime.Observe(e, w.Baseline.LastEventKnown, BaselinePhase.Learning, e.Timestamp, _findings);
        return key;
    }

    /// <summary>
    /// Every workload's closed behaviour windows so far (vector, end) and the window length: what <see cref="Train"/>
    /// would fit on. Call it before <see cref="Train"/>, which takes them. Windows are in time order.
    /// </summary>
    public IEnumerable<(WorkloadKey Key, TimeSpan Window, IReadOnlyList<(float[] Vector, DateTimeOffset End)> Windows)> CollectedWindows() =>
        _workloads.Select(kv => (kv.Key, kv.Value.Runtime.Window, kv.Value.Runtime.TrainingSnapshot(kv.Value.Baseline.LastSeen).Windows));

    /// <summary>
    /// Every workload's syscalls collected for the sequence model so far: each process's calls as symbol ids (in the
    /// order processes first made one) and the symbol table. Call it before <see cref="Train"/>, which takes them.
    /// </summary>
    public IEnumerable<(WorkloadKey Key, IReadOnlyList<(string? Exe, int[] Calls)> Traces, IReadOnlyList<string> Symbols)> CollectedTraces() =>
        _workloads.Select(kv => kv.Value.Runtime.TrainingSnapshot(kv.Value.Baseline.LastSeen)).Zip(_workloads.Keys, (set, key) => (key, set.Traces, set.Symbols));

    /// <summary>Trains every workload seen; <paramref name="progress"/> gets (done, total, workload) after each.</summary>
    public List<(WorkloadKey Key, WorkloadModel? Model)> Train(Func<WorkloadKey, string> version, string source, Action<int, int, string>? progress = null)
    {
        var result = new List<(WorkloadKey, WorkloadModel?)>();
        var done = 0;
        foreach (var (key, w) in _workloads)
        {
            var model = w.Runtime.Train(w.Baseline.LastSeen, version(key), source, KnownItems.From(w.Baseline));
            var sha = Convert.ToHexStringLower(_digests[key].GetCurrentHash());
            result.Add((key, model is null ? null : new WorkloadModel(model.Card with { Training = model.Card.Training with { DataSha256 = sha } }, model.Behaviour, model.Sequences, model.Known)));
            progress?.Invoke(++done, _workloads.Count, key.Value);
        }

        return result;
    }

    /// <summary>
    /// Scores events with given models (no shadow: every finding is reported). Each workload's novelty baseline
    /// holds the items the model's training knew (<see cref="KnownItems"/>) and, like an active baseline in the
    /// daemon, learns nothing from the scored events.
    /// </summary>
    public static List<OfflineFinding> Score(DetectionOptions options, IReadOnlyDictionary<string, WorkloadModel> models, IEnumerable<RuntimeEvent> events, Action<long>? progress = null)
    {
        var result = new List<OfflineFinding>();
        long n = 0;
        Replay(options, models, events, (workload, _, e, findings) =>
        {
            result.AddRange(findings.Select(f => new OfflineFinding(workload, e.Timestamp, f, e)));
            if (++n % 10_000 == 0)
            {
                progress?.Invoke(n);
            }
        });
        return result;
    }

    /// <summary>
    /// Labelled evaluation: every scored behaviour window of every workload with a model, its largest
    /// score/threshold ratio (1 = calibrated threshold) and whether any of its events is labelled positive.
    /// </summary>
    /// <param name="alerts">When given, also receives every finding of the same replay (for a report's alerts per detector).</param>
    public static List<LabelledWindow> ScoreWindows(DetectionOptions options, IReadOnlyDictionary<string, WorkloadModel> models, IEnumerable<RuntimeEvent> events, Func<RuntimeEvent, bool> isPositive, List<OfflineFinding>? alerts = null)
    {
        var result = new List<LabelledWindow>();

        // A window closes while the event after it is observed (at most one per event, counted by WindowsScored): its
        // label is what came before that event, collected after each event.
        var positive = new Dictionary<string, bool>(StringComparer.Ordinal);
        var scored = new Dictionary<string, long>(StringComparer.Ordinal);
        Replay(options, models, events, (workload, runtime, e, findings) =>
        {
            alerts?.AddRange(findings.Select(f => new OfflineFinding(workload, e.Timestamp, f, e)));
            if (runtime.WindowsScored != scored.GetValueOrDefault(workload))
            {
                scored[workload] = runtime.WindowsScored;
                result.Add(new LabelledWindow(workload, runtime.LastScored.End, runtime.LastScored.MaxRatio, positive.GetValueOrDefault(workload)));
                positive[workload] = false;
            }

            positive[workload] = positive.GetValueOrDefault(workload) || isPositive(e);
        });
        return result;
    }

    private static (WorkloadKey Key, string? Peer) KeyAndPeer(EventEnrichment enrichment, in RuntimeEvent e)
    {
        var item = enrichment.Enrich(e, null, 0, 0);
        return (item.Key, item.Peer);
    }

    /// <summary>Runs events through each workload's model (active, not learning), reporting after each event with the workload's runtime.</summary>
    private static void Replay(
        DetectionOptions options,
        IReadOnlyDictionary<string, WorkloadModel> models,
        IEnumerable<RuntimeEvent> events,
        Action<string, ModelRuntime, RuntimeEvent, List<Finding>> observed)
    {
        var enrichment = new EventEnrichment(options.Cluster, options.Network);
        var state = new Dictionary<WorkloadKey, (WorkloadBaseline Baseline, ModelRuntime Runtime)>();
        var findings = new List<Finding>();
        foreach (var e in events)
        {
            var (key, peer) = KeyAndPeer(enrichment, e);
            if (!models.TryGetValue(key.Value, out var model))
            {
                continue;
            }

            if (!state.TryGetValue(key, out var w))
            {
                w = (new WorkloadBaseline(Learning(options), e.Timestamp), new ModelRuntime(key.Value, options.Models, options.TargetAlertsPerWorkloadDay));
                w.Runtime.Swap(model, promoted: true);
                model.Known?.SeedInto(w.Baseline);
                state[key] = w;
            }

            var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
            w.Runtime.Observe(e, w.Baseline.Knows(e, path, peer), BaselinePhase.Active, e.Timestamp, findings);
            observed(key.Value, w.Runtime, e, findings);
            findings.Clear();
        }
    }

    /// <summary>The same settings with learning that never ends (training data is all learning data).</summary>
    internal static DetectionOptions Learning(DetectionOptions o) => new()
    {
        Cluster = o.Cluster,
        LearningDuration = TimeSpan.MaxValue / 2,
        MinLearningEvents = long.MaxValue,
        MaxItemsPerFeature = o.MaxItemsPerFeature,
        DirectoryWildcardThreshold = o.DirectoryWildcardThreshold,
        Network = o.Network,
        Models = o.Models,
    };
}
