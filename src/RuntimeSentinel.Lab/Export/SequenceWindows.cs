using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// One window of a process's syscalls as the sequence model scores it: the last <c>SequenceWindow</c> calls of the
/// process ending at call <paramref name="CallIndex"/> of its trace.
/// </summary>
/// <param name="HeldBack">The window ends in the latest part of the process (<c>HeldBackFraction</c>): calibration scored it with a model that had not learned it.</param>
public sealed record SequenceRow(
    WorkloadKey Workload,
    string? ImageDigest,
    int Pid,
    string? ContainerId,
    string? Exe,
    long CallIndex,
    long ProcessCalls,
    DateTimeOffset FirstCall,
    DateTimeOffset LastCall,
    string Calls,
    bool HeldBack,
    string? Scenario,
    int? Label);

/// <summary>The sequence export's columns, versioned like the behaviour windows' (docs/data-science.md).</summary>
public static class SequenceSchema
{
    public const string Version = "sentinel.sequences/v2";

    internal static IReadOnlyList<ExportColumn> Columns { get; } =
    [
        .. WorkloadColumns.Columns,
        new("pid", ColumnType.Integer, false),
        new("container_id", ColumnType.Varchar, true),
        new("exe", ColumnType.Varchar, true),
        new("call_index", ColumnType.BigInt, false),
        new("process_calls", ColumnType.BigInt, false),
        new("first_call", ColumnType.Timestamp, false),
        new("last_call", ColumnType.Timestamp, false),
        new("calls", ColumnType.Varchar, false),
        new("held_back", ColumnType.Integer, false),
        new("scenario", ColumnType.Varchar, true),
        new("label", ColumnType.Integer, true),
    ];

    public static ExportTable Table(IReadOnlyList<SequenceRow> rows, ModelOptions o) =>
        ExportTable.Of(Version, Columns, rows, Value, new("feature_fingerprint", BehaviourFeatures.Fingerprint), new("sequence_window", o.SequenceWindow), new("sequence_order", o.SequenceOrder), new("held_back_fraction", o.HeldBackFraction));

    private static object? Value(SequenceRow r, int column) => column switch
    {
        < 7 => WorkloadColumns.Value(r.Workload, r.ImageDigest, column),
        7 => r.Pid,
        8 => r.ContainerId,
        9 => r.Exe,
        10 => r.CallIndex,
        11 => r.ProcessCalls,
        12 => r.FirstCall.UtcDateTime,
        13 => r.LastCall.UtcDateTime,
        14 => r.Calls,
        15 => r.HeldBack ? 1 : 0,
        16 => r.Scenario,
        _ => r.Label,
    };
}

/// <summary>
/// Syscall sequence windows out of recorded events, exactly as the sequence model sees them: the events go through
/// <see cref="OfflineModels"/> (what <c>sentinel train</c> runs), each workload's collected process traces are what the
/// model is trained and calibrated on, and every full window of a trace (<c>SequenceWindow</c> calls, one per call
/// from the window's length on, overlapping) is a row, with the calls' times and labels from the events behind them.
/// </summary>
public static class SequenceWindows
{
    /// <summary>Every window of every process of every workload, by workload key, then process (in the order each made its first call), then call.</summary>
    public static List<SequenceRow> Collect(DetectionOptions options, IReadOnlyList<RuntimeEvent> events, string labelKey, string positivePrefix, Action<int>? progress = null, Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string? Scenario, int Label)>? labels = null)
    {
        var offline = new OfflineModels(options);
        var byWorkload = new Dictionary<WorkloadKey, List<int>>();
        for (var i = 0; i < events.Count; i++)
        {
            var key = offline.Learn(events[i]);
            if (!byWorkload.TryGetValue(key, out var list))
            {
                byWorkload[key] = list = [];
            }

            list.Add(i);
            if (i % 5000 == 0)
            {
                progress?.Invoke(i);
            }
        }

        var m = options.Models;
        var rows = new List<SequenceRow>();
        var window = new WindowLabels(labelKey, positivePrefix);
        foreach (var (key, traces, symbols) in offline.CollectedTraces().OrderBy(t => t.Key.Value, StringComparer.Ordinal))
        {
            var (processes, calls, digests) = Calls(events, byWorkload[key], symbols, m.MaxTrainingCalls);
            Check(key, traces, symbols, processes, calls, events);
            for (var t = 0; t < traces.Count; t++)
            {
                var trace = calls[t];
                var heldFrom = (int)(trace.Count * (1 - m.HeldBackFraction));
                for (var end = m.SequenceWindow - 1; end < trace.Count; end++)
                {
                    var first = end - m.SequenceWindow + 1;
                    window.Clear();
                    for (var c = first; c <= end; c++)
                    {
                        window.Add(events[trace[c]]);
                    }

                    var (start, last) = (events[trace[first]].Timestamp, events[trace[end]].Timestamp);
                    var (scenario, label) = window.For(key, start, last, labels);
                    rows.Add(new SequenceRow(
                        key, digests[trace[end]], ProcessKey.Pid(processes[t]), events[trace[0]].Workload.ContainerId, traces[t].Exe, end, trace.Count, start, last,
                        string.Join(' ', Enumerable.Range(first, m.SequenceWindow).Select(c => events[trace[c]].SyscallName)), end >= heldFrom, scenario, label));
                }
            }
        }

        return rows;
    }

    /// <summary>
    /// The syscall events the workload's training kept, per process in the order processes made their first kept call,
    /// and the image digest as of each: a call is kept while fewer than <c>MaxTrainingCalls</c> were, if its name made it
    /// into the symbol table (which a name enters the first time it is kept, and never leaves).
    /// </summary>
    private static (List<long> Processes, List<List<int>> Calls, Dictionary<int, string?> Digests) Calls(IReadOnlyList<RuntimeEvent> events, List<int> own, IReadOnlyList<string> symbols, int maxCalls)
    {
        var known = symbols.ToHashSet(StringComparer.Ordinal);
        var processes = new List<long>();
        var calls = new List<List<int>>();
        var index = new Dictionary<long, int>();
        var digests = new Dictionary<int, string?>();
        string? digest = null;
        var kept = 0;
        foreach (var i in own)
        {
            var e = events[i];
            digest = e.Workload.ImageDigest ?? digest;
            if (e.Kind != EventKind.Syscall || e.SyscallName is not { } name || kept >= maxCalls || !known.Contains(name))
            {
                continue;
            }

            var process = ProcessKey.Of(e);
            if (!index.TryGetValue(process, out var t))
            {
                index[process] = t = processes.Count;
                processes.Add(process);
                calls.Add([]);
            }

            calls[t].Add(i);
            digests[i] = digest;
            kept++;
        }

        return (processes, calls, digests);
    }

    /// <summary>The calls found in the events are the training traces, call for call; anything else is a bug here, not a row to write.</summary>
    private static void Check(WorkloadKey key, IReadOnlyList<(string? Exe, int[] Calls)> traces, IReadOnlyList<string> symbols, List<long> processes, List<List<int>> calls, IReadOnlyList<RuntimeEvent> events)
    {
        var same = traces.Count == calls.Count && traces.Select((t, i) => t.Calls.Length == calls[i].Count && t.Calls.Select((id, c) => symbols[id] == events[calls[i][c]].SyscallName).All(x => x)).All(x => x);
        if (!same)
        {
            throw new InvalidOperationException($"{key.Value}: the syscalls found in the events ({calls.Count} processes, {calls.Sum(c => c.Count)} calls) are not the ones training collected ({traces.Count} processes, {traces.Sum(t => t.Calls.Length)} calls)");
        }
    }
}
