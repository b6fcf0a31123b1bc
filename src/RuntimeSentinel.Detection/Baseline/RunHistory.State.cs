using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>The checkpoint form of the run history: finished and open runs; limits are worked out again.</summary>
internal sealed partial class RunHistory
{
    internal void WriteState(StateWriter w)
    {
        w.Long(FinishedRuns);
        w.Count(_finished.Count);
        foreach (var r in _finished)
        {
            Write(w, r);
        }

        w.Count(_open.Count);
        foreach (var (id, r) in _open)
        {
            w.String(id);
            Write(w, r);
        }
    }

    internal void ReadState(StateReader r)
    {
        Clear();
        var finishedRuns = r.NonNegative("finished runs");
        var finished = r.Count(MaxRuns, "finished runs kept");
        for (var i = 0; i < finished; i++)
        {
            _finished.Enqueue(Read(r));
        }

        var open = r.Count(MaxOpen, "open runs");
        for (var i = 0; i < open; i++)
        {
            var id = r.String("run", 512);
            _open[id] = Read(r);
        }

        FinishedRuns = Math.Max(finishedRuns, _finished.Count);
        if (_finished.Count > 0)
        {
            Recompute();
        }
    }

    private static void Write(StateWriter w, in RunStats r)
    {
        w.Time(r.Started);
        w.Time(r.LastSeen);
        w.Long(r.BytesOut);
        w.Long(r.Connections);
        w.Long(r.Execs);
        w.Count(r.Raised);
    }

    private static RunStats Read(StateReader r) => new()
    {
        Started = r.Time("run started"),
        LastSeen = r.Time("run last seen"),
        BytesOut = r.NonNegative("run bytes out"),
        Connections = r.NonNegative("run connections"),
        Execs = r.NonNegative("run execs"),
        Raised = r.Count(0x3F, "run raised bits"),
    };
}
