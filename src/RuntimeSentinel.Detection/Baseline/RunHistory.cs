using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>What one run (one pod of a CronJob or Job) did, as far as a volume can tell.</summary>
internal struct RunStats
{
    public DateTimeOffset Started;
    public DateTimeOffset LastSeen;
    public long BytesOut;
    public long Connections;
    public long Execs;

    /// <summary>Bits per metric already raised for this run: past the limit (bit m), at ten times (bit m + 3).</summary>
    public int Raised;

    public readonly long this[int metric] => metric switch
    {
        0 => BytesOut,
        1 => Connections,
        _ => Execs,
    };
}

/// <summary>
/// Short-lived workloads (a CronJob's or a Job's pods live a minute or two) never gather the hours of windows a model
/// needs, and each run is a new container. They learn across runs instead: every pod is a run, and once
/// <c>MinLearningRuns</c> runs have finished each later run is compared, while it runs, with the earlier ones on what
/// a stealthy abuse changes — bytes sent, connections opened, programs run. Parallel pods are separate runs; a run is
/// finished when another pod has started and it has been idle for a minute. Bounded: 32 finished runs, 8 open ones.
/// </summary>
internal sealed partial class RunHistory
{
    public const int MaxRuns = 32;
    public const int MaxOpen = 8;

    /// <summary>Metric names, in the order of <see cref="RunStats"/>'s indexer.</summary>
    public static readonly string[] Metrics = ["bytes_out", "connections", "execs"];

    // Below these, a run is small whatever its history: no alert for 40 KB against 4 KB.
    private static readonly long[] Floors = [1 << 20, 20, 20];

    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(1);

    private readonly Queue<RunStats> _finished = new();
    private readonly Dictionary<string, RunStats> _open = new(StringComparer.Ordinal);
    private readonly long[] _limit = new long[3];
    private readonly long[] _largest = new long[3];
    private readonly long[] _median = new long[3];

    /// <summary>Runs finished since the workload (re)started learning, beyond the 32 kept.</summary>
    public long FinishedRuns { get; private set; }

    public int OpenRuns => _open.Count;

    /// <summary>Told of each run as it finishes (its key and what it did): offline export of every run (<see cref="RunRecorder"/>).</summary>
    public Action<string, RunStats>? Finished { get; init; }

    /// <summary>The runs not finished yet, by key.</summary>
    public IEnumerable<KeyValuePair<string, RunStats>> Open => _open;

    public void Clear()
    {
        _finished.Clear();
        _open.Clear();
        FinishedRuns = 0;
        Array.Clear(_limit);
    }

    /// <summary>Counts the event into its run (its pod, else its container); returns that run's key, or null.</summary>
    public string? Observe(in RuntimeEvent e, DateTimeOffset now)
    {
        // The pod, not the container: network sensors (Hubble) name pods only, and a Job's restarted container is
        // still the same run.
        var id = e.Workload.Pod ?? e.Workload.ContainerId;
        if (id is null)
        {
            return null;
        }

        if (!_open.TryGetValue(id, out var run))
        {
            FinishIdle(now);
            if (_open.Count >= MaxOpen)
            {
                Finish(_open.MinBy(kv => kv.Value.LastSeen).Key);
            }

            run = new RunStats { Started = now };
        }

        run.LastSeen = now;
        switch (e.Kind)
        {
            case EventKind.ProcessExec:
                run.Execs++;
                break;
            case EventKind.NetConnect:
                run.Connections++;
                run.BytesOut += e.Net.BytesOut;
                break;
            case EventKind.NetFlow:
                run.BytesOut += e.Net.BytesOut;
                break;
        }

        _open[id] = run;
        return id;
    }

    /// <summary>
    /// The first metric in which the run now exceeds every earlier run by far: more than three times the largest
    /// earlier value, more than six robust deviations above their median, and above a small floor; again at ten times.
    /// </summary>
    public bool TryExceed(string run, int minRuns, out int metric, out long observed, out long largest, out long median)
    {
        metric = -1;
        observed = largest = median = 0;
        if (_finished.Count < minRuns || !_open.TryGetValue(run, out var stats))
        {
            return false;
        }

        for (var m = 0; m < Metrics.Length; m++)
        {
            // Raised when it passes the limit, and once more when it reaches ten times the most of any earlier run
            // (the incident's severity rises with it).
            var far = stats[m] >= 10 * Math.Max(1, _largest[m]) && stats[m] > _limit[m];
            var bits = far ? (1 << m) | (8 << m) : 1 << m;
            if ((stats.Raised & bits) != bits && stats[m] > _limit[m])
            {
                stats.Raised |= bits;
                _open[run] = stats;
                (metric, observed, largest, median) = (m, stats[m], _largest[m], _median[m]);
                return true;
            }
        }

        return false;
    }

    /// <summary>Limits from the finished runs, worked out when one finishes (not per event).</summary>
    private void Recompute()
    {
        for (var m = 0; m < Metrics.Length; m++)
        {
            var values = _finished.Select(r => r[m]).Order().ToArray();
            var med = values[values.Length / 2];
            var mad = values.Select(v => Math.Abs(v - med)).Order().ElementAt(values.Length / 2);
            _median[m] = med;
            _largest[m] = values[^1];
            _limit[m] = Math.Max(Floors[m], Math.Max(3 * values[^1], (long)(med + (6 * 1.4826 * mad))));
        }
    }

    private void FinishIdle(DateTimeOffset now)
    {
        foreach (var (id, r) in _open.ToList())
        {
            if (now - r.LastSeen >= Idle)
            {
                Finish(id);
            }
        }
    }

    private void Finish(string id)
    {
        if (_open.Remove(id, out var r))
        {
            if (_finished.Count >= MaxRuns)
            {
                _finished.Dequeue();
            }

            _finished.Enqueue(r);
            FinishedRuns++;
            Recompute();
            Finished?.Invoke(id, r);
        }
    }
}
