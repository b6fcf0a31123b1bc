namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Cuts one workload's event time into behaviour windows: the first event starts the clock, an event at or past the
/// open window's end closes it. Idle gaps are not replayed window by window: the next window starts at the current one.
/// </summary>
internal sealed class WindowSchedule
{
    private DateTimeOffset _start;

    public bool Started => _start != default;

    /// <summary>Starts the clock at the first event; returns the end of the window this event closes, if it closes one.</summary>
    public DateTimeOffset? Advance(DateTimeOffset now, TimeSpan window)
    {
        if (_start == default)
        {
            _start = now;
            return null;
        }

        if (now - _start < window)
        {
            return null;
        }

        var end = _start + window;
        _start += window * (long)((now - _start) / window);
        return end;
    }

    /// <summary>Where the open window started (collection restarts there after a relearn).</summary>
    public DateTimeOffset Start => _start;

    /// <summary>
    /// The window's index on the epoch (0 without a season): with <see cref="WindowsPerSlot"/> it tells the season slot,
    /// which season, and where in the slot the window falls.
    /// </summary>
    public static long Bucket(ModelOptions o, DateTimeOffset end) =>
        o.SeasonPeriod > TimeSpan.Zero ? Math.Max(0, (end.ToUnixTimeMilliseconds() - 1) / Math.Max(1, (long)o.Window.TotalMilliseconds)) : 0;

    /// <summary>Windows in one of the 24 slots of a season (at least 1).</summary>
    public static long WindowsPerSlot(ModelOptions o) =>
        o.SeasonPeriod > TimeSpan.Zero ? Math.Max(1, (long)(o.SeasonPeriod.TotalMilliseconds / 24 / Math.Max(1, o.Window.TotalMilliseconds))) : 1;
}
