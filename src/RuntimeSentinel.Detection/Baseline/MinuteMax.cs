using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// One key's total in the current minute against the largest whole minute it had while learning: the bookkeeping that
/// per-peer volume and per-peer failed sessions share. Only whole minutes teach; once learning is over a minute past
/// the limit is reported once.
/// </summary>
internal struct MinuteMax
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    public DateTimeOffset MinuteStart;
    public long Total;
    public long LearnedMax;
    public bool Learned;
    public bool Raised;

    public static MinuteMax StartingAt(DateTimeOffset now) => new() { MinuteStart = now };

    /// <summary>Adds to the minute (starting a new one when a minute has passed: while learning, the one that ended teaches).</summary>
    public void Add(long amount, DateTimeOffset now, bool learning)
    {
        if (now - MinuteStart >= Minute)
        {
            if (learning)
            {
                LearnedMax = Math.Max(LearnedMax, Total);
                Learned = true;
            }

            MinuteStart = now;
            Total = 0;
            Raised = false;
        }

        Total += amount;
    }

    /// <summary>
    /// True the first time in a minute, after learning, that the total reaches <paramref name="floor"/> and passes
    /// <paramref name="factor"/> times the learned maximum. A key without a whole learned minute has no history to exceed.
    /// </summary>
    public bool Exceeds(bool learning, long floor, long factor)
    {
        if (learning || !Learned || Raised || Total < floor || Total <= factor * LearnedMax)
        {
            return false;
        }

        Raised = true;
        return true;
    }

    public readonly void Write(StateWriter w)
    {
        w.Time(MinuteStart);
        w.Long(Total);
        w.Long(LearnedMax);
        w.Bool(Learned);
        w.Bool(Raised);
    }

    public static MinuteMax Read(StateReader r, string what) => new()
    {
        MinuteStart = r.Time(what + " minute"),
        Total = r.NonNegative(what + " minute total"),
        LearnedMax = r.NonNegative(what + " learned max"),
        Learned = r.Bool(),
        Raised = r.Bool(),
    };
}
