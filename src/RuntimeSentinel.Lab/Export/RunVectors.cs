using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Lab.Export;

/// <summary>One run (pod) of a CronJob or Job as the run-history detector counts it, with its span and labels.</summary>
public sealed record RunRow(WorkloadKey Workload, string? ImageDigest, RunVector Run, string? Scenario, int? Label);

/// <summary>The run export's columns, versioned like the behaviour windows' (docs/data-science.md).</summary>
public static class RunSchema
{
    public const string Version = "sentinel.runs/v1";

    internal static IReadOnlyList<ExportColumn> Columns { get; } =
    [
        .. WorkloadColumns.Columns,
        new("run", ColumnType.Varchar, false),
        new("run_start", ColumnType.Timestamp, false),
        new("run_end", ColumnType.Timestamp, false),
        new("bytes_out", ColumnType.BigInt, false),
        new("connections", ColumnType.BigInt, false),
        new("execs", ColumnType.BigInt, false),
        new("finished", ColumnType.Integer, false),
        new("scenario", ColumnType.Varchar, true),
        new("label", ColumnType.Integer, true),
    ];

    public static ExportTable Table(IReadOnlyList<RunRow> rows) => ExportTable.Of(Version, Columns, rows, Value);

    private static object? Value(RunRow r, int column) => column switch
    {
        < 7 => WorkloadColumns.Value(r.Workload, r.ImageDigest, column),
        7 => r.Run.Run,
        8 => r.Run.Start.UtcDateTime,
        9 => r.Run.End.UtcDateTime,
        10 => r.Run.BytesOut,
        11 => r.Run.Connections,
        12 => r.Run.Execs,
        13 => r.Run.Finished ? 1 : 0,
        14 => r.Scenario,
        _ => r.Label,
    };
}

/// <summary>
/// Run vectors out of recorded events: every workload whose first event's owner is a Job or CronJob is counted run by
/// run with the run-history detector's own bookkeeping (<see cref="RunRecorder"/>), every run it finished and every run
/// still open at the end is a row. The detector keeps only the last 32 runs for comparing; the export keeps them all.
/// </summary>
public static class RunVectors
{
    /// <summary>Every run of every job workload, by workload key, then run start, then run.</summary>
    public static List<RunRow> Collect(DetectionOptions options, IReadOnlyList<RuntimeEvent> events, string labelKey, string positivePrefix, Action<int>? progress = null, Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string? Scenario, int Label)>? labels = null)
    {
        var enrichment = new EventEnrichment(options.Cluster, options.Network);
        var workloads = new Dictionary<WorkloadKey, (RunRecorder? Recorder, Dictionary<string, (string? Digest, WindowLabels Labels)> Runs)>();
        var rows = new List<RunRow>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var key = enrichment.Enrich(e, null, 0, 0).Key;
            if (!workloads.TryGetValue(key, out var w))
            {
                workloads[key] = w = (RunRecorder.IsRunBased(e) ? new RunRecorder() : null, new(StringComparer.Ordinal));
            }

            if (i % 5000 == 0)
            {
                progress?.Invoke(i);
            }

            if (w.Recorder is not { } recorder)
            {
                continue;
            }

            // Runs finished by this event (idle ones, or the oldest making room) are written with what they held
            // before it, even when this event starts a new run under the same key.
            var finished = recorder.Finished.Count;
            var id = recorder.Observe(e);
            for (var f = finished; f < recorder.Finished.Count; f++)
            {
                rows.Add(Row(key, recorder.Finished[f], w.Runs, labels));
            }

            if (id is not null)
            {
                if (!w.Runs.TryGetValue(id, out var run))
                {
                    w.Runs[id] = run = (null, new WindowLabels(labelKey, positivePrefix));
                }

                run.Labels.Add(e);
                w.Runs[id] = (e.Workload.ImageDigest ?? run.Digest, run.Labels);
            }
        }

        foreach (var (key, w) in workloads)
        {
            foreach (var open in w.Recorder?.Open ?? [])
            {
                rows.Add(Row(key, open, w.Runs, labels));
            }
        }

        return [.. rows.OrderBy(r => r.Workload.Value, StringComparer.Ordinal).ThenBy(r => r.Run.Start).ThenBy(r => r.Run.Run, StringComparer.Ordinal)];
    }

    private static RunRow Row(WorkloadKey key, RunVector run, Dictionary<string, (string? Digest, WindowLabels Labels)> runs, Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string? Scenario, int Label)>? labels)
    {
        runs.Remove(run.Run, out var held);
        var (scenario, label) = held.Labels?.For(key, run.Start, run.End, labels) ?? (labels is null ? default : labels(key, run.Start, run.End));
        return new RunRow(key, held.Digest, run, scenario, label);
    }
}
