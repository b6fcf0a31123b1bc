using System.Text.Json;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// <c>GET /workloads[?q=TEXT][&amp;limit=N]</c>: what this node knows about each workload it tracks, most recently
/// seen first: phase, times, event and alert counts, baseline sizes, and the model in service with the thresholds in
/// force and the memory it holds. For an analyst asking "which model judged this?" and an SRE sizing the node.
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
            w.WriteNumber("reserved_bytes", pipeline.ModelMemory.Used);
            w.WriteNumber("budget_bytes", pipeline.ModelMemory.Limit);
            w.WriteEndObject();
            w.WriteStartArray("workloads");
            foreach (var s in shown)
            {
                Write(w, s);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
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
        w.WriteEndObject();
    }
}
