using System.Text.Json;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// <c>GET /workloads[?q=TEXT][&amp;limit=N]</c>: what this node knows about each workload it tracks, most recently
/// seen first: phase, times, event and alert counts, baseline sizes, the model in service with the thresholds in
/// force and the memory it holds, and how far the workload drifted from that model's training data. For an analyst
/// asking "which model judged this?", an SRE sizing the node, and <c>sentinel models list --admin-url</c>.
/// </summary>
internal static class WorkloadsEndpoint
{
    public const int DefaultLimit = 200;

    public static async Task<IResult> HandleAsync(DetectionPipeline pipeline, string? q, int? limit)
    {
        if (limit is < 1)
        {
            return Results.BadRequest("limit must be at least 1\n");
        }

        // A snapshot is taken between events on every shard, off the hot path; it is bounded by MaxWorkloads.
        var all = await pipeline.SnapshotAsync().ConfigureAwait(false);
        return Results.Bytes(Render(all, q, limit, pipeline.ModelMemory.Used, pipeline.ModelMemory.Limit), "application/json");
    }

    /// <summary>The answer's body for these snapshots.</summary>
    internal static byte[] Render(IReadOnlyList<WorkloadSnapshot> all, string? q, int? limit, long modelMemoryUsed, long modelMemoryLimit)
    {
        var matching = all.Where(s => string.IsNullOrEmpty(q) || s.Key.Value.Contains(q, StringComparison.OrdinalIgnoreCase)).ToList();
        var shown = matching.OrderByDescending(s => s.LastSeen).Take(limit ?? DefaultLimit).ToList();

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("tracked", all.Count);
            w.WriteNumber("matching", matching.Count);
            w.WriteNumber("shown", shown.Count);
            w.WriteStartObject("model_memory");
            w.WriteNumber("reserved_bytes", modelMemoryUsed);
            w.WriteNumber("budget_bytes", modelMemoryLimit);
            w.WriteEndObject();
            w.WriteStartArray("workloads");
            foreach (var s in shown)
            {
                Write(w, s);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter w, WorkloadSnapshot s)
    {
        w.WriteStartObject();
        w.WriteString("key", s.Key.Value);
        w.WriteString("phase", s.Phase.ToWire());
        w.WriteString("first_seen", s.FirstSeen);
        w.WriteString("last_seen", s.LastSeen);
        if (s.ActiveSince is { } active)
        {
            w.WriteString("active_since", active);
        }

        w.WriteNumber("events_learned", s.EventsLearned);
        w.WriteNumber("events_scored", s.EventsScored);
        w.WriteNumber("alerts", s.AlertsRaised);
        w.WriteStartObject("distinct_items");
        foreach (var (feature, count) in s.DistinctItems)
        {
            w.WriteNumber(feature.ToWire(), count);
        }

        w.WriteEndObject();
        w.WriteStartObject("model");
        if (s.ModelVersion is { } version)
        {
            w.WriteString("version", version);
        }
        else
        {
            w.WriteNull("version");
        }

        if (s.ModelThresholds is { } thresholds)
        {
            w.WriteStartObject("thresholds");
            foreach (var (detector, t) in thresholds.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(detector, Math.Round(t, 4));
            }

            w.WriteEndObject();
        }

        w.WriteNumber("windows_scored", s.ModelWindowsScored);
        w.WriteNumber("memory_bytes", s.ModelMemoryBytes);
        if (s.ModelServedWithout is { } cut)
        {
            w.WriteString("served_without", cut);
        }

        w.WriteEndObject();
        if (s.Drift is { } drift)
        {
            WriteDrift(w, drift);
        }

        w.WriteEndObject();
    }

    /// <summary>The workload's drift: <c>psi</c> null with <c>unknown</c> saying why, or the latest evaluation.</summary>
    private static void WriteDrift(Utf8JsonWriter w, DriftSummary d)
    {
        w.WriteStartObject("drift");
        if (d.ModelVersion is { } version)
        {
            w.WriteString("model_version", version);
        }

        if (d.Psi is { } psi)
        {
            w.WriteNumber("psi", Math.Round(psi, 4));
        }
        else
        {
            w.WriteNull("psi");
            w.WriteString("unknown", d.Unknown);
        }

        w.WriteStartArray("top_features");
        foreach (var f in d.TopFeatures)
        {
            w.WriteStartObject();
            w.WriteString("feature", f.Feature);
            w.WriteNumber("psi", Math.Round(f.Psi, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("threshold", d.Threshold);
        w.WriteNumber("consecutive_above", d.ConsecutiveAbove);
        w.WriteBoolean("retrain_suggested", d.RetrainSuggested);
        if (d.RetrainSuggestedSince is { } since)
        {
            w.WriteString("retrain_suggested_since", since);
        }

        w.WriteNumber("windows", d.Windows);
        if (d.EvaluatedAt is { } at)
        {
            w.WriteString("evaluated_at", at);
        }

        w.WriteEndObject();
    }
}
