using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection;

/// <summary>Turns a finding into an alert an analyst can read on one line.</summary>
public static class AlertFactory
{
    public const string BaselineDetector = "baseline";

    /// <summary>The detector of findings from the catalogue of behaviour suspicious in any container (while learning).</summary>
    public const string CatalogueDetector = "catalogue";

    /// <summary>
    /// The alert of a finding, whichever detector made it. An item's alert carries the item with how often it was learned,
    /// the score line, and what else the workload's behaviour model finds unusual in the current window; a window's or
    /// stream's alert carries the detectors that fired with their scores and thresholds and the top features.
    /// </summary>
    /// <param name="models">The workload's models (their version, and the current window for an item's context); null without.</param>
    /// <param name="topFeatures">How many of the current window's unusual features an item's alert lists beside the item.</param>
    public static Alert Create(WorkloadKey key, in RuntimeEvent e, in Finding f, BaselineState state, DateTimeOffset now, ModelRuntime? models = null, int topFeatures = 0) =>
        f.Feature is { } feature ? OfItem(key, e, f, feature, state, now, models, topFeatures) : OfModel(key, e, f, state, now, models?.Model?.Card.Version);

    private static Alert OfItem(WorkloadKey key, in RuntimeEvent e, in Finding f, Feature feature, BaselineState state, DateTimeOffset now, ModelRuntime? models, int top)
    {
        var observed = f.Observed;
        var category = f.Category;
        // The novel item itself (seen 0 times against the baseline's total), then what else the workload's behaviour
        // model finds unusual in the current window.
        List<FeatureContribution> features = [new(feature.ToWire() + "=" + observed, f.LearnedCount, f.LearnedTotal, 1)];
        if (models is not null)
        {
            features.AddRange(models.Context(top));
        }

        return new Alert
        {
            Fingerprint = Fingerprint(key, BaselineDetector, category, feature.ToWire(), observed),
            Mitre = MitreMapping.For(category, observed, e.Net.BytesOut),
            Id = Guid.CreateVersion7(now).ToString(),
            Time = now,
            Workload = key,
            Identity = e.Workload,
            Node = e.Node,
            Detector = f.Detector,
            Category = f.Category,
            Severity = AdjustForAsset(f.Severity, e.Workload.Labels[CriticalityLabel]),
            Score = f.Score,
            Threshold = f.Threshold,
            Summary = Summarize(key, e, f, feature),
            // For a new executable the item carries its parent too, so a feedback verdict can accept the pair.
            Explanation = new Explanation(feature.ToWire(), observed, f.LearnedCount, f.LearnedTotal, f.Reason, f.Item.A, feature == Feature.Exec ? e.Process.ParentExe : f.Item.B, f.Item.N),
            Baseline = state,
            Evidence = [e],
            Detectors = [new DetectorScore(BaselineDetector + ":" + feature.ToWire(), f.Score, f.Threshold)],
            TopFeatures = features,
            CombinedScore = f.Threshold > 0 ? f.Score / f.Threshold : null,
            ModelVersion = models?.Model?.Card.Version,
        };
    }

    private static Alert OfModel(WorkloadKey key, in RuntimeEvent e, in Finding f, BaselineState state, DateTimeOffset now, string? modelVersion)
    {
        var first = f.TopFeatures.Count > 0 ? f.TopFeatures[0] : default;
        return new Alert
        {
            // Per detector and what dominates the score (the program of a sequence, the top feature of a window), not
            // per window: a recurring anomaly folds into one incident, while a different one later in the day (bytes out
            // after an exec burst) opens its own instead of hiding in an update of the first.
            Fingerprint = Fingerprint(key, f.Detector, f.Category, "model", f.Source ?? (f.TopFeatures.Count > 0 ? f.Detector + ":" + first.Feature : f.Detector)),
            Mitre = MitreMapping.For(f.Category, f.Observed, e.Net.BytesOut),
            Windowed = f.Source is null,
            Id = Guid.CreateVersion7(now).ToString(),
            Time = now,
            Workload = key,
            Identity = f.Evidence.Count > 0 ? f.Evidence[0].Workload : e.Workload,
            Node = f.Evidence.Count > 0 ? f.Evidence[0].Node : e.Node,
            Detector = f.Detector,
            Category = f.Category,
            Severity = AdjustForAsset(f.Severity, e.Workload.Labels[CriticalityLabel]),
            Score = f.Score,
            Threshold = f.Threshold,
            Summary = $"{key.ShortName}: {f.Reason}",
            Explanation = new Explanation(first.Feature ?? f.Detector, f.Observed, 0, state.EventsLearned, f.Reason),
            Baseline = state,
            Evidence = f.Evidence.Count > 0 ? f.Evidence : [e],
            Detectors = f.Detectors,
            TopFeatures = f.TopFeatures,
            CombinedScore = f.Combined,
            ModelVersion = modelVersion,
        };
    }

    /// <summary>Pod label that states how much the workload matters: <c>high</c> raises severity a level, <c>low</c> lowers it.</summary>
    public const string CriticalityLabel = "sentinel.io/criticality";

    public static Severity AdjustForAsset(Severity severity, string? criticality) => criticality switch
    {
        "high" or "critical" => severity == Severity.Critical ? severity : severity + 1,
        "low" => severity == Severity.Info ? severity : severity - 1,
        _ => severity,
    };

    /// <summary>16 hex characters of SHA-256 over what identifies the finding (never pod, node or time).</summary>
    public static string Fingerprint(WorkloadKey key, string detector, string category, string feature, string observed)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes($"{key.Value}\n{detector}\n{category}\n{feature}\n{observed}");
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes).AsSpan(0, 8));
    }

    private static string Summarize(WorkloadKey key, in RuntimeEvent e, in Finding f, Feature feature)
    {
        var who = e.Process.Exe is { } exe ? SeverityPolicy.BaseName(exe) : "container";
        var seen = f.Catalogue is not null ? "while learning" : f.LearnedCount == 0 ? "never seen" : $"seen {f.LearnedCount}x of {f.LearnedTotal}";
        return feature switch
        {
            Feature.Exec or Feature.Lineage when f.Catalogue is not null => $"{key.ShortName}: {e.Process.Exe} started by {e.Process.ParentExe ?? "unknown parent"} ({f.Reason})",
            Feature.Exec => $"{key.ShortName}: {e.Process.Exe} started by {e.Process.ParentExe ?? "unknown parent"} ({seen} in baseline; {f.Reason})",
            Feature.Lineage => $"{key.ShortName}: {e.Process.Exe} started by new parent {e.Process.ParentExe} ({f.Reason})",
            Feature.Syscall => $"{key.ShortName}: {who} called {e.SyscallName} ({seen}; {f.Reason})",
            Feature.File => $"{key.ShortName}: {who} opened {e.FilePath} [{e.FileFlags ?? "?"}] ({seen}; {f.Reason})",
            Feature.Endpoint => f.Item.A == e.Net.RemoteIp
                ? $"{key.ShortName}: {who} connected to {e.Net.RemoteIp}:{e.Net.RemotePort}/{e.Net.Protocol ?? "tcp"} ({seen}; {f.Reason})"
                : $"{key.ShortName}: {who} connected to {f.Item.A}:{e.Net.RemotePort}/{e.Net.Protocol ?? "tcp"} at {e.Net.RemoteIp} ({seen}; {f.Reason})",
            Feature.Dns => $"{key.ShortName}: {who} resolved {e.DnsName} ({seen}; {f.Reason})",
            Feature.ListenPort => $"{key.ShortName}: {who} {(e.Kind == EventKind.NetListen ? "listens on" : "accepted on")} port {e.Net.LocalPort}/{e.Net.Protocol ?? "tcp"} ({seen}; {f.Reason})",
            Feature.Resource when f.Category == AlertCategories.RunAnomaly => $"{key.ShortName}: {f.Reason}",
            Feature.Resource when f.Category == AlertCategories.PeerVolume => $"{key.ShortName}: {who} sent {f.Reason}",
            Feature.Resource when f.Category is AlertCategories.FailedSessions or AlertCategories.OffHoursActivity or AlertCategories.ContainerAdded => $"{key.ShortName}: {f.Reason}",
            Feature.Resource when f.Category == AlertCategories.PeerRate => $"{key.ShortName}: {who} made {f.Reason}",
            Feature.Resource => $"{key.ShortName}: {f.Reason} (z={f.Score:0.0})",
            Feature.SensorRule => $"{key.ShortName}: {f.Item.B ?? "sensor"} rule '{f.Item.A}' fired ({e.Labels[EventLabels.SensorPriority] ?? "no priority"}; {seen}; {f.Reason})",
            _ => $"{key.ShortName}: {f.Category}",
        };
    }
}
