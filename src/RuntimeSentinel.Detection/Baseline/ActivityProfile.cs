using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// A workload's own day: the busiest minute it had in each slot of the day (24 hours by default) while it learned. An
/// admin session on a database at an hour nothing ever touches it, a batch of commands in a service at night, is
/// ordinary behaviour at the wrong time: every item is known, the volume would be unremarkable at noon. Nothing is
/// judged until learning has watched the whole cycle, every slot from its start to its end, busy or quiet (a quiet hour
/// is what is being learned): "the wrong time" means something only against the rest of the day, and a slot's busiest
/// minute taken from half an hour is a sample of that half hour, not of the hour (a CronJob at :45 would be news). A
/// workload that learns for less than a cycle is never judged on time of day. Fixed size: one entry per slot.
/// </summary>
internal sealed class ActivityProfile
{
    /// <summary>Fewer events than this in a minute are never raised, whatever the hour.</summary>
    public const int Floor = 120;

    /// <summary>A minute with this many times its slot's busiest learned minute is raised.</summary>
    public const int Factor = 10;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly TimeSpan _day;
    private readonly long _slotTicks;
    private readonly int[] _learnedMax;
    private readonly int[] _coveredMinutes;
    private DateTimeOffset _minuteStart;
    private int _minuteCount;
    private bool _raised;

    /// <param name="day">Length of the cycle (a day; compressed in tests); zero turns the profile off.</param>
    /// <param name="slots">Slots per cycle (24: hours of a day).</param>
    public ActivityProfile(TimeSpan day, int slots)
    {
        _day = day;
        var n = day > TimeSpan.Zero ? Math.Clamp(slots, 1, 1440) : 0;
        _slotTicks = n > 0 ? Math.Max(1, day.Ticks / n) : 1;
        _learnedMax = new int[n];
        _coveredMinutes = new int[n];
    }

    public int Slots => _learnedMax.Length;

    /// <summary>Whole minutes learning spanned in a slot before it is learned: all of them (at least one).</summary>
    private int MinCovered => (int)Math.Max(1, _slotTicks / Minute.Ticks);

    /// <summary>True once every slot of the cycle is learned: only then is any judged.</summary>
    public bool CycleWatched { get; private set; }

    public int SlotOf(DateTimeOffset t) => (int)(t.UtcTicks % _day.Ticks / _slotTicks) % Math.Max(1, Slots);

    public bool Covered(int slot) => CycleWatched && _coveredMinutes[slot] >= MinCovered;

    public int LearnedMax(int slot) => _learnedMax[slot];

    public void Clear()
    {
        Array.Clear(_learnedMax);
        Array.Clear(_coveredMinutes);
        CycleWatched = false;
        _minuteStart = default;
        _minuteCount = 0;
        _raised = false;
    }

    /// <summary>
    /// Counts one event into the current minute. While <paramref name="learning"/>, each finished minute raises its
    /// slot's maximum and the time in between counts as covered (quiet) minutes; afterwards a minute far busier than its
    /// learned slot is reported once (true).
    /// </summary>
    /// <param name="learningSince">When learning began: time before it (a gap back to an old timestamp) was not watched.</param>
    public bool Observe(in RuntimeEvent e, DateTimeOffset now, bool learning, out int minuteCount, out int slot, DateTimeOffset learningSince = default)
    {
        minuteCount = 0;
        slot = 0;
        if (Slots == 0 || e.Kind == EventKind.ResourceUsage)
        {
            return false;
        }

        if (_minuteStart == default || now < _minuteStart)
        {
            _minuteStart = now;
        }
        else if (now - _minuteStart >= Minute)
        {
            if (learning)
            {
                Learn(now, learningSince);
            }

            _minuteStart = now;
            _minuteCount = 0;
            _raised = false;
        }

        _minuteCount++;
        if (learning || _raised || _minuteCount < Floor)
        {
            return false; // the common case: no slot arithmetic per event
        }

        slot = SlotOf(_minuteStart);
        if (!Covered(slot) || _minuteCount <= Factor * _learnedMax[slot])
        {
            return false;
        }

        _raised = true;
        minuteCount = _minuteCount;
        return true;
    }

    private void Learn(DateTimeOffset now, DateTimeOffset learningSince)
    {
        var slot = SlotOf(_minuteStart);
        _learnedMax[slot] = Math.Max(_learnedMax[slot], _minuteCount);

        // Every whole minute from this one to now was seen by the learning workload, busy or quiet (but none before
        // learning began); a gap of a whole cycle covers every slot, so the walk is bounded by the cycle's minutes.
        var from = _minuteStart > learningSince ? _minuteStart : learningSince;
        var minutes = (long)((now - from) / Minute);
        var cycle = Math.Max(1, _day.Ticks / Minute.Ticks);
        var t = from;
        for (long i = 0; i < Math.Min(minutes, cycle); i++, t += Minute)
        {
            var s = SlotOf(t);
            _coveredMinutes[s] = (int)Math.Min(int.MaxValue, _coveredMinutes[s] + 1L);
        }

        CycleWatched = CycleWatched || Array.TrueForAll(_coveredMinutes, c => c >= MinCovered);
    }

    internal void WriteState(StateWriter w)
    {
        w.Long(_day.Ticks);
        w.Count(Slots);
        for (var i = 0; i < Slots; i++)
        {
            w.Long(_learnedMax[i]);
            w.Long(_coveredMinutes[i]);
        }

        w.Time(_minuteStart);
        w.Long(_minuteCount);
        w.Bool(_raised);
    }

    internal void ReadState(StateReader r)
    {
        Clear();
        var day = r.NonNegative("activity day");
        var n = r.Count(1440, "activity slots");
        for (var i = 0; i < n; i++)
        {
            var max = (int)Math.Min(int.MaxValue, r.NonNegative("activity slot max"));
            var covered = (int)Math.Min(int.MaxValue, r.NonNegative("activity slot coverage"));

            // A profile written for another day or slot count (the options changed) is not this one's: left empty.
            if (n == Slots && day == _day.Ticks)
            {
                _learnedMax[i] = max;
                _coveredMinutes[i] = covered;
            }
        }

        CycleWatched = Slots > 0 && Array.TrueForAll(_coveredMinutes, c => c >= MinCovered);
        _minuteStart = r.Time("activity minute");
        _minuteCount = (int)Math.Min(int.MaxValue, r.NonNegative("activity minute count"));
        _raised = r.Bool();
    }
}
