namespace RuntimeSentinel.Core.Events;

/// <summary>
/// Event time as a stream tells it, for everything that runs on the event clock (learning periods, cooldowns,
/// windows, replay pacing). It advances with the newest timestamp and never goes back: a late, replayed or
/// inventory event (a sensor's scan of processes stamped with their days-old start times) happens "now". A timestamp
/// more than <c>maxLead</c> ahead is not trusted on its own (one skewed sensor clock, a 2099 date): the watermark
/// jumps only when <c>confirm</c> events in a row agree on the new time, and reports the jump, so that a stream that
/// begins with old events and then goes live can restart what it was timing.
/// </summary>
public sealed class EventWatermark(TimeSpan maxLead, int confirm = 3)
{
    private DateTimeOffset _now;
    private DateTimeOffset _aheadFrom;
    private int _ahead;

    /// <summary>The stream's time; default before its first (non-inventory) event.</summary>
    public DateTimeOffset Now => _now;

    /// <summary>Stream time that passed by ordinary advances, jumps excluded (what a paced replay waits for).</summary>
    public TimeSpan Advanced { get; private set; }

    /// <summary>Jumps taken (confirmed gaps of more than the lead).</summary>
    public long Jumps { get; private set; }

    /// <summary>Far-ahead timestamps not (yet) trusted.</summary>
    public long Held { get; private set; }

    /// <summary>
    /// Moves the clock to a time another watermark already trusts (a clock mark from ingestion); never back.
    /// <paramref name="jumped"/> when that skipped more than the lead, as a confirmed jump does.
    /// </summary>
    public DateTimeOffset Advance(DateTimeOffset time, out bool jumped)
    {
        jumped = false;
        if (time <= _now)
        {
            return _now;
        }

        if (_now != default)
        {
            if (time - _now > maxLead)
            {
                jumped = true;
                Jumps++;
            }
            else
            {
                Advanced += time - _now;
            }
        }

        _now = time;
        _ahead = 0;
        return _now;
    }

    /// <summary>Places an event on the stream's clock; <paramref name="jumped"/> when it confirmed a jump forward.</summary>
    public DateTimeOffset Observe(DateTimeOffset ts, bool inventory, out bool jumped)
    {
        jumped = false;
        if (inventory)
        {
            // State found at sensor start says nothing about when "now" is.
            return _now == default ? ts : _now;
        }

        if (_now == default)
        {
            _now = ts;
            return _now;
        }

        if (ts <= _now)
        {
            _ahead = 0;
            return _now;
        }

        if (ts - _now <= maxLead)
        {
            Advanced += ts - _now;
            _now = ts;
            _ahead = 0;
            return _now;
        }

        // Far ahead: believed only when the following events agree (each within the lead of the first of them).
        if (_ahead == 0 || (ts - _aheadFrom).Duration() > maxLead)
        {
            _aheadFrom = ts;
            _ahead = 0;
        }

        if (++_ahead < confirm)
        {
            Held++;
            return _now;
        }

        _now = ts;
        _ahead = 0;
        Jumps++;
        jumped = true;
        return _now;
    }
}
