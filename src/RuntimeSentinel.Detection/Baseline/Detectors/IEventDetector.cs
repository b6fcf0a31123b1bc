using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// A detector of events (<see cref="IDetector"/>): one signal of a workload's baseline (item novelty, per-peer volume,
/// the day's profile...) that learns from the events the workload sends while learning and scores the events it sends
/// afterwards. The host (<see cref="WorkloadBaseline"/>) owns the phase machine, the clocks, rollouts and the checkpoint
/// layout; a detector owns only its own state. Owned by exactly one shard, like its baseline: no locks. Called per
/// event: no allocation unless it raises.
/// </summary>
internal interface IEventDetector : IDetector
{
    /// <summary>Whether it follows every event before the phase machine runs (see <see cref="Track"/>).</summary>
    bool Tracks => false;

    /// <summary>Every event, in every phase, before the phase machine (a job's runs are counted whether or not it learns).</summary>
    void Track(in RuntimeEvent e, DetectorContext ctx)
    {
    }

    /// <summary>
    /// While the workload learns: true to raise the event (appended to <paramref name="findings"/>) instead of letting
    /// any detector learn it, so that it cannot become normal by happening early (the suspicious catalogue).
    /// </summary>
    bool Withhold(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings) => false;

    /// <summary>Learns from an event of the learning (or relearning) phase.</summary>
    void Learn(in RuntimeEvent e, DetectorContext ctx);

    /// <summary>Scores an event after learning; findings are appended to <paramref name="findings"/>.</summary>
    void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings);

    /// <summary>True when this detector has seen enough for learning to end before its duration (a job's finished runs).</summary>
    bool LearnedEnough(DetectorContext ctx) => false;

    /// <summary>Forgets (a relearn), gives memory back (the baseline is dropped), or drops what a provisional clock stamped.</summary>
    void Reset(DetectorReset why);

    /// <summary>Writes one section of its state; the host lays the sections out (<see cref="WorkloadBaseline"/>'s checkpoint).</summary>
    void WriteState(StateWriter w, int section);

    /// <summary>Reads what <see cref="WriteState"/> wrote; parts added in a later checkpoint format are read only when present.</summary>
    void ReadState(StateReader r, int section);
}

/// <summary>Why a detector is reset (see <see cref="IEventDetector.Reset"/>).</summary>
internal enum DetectorReset
{
    /// <summary>A new image: what was learned no longer describes the workload; forget it and give its memory back.</summary>
    Relearn,

    /// <summary>The baseline is being dropped: give the node's memory back.</summary>
    Release,

    /// <summary>The learning clock restarted at the first live event: inventory timestamps are no hours the workload was watched in.</summary>
    ClockRestart,
}
