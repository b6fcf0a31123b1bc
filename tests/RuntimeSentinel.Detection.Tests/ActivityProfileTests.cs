using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class ActivityProfileTests
{
    // A day compressed into 24 minutes: one-minute "hours". The database is busy in hours 8-19 and untouched at night.
    private static readonly TimeSpan Day = TimeSpan.FromMinutes(24);
    private static readonly DateTimeOffset Midnight = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static RuntimeEvent Query => Some.Event(EventKind.NetFlow);

    private static ActivityProfile LearnedTwoDays()
    {
        var p = new ActivityProfile(Day, 24);
        for (var s = 0; s < 2 * 24 * 60; s++)
        {
            var hour = s / 60 % 24;
            var at = Midnight.AddSeconds(s);
            var perSecond = hour is >= 8 and < 20 ? 20 : 0; // 1,200 a minute by day, nothing at night
            for (var i = 0; i < perSecond; i++)
            {
                Assert.False(p.Observe(Query, at.AddMilliseconds(i * 40), learning: true, out _, out _));
            }

            if (s % 60 == 30)
            {
                p.Observe(Query, at, learning: true, out _, out _); // a health check every "hour"
            }
        }

        return p;
    }

    [Fact]
    public void Observe_BusyMinuteInAHourNothingEverHappened_RaisedOnceNamingTheSlot()
    {
        var p = LearnedTwoDays();
        Assert.All(Enumerable.Range(0, 24), s => Assert.True(p.Covered(s), $"slot {s}"));
        Assert.Equal(1, p.LearnedMax(3));
        Assert.True(p.LearnedMax(12) >= 1_000);

        // Day three, 03:xx: a session pulling 400 queries in a minute.
        var night = Midnight.Add(2 * Day).AddMinutes(3);
        var raised = 0;
        var slot = -1;
        for (var i = 0; i < 400; i++)
        {
            if (p.Observe(Query, night.AddMilliseconds(140 * i), learning: false, out var count, out var s))
            {
                raised++;
                slot = s;
                Assert.Equal(ActivityProfile.Floor, count);
            }
        }

        Assert.Equal(1, raised);
        Assert.Equal(3, slot);
    }

    [Fact]
    public void Observe_LearningShorterThanACycle_NothingJudgedEvenInSlotsItWatched()
    {
        // Learning watched hours 0 to 22 (the night included) but never hour 23: the day is not known yet, so the
        // session at 03:xx that a whole cycle would flag is not judged; once the cycle closes it is.
        var p = new ActivityProfile(Day, 24);
        for (var s = 0; s <= 23 * 60; s++)
        {
            p.Observe(Query, Midnight.AddSeconds(s), learning: true, out _, out _);
        }

        Assert.False(p.CycleWatched);
        Assert.False(p.Covered(3));
        var night = Midnight.Add(Day).AddMinutes(3);
        for (var i = 0; i < 400; i++)
        {
            Assert.False(p.Observe(Query, night.AddMilliseconds(140 * i), learning: false, out _, out _));
        }

        var whole = LearnedTwoDays();
        Assert.True(whole.CycleWatched);
        var raised = Enumerable.Range(0, 400).Count(i => whole.Observe(Query, Midnight.Add(2 * Day).AddMinutes(3).AddMilliseconds(140 * i), learning: false, out _, out _));
        Assert.Equal(1, raised);
    }

    [Fact]
    public void Observe_SameSessionAtNoon_NotRaised()
    {
        var p = LearnedTwoDays();
        var noon = Midnight.Add(2 * Day).AddMinutes(12);
        for (var i = 0; i < 1_200; i++)
        {
            Assert.False(p.Observe(Query, noon.AddMilliseconds(50 * i), learning: false, out _, out _));
        }
    }

    [Fact]
    public void Observe_SlotTheLearningPeriodNeverCovered_NotJudged()
    {
        // Learning spanned hours 8 to 11 only: the night has no history, busy or quiet, so it is not judged.
        var p = new ActivityProfile(Day, 24);
        for (var s = 8 * 60; s < 12 * 60; s++)
        {
            p.Observe(Query, Midnight.AddSeconds(s), learning: true, out _, out _);
        }

        Assert.False(p.Covered(3));
        var night = Midnight.Add(Day).AddMinutes(3);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.False(p.Observe(Query, night.AddMilliseconds(50 * i), learning: false, out _, out _));
        }
    }

    [Fact]
    public void Observe_CycleZero_IsOff()
    {
        var p = new ActivityProfile(TimeSpan.Zero, 24);
        Assert.Equal(0, p.Slots);
        Assert.False(p.Observe(Query, Midnight, learning: false, out _, out _));
    }
}
