using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Tests;

public class EventWatermarkTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Observe_LateInventoryAndSkewedEvents_NeverMoveTheClockWrongly()
    {
        var w = new EventWatermark(TimeSpan.FromMinutes(5));

        // An inventory stamped days ago says nothing about "now".
        Assert.Equal(T.AddDays(-3), w.Observe(T.AddDays(-3), inventory: true, out _));
        Assert.Equal(default, w.Now);

        Assert.Equal(T, w.Observe(T, false, out _));
        Assert.Equal(T.AddSeconds(30), w.Observe(T.AddSeconds(30), false, out _));

        // Late events happen now; the clock never goes back.
        Assert.Equal(T.AddSeconds(30), w.Observe(T.AddSeconds(1), false, out _));

        // One sensor with its clock in 2099 does not end every learning period.
        Assert.Equal(T.AddSeconds(30), w.Observe(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), false, out var jumped));
        Assert.False(jumped);
        Assert.Equal(T.AddSeconds(31), w.Observe(T.AddSeconds(31), false, out _));
        Assert.Equal(TimeSpan.FromSeconds(31), w.Advanced);
    }

    [Fact]
    public void Observe_StreamThatMovesOnAfterAGap_JumpsOnceConfirmedAndReportsIt()
    {
        var w = new EventWatermark(TimeSpan.FromMinutes(5));
        w.Observe(T.AddDays(-2), false, out _);
        w.Observe(T.AddDays(-2).AddSeconds(10), false, out _);

        // Live events after two days: the first two are held, the third (agreeing) confirms the jump.
        Assert.Equal(T.AddDays(-2).AddSeconds(10), w.Observe(T, false, out var jumped));
        Assert.False(jumped);
        w.Observe(T.AddSeconds(1), false, out jumped);
        Assert.False(jumped);
        Assert.Equal(T.AddMilliseconds(1500), w.Observe(T.AddMilliseconds(1500), false, out jumped));
        Assert.True(jumped);
        Assert.Equal((1L, 2L), (w.Jumps, w.Held));

        // What a paced replay waits for: the ordinary advances only, not the two days.
        Assert.Equal(TimeSpan.FromSeconds(10), w.Advanced);
    }
}
